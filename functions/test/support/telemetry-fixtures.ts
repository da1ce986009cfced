/**
 * Generated telemetry for drift tests: seeded records of one model shaped like serving's (integer
 * sizes with many ties, features rounded to 6 significant digits), and the reference the pipeline
 * would build from "training" records of the same generator.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DriftReport } from '../../src/monitoring/drift/drift-report';
import { buildReference, type DriftReference } from '../../src/monitoring/drift/reference';
import type { ImageFeatures } from '../../src/monitoring/features/image-features';
import type { TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { mulberry32 } from '../../src/platform/seeded-random';

const SIZES: Array<[number, number]> = [
  [1000, 1000],
  [1200, 900],
  [800, 800],
  [640, 480],
];

const round6 = (v: number) => Number(v.toPrecision(6));

export interface GenerateOptions {
  seed: number;
  count: number;
  model?: string;
  /** Versions drawn uniformly per record (default ['1']). */
  versions?: readonly string[];
  /** Added to brightness (a shifted window). */
  brighten?: number;
  /** Records are spread evenly over [start, start + spanMs). */
  start?: Date;
  spanMs?: number;
}

export function generateTelemetry(options: GenerateOptions): TelemetryRecord[] {
  const random = mulberry32(options.seed);
  const versions = options.versions ?? ['1'];
  const start = (options.start ?? new Date('2024-05-21T00:00:00.000Z')).getTime();
  const span = options.spanMs ?? 24 * 3_600_000;
  const records: TelemetryRecord[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const [width, height] = SIZES[Math.floor(random() * SIZES.length)]!;
    const brightness = Math.min(1, Math.max(0, 0.45 + 0.12 * (random() + random() - 1) + (options.brighten ?? 0)));
    const probability = round6(random() ** 2);
    const features: ImageFeatures = {
      width,
      height,
      bytes: 50_000 + Math.floor(random() * 200) * 1000,
      format: 'jpeg',
      aspect_ratio: round6(width / height),
      megapixels: round6((width * height) / 1e6),
      brightness: round6(brightness),
      contrast: round6(0.1 + 0.2 * random()),
      saturation: round6(0.2 + 0.3 * random()),
      sharpness: round6(0.001 + 0.01 * random() * random()),
    };
    records.push({
      time: new Date(start + Math.floor((i * span) / options.count)).toISOString(),
      model: options.model ?? 'shoes',
      model_version: versions[Math.floor(random() * versions.length)]!,
      probability,
      prediction: probability >= 0.5 ? 'ai_generated' : 'real',
      features,
    });
  }
  return records;
}

/** The reference of version `version` built from `count` generated training records. */
export function generatedReference(count: number, model = 'shoes', version = '1'): DriftReference {
  const records = generateTelemetry({ seed: 7, count, model, versions: [version] });
  return buildReference(records, { name: model, version }, { createdAt: new Date('2024-05-01T00:00:00.000Z') });
}

/** Every distribution's fields equal, the mean within `meanTolerance` (sums in another order). */
export function expectSameReport(fromAggregates: DriftReport, fromValues: DriftReport, meanTolerance: number): void {
  const strip = (report: DriftReport) =>
    JSON.parse(
      JSON.stringify(report, (key, value: unknown) => (key === 'mean' || key === 'ks_grid_bound' || key === 'reasons' ? undefined : value)),
    ) as unknown;
  expect(strip(fromAggregates)).toEqual(strip(fromValues));
  const parts = [
    ['score', fromAggregates.score, fromValues.score] as const,
    ...Object.keys(fromValues.features).map((f) => [f, fromAggregates.features[f], fromValues.features[f]] as const),
  ];
  for (const [, a, v] of parts) {
    if (v?.mean === null || v?.mean === undefined) continue;
    expect(Math.abs((a?.mean as number) - v.mean)).toBeLessThanOrEqual(meanTolerance * Math.max(1, Math.abs(v.mean)));
    expect(a?.ks_grid_bound).toBe(0);
  }
}

/** NDJSON lines (telemetry records) in every .ndjson file under `folder`; 0 when it does not exist. */
export function telemetryLines(folder: string): number {
  let lines = 0;
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ndjson'))
        lines += fs
          .readFileSync(full, 'utf8')
          .split('\n')
          .filter((line) => line.length > 0).length;
    }
  };
  walk(folder);
  return lines;
}
