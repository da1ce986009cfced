import { computeImageFeatures, FEATURE_NAMES, type FeatureName, type ImageFeatures } from '../../src/monitoring/features/image-features';
import {
  computeDriftReport,
  DEFAULT_DRIFT_THRESHOLDS,
  driftLogSeverity,
  driftReportKey,
  latestDriftReportKey,
  type DriftInputRecord,
  type DriftReport,
} from '../../src/monitoring/drift/drift-report';
import { buildReference, type DriftReference } from '../../src/monitoring/drift/reference';
import type { DecodedImage } from '../../src/detector/image/image-decoder';
import { mulberry32 as prng } from '../../src/platform/seeded-random';

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const SOURCE_SIZES: Array<[number, number]> = [
  [1000, 1000],
  [1200, 900],
  [800, 800],
  [1600, 1200],
  [640, 480],
  [900, 1200],
];
const SIZE = 32;

/** Sensor noise: one table of standard normal values, read at a random offset and odd stride. */
const NOISE = ((): Float64Array => {
  const random = prng(99);
  return Float64Array.from({ length: 4096 }, () => normal(random));
})();

/**
 * A photo-like model input: a lit, tinted background with a gradient, one to three objects, and
 * sensor noise; plus a source size and an encoded size. `brighten` adds that many grey levels to
 * every channel (clipped), as an over-exposed camera or a new lighting setup would.
 */
function syntheticPhoto(random: () => number, brighten = 0): { image: DecodedImage; bytes: number } {
  const base = Math.min(0.85, Math.max(0.15, 0.5 + 0.15 * normal(random)));
  const tint = [0.06 * normal(random), 0.06 * normal(random), 0.06 * normal(random)] as const;
  const angle = 2 * Math.PI * random();
  const gx = Math.cos(angle) / SIZE;
  const gy = Math.sin(angle) / SIZE;
  const slope = 0.3 * random();
  const levels = new Float64Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y += 1) {
    for (let x = 0; x < SIZE; x += 1) {
      const light = base + slope * (gx * x + gy * y - 0.5);
      const i = (y * SIZE + x) * 3;
      levels[i] = light + tint[0];
      levels[i + 1] = light + tint[1];
      levels[i + 2] = light + tint[2];
    }
  }
  const objects = 1 + Math.floor(3 * random());
  for (let o = 0; o < objects; o += 1) {
    const x0 = Math.floor(random() * SIZE);
    const y0 = Math.floor(random() * SIZE);
    const x1 = Math.min(SIZE, x0 + 4 + Math.floor(random() * 16));
    const y1 = Math.min(SIZE, y0 + 4 + Math.floor(random() * 16));
    const colour = [random(), random(), random()] as const;
    for (let y = y0; y < y1; y += 1) {
      for (let x = x0; x < x1; x += 1) {
        const i = (y * SIZE + x) * 3;
        levels[i] = colour[0];
        levels[i + 1] = colour[1];
        levels[i + 2] = colour[2];
      }
    }
  }
  const noise = 0.01 + 0.05 * random();
  const offset = Math.floor(random() * 4096);
  const stride = 1 + 2 * Math.floor(random() * 2048);
  const pixels = new Uint8Array(levels.length);
  for (let i = 0; i < levels.length; i += 1) {
    const level = 255 * ((levels[i] as number) + noise * (NOISE[(offset + i * stride) & 4095] as number)) + brighten;
    // Rounds without Math.round: global lookups are slow inside jest's sandbox.
    pixels[i] = level <= 0 ? 0 : level >= 255 ? 255 : (level + 0.5) | 0;
  }
  const [width, height] = SOURCE_SIZES[Math.floor(random() * SOURCE_SIZES.length)] as [number, number];
  const bytes = Math.round(width * height * (0.1 + 0.2 * random()));
  return { image: { format: 'jpeg', width, height, pixels, pixelWidth: SIZE, pixelHeight: SIZE }, bytes };
}

const MODEL = { name: 'detector', version: '3' };
const NOW = new Date('2024-05-21T12:00:00.000Z');
const WINDOW = { start: new Date(NOW.getTime() - 24 * 3_600_000), end: NOW };

function scoredPhotos(seed: number, count: number, brighten = 0): DriftInputRecord[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => {
    const { image, bytes } = syntheticPhoto(random, brighten);
    // Scores of a detector on mostly real photos: most near 0, a minority high.
    const probability = random() < 0.2 ? 0.5 + 0.5 * Math.sqrt(random()) : 0.5 * random() ** 2;
    return {
      time: new Date(WINDOW.start.getTime() + ((i + 0.5) / count) * 24 * 3_600_000).toISOString(),
      model: MODEL.name,
      model_version: MODEL.version,
      probability,
      prediction: probability >= 0.5 ? 'ai_generated' : 'real',
      features: computeImageFeatures(image, bytes),
    };
  });
}

function referenceFrom(records: DriftInputRecord[]): DriftReference {
  return buildReference(
    records.map((r) => ({ probability: r.probability, prediction: r.prediction, features: r.features as Record<FeatureName, number> })),
    MODEL,
    { createdAt: new Date('2024-05-01T00:00:00.000Z') },
  );
}

describe('drift on synthetic product photos', () => {
  const reference = referenceFrom(scoredPhotos(1, 2000));

  it('flags a brightness shift of the photos as drift', () => {
    const report = computeDriftReport({ reference, records: scoredPhotos(100, 500, 40), now: NOW, window: WINDOW });
    expect(report.status).toBe('drift');
    const brightness = report.features.brightness;
    expect(brightness?.status).toBe('drift');
    expect(brightness?.psi).toBeGreaterThan(0.25);
    expect(brightness?.ks).toBeGreaterThan(0.1);
    expect(brightness?.p_value).toBeLessThan(1e-10);
    expect(brightness?.mean).toBeGreaterThan((brightness?.reference_mean ?? 1) + 0.1);
    // What the shift does not touch stays quiet.
    for (const name of ['width', 'height', 'bytes', 'aspect_ratio', 'megapixels'] as const) {
      expect(report.features[name]?.status).toBe('ok');
    }
    expect(report.score?.status).toBe('ok');
    expect(report.reasons[0]).toMatch(/^(brightness|saturation|contrast): drift \(PSI /);
    expect(report.reasons.some((reason) => reason.startsWith('brightness: drift'))).toBe(true);
  });

  it('raises no alarm on 1000 fresh samples from the reference distribution', () => {
    const report = computeDriftReport({ reference, records: scoredPhotos(2, 1000), now: NOW, window: WINDOW });
    expect(report.n).toBe(1000);
    expect(report.status).toBe('ok');
    expect(report.reasons).toEqual([]);
    for (const name of FEATURE_NAMES) expect(report.features[name]?.status).toBe('ok');
    expect(report.prediction_mix?.status).toBe('ok');
  });

  it('keeps false alarms rare across ten fresh windows (no drift; warnings at most 1)', () => {
    const statuses = Array.from(
      { length: 10 },
      (_, k) => computeDriftReport({ reference, records: scoredPhotos(10 + k, 1000), now: NOW, window: WINDOW }).status,
    );
    expect(statuses).not.toContain('drift');
    expect(statuses.filter((status) => status === 'warning').length).toBeLessThanOrEqual(1);
  });

  it('judges PSI above its sampling-noise floor, so small windows of fresh samples stay quiet', () => {
    const reports = Array.from({ length: 20 }, (_, k) =>
      computeDriftReport({
        reference,
        records: scoredPhotos(200 + k, 200),
        now: NOW,
        window: WINDOW,
        thresholds: { ...DEFAULT_DRIFT_THRESHOLDS, min_samples: 200 },
      }),
    );
    const brightness = reports[0]!.features.brightness!;
    // (bins - 1)·(1/n + 1/N) = 9 · (1/200 + 1/2000)
    expect(brightness.psi_noise_floor).toBeCloseTo(9 * (1 / 200 + 1 / 2000), 10);
    // Raw PSI of pure noise often passes 0.10 at n = 200; the judged status must not follow it.
    const rawOverWarning = reports.flatMap((r) => Object.values(r.features)).filter((f) => (f.psi ?? 0) >= 0.1).length;
    expect(rawOverWarning).toBeGreaterThan(0);
    const judged = reports.flatMap((r) => Object.values(r.features)).map((f) => (f.psi ?? 0) - (f.psi_noise_floor ?? 0));
    expect(Math.max(...judged)).toBeLessThan(0.1);
    // KS keeps its family-wise rates (≤ 5 % warning, ≤ 1 % drift per run): at most 2 of 20 runs.
    expect(reports.filter((r) => r.status !== 'ok').length).toBeLessThanOrEqual(2);
  });
});

/** Records with explicit values, for the rules. */
function record(i: number, overrides: Partial<DriftInputRecord> & { feature?: (name: FeatureName) => number } = {}): DriftInputRecord {
  const features = Object.fromEntries(FEATURE_NAMES.map((name) => [name, overrides.feature?.(name) ?? ((i * 7919) % 1000) / 1000])) as unknown as ImageFeatures;
  const { feature: _feature, ...rest } = overrides;
  return {
    time: new Date(WINDOW.start.getTime() + 60_000 + i * 1000).toISOString(),
    model: MODEL.name,
    model_version: MODEL.version,
    probability: ((i * 104729) % 997) / 997,
    prediction: i % 4 === 0 ? 'ai_generated' : 'real',
    features,
    ...rest,
  };
}

function uniformReference(): DriftReference {
  return referenceFrom(Array.from({ length: 2000 }, (_, i) => record(i, { feature: () => ((i * 7919) % 2000) / 2000 })));
}

describe('computeDriftReport rules', () => {
  const reference = uniformReference();

  it('says insufficient_data below min_samples and explains', () => {
    const report = computeDriftReport({ reference, records: Array.from({ length: 199 }, (_, i) => record(i)), now: NOW, window: WINDOW });
    expect(report.status).toBe('insufficient_data');
    expect(report).toMatchObject({ n: 199, score: null, features: {}, prediction_mix: null });
    expect(report.reasons).toEqual(['only 199 records of detector in the window; at least 200 are needed']);
  });

  it('honours a configured minimum', () => {
    const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, min_samples: 50 };
    const report = computeDriftReport({ reference, records: Array.from({ length: 60 }, (_, i) => record(i)), now: NOW, window: WINDOW, thresholds });
    expect(report.status).not.toBe('insufficient_data');
    expect(report.thresholds.min_samples).toBe(50);
  });

  it('counts only records of the model inside [start, end), and lists the versions seen', () => {
    const inside = Array.from({ length: 300 }, (_, i) => record(i, { model_version: i < 250 ? '3' : '4' }));
    const outside = [
      record(1, { time: new Date(WINDOW.start.getTime() - 1).toISOString() }),
      record(2, { time: WINDOW.end.toISOString() }),
      record(3, { model: 'other' }),
    ];
    const report = computeDriftReport({ reference, records: [...inside, ...outside], now: NOW, window: WINDOW });
    expect(report.n).toBe(300);
    expect(report.model).toEqual({ name: 'detector', reference_version: '3', versions_seen: { '3': 250, '4': 50 } });
    expect(report.window).toEqual({ start: '2024-05-20T12:00:00.000Z', end: '2024-05-21T12:00:00.000Z' });
    expect(report.generated_at).toBe('2024-05-21T12:00:00.000Z');
    expect(report.score?.n).toBe(250);
    expect(report.features.brightness?.n).toBe(300);
  });

  it('judges features but not the score when too few records come from the reference version', () => {
    const records = Array.from({ length: 300 }, (_, i) => record(i, { model_version: i < 100 ? '3' : '4' }));
    const report = computeDriftReport({ reference, records, now: NOW, window: WINDOW });
    expect(report.score).toMatchObject({ status: 'insufficient_data', n: 100, ks: null, psi: null });
    expect(report.prediction_mix).toMatchObject({ status: 'insufficient_data', current_share: null });
    expect(report.features.brightness?.status).toBe('ok');
    expect(report.status).toBe('ok');
    expect(report.reasons).toEqual(['score and prediction mix not judged: only 100 records of version 3; at least 200 are needed']);
  });

  it.each([
    [0.25, 'ok'],
    [0.4, 'warning'],
    [0.5, 'drift'],
    [0.0, 'drift'],
  ])('prediction mix: ai_generated share %p against the reference 0.25 is %s', (share, status) => {
    const n = 400;
    const records = Array.from({ length: n }, (_, i) => record(i, { prediction: i < share * n ? 'ai_generated' : 'real' }));
    const report = computeDriftReport({ reference, records, now: NOW, window: WINDOW });
    expect(report.prediction_mix).toMatchObject({ status, reference_share: 0.25, current_share: share });
    expect(report.prediction_mix?.difference).toBeCloseTo(share - 0.25, 12);
  });

  it('does not alarm on a real but negligible shift (p small, D below the minimum effect size)', () => {
    const shift = 0.045;
    const records = Array.from({ length: 20_000 }, (_, i) => record(i, { feature: () => ((i * 7919) % 20_000) / 20_000 + shift }));
    const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ks: { ...DEFAULT_DRIFT_THRESHOLDS.ks, family_wise: false } };
    const report = computeDriftReport({ reference, records, now: NOW, window: WINDOW, thresholds });
    const brightness = report.features.brightness;
    expect(brightness?.ks_method).toBe('asymp');
    expect(brightness?.p_value).toBeLessThan(0.01);
    expect(brightness?.ks).toBeLessThan(0.05);
    expect(brightness?.psi).toBeLessThan(0.1);
    expect(brightness?.status).toBe('ok');
  });

  it('divides KS alphas by the number of tests when family_wise', () => {
    const report = computeDriftReport({ reference, records: Array.from({ length: 300 }, (_, i) => record(i)), now: NOW, window: WINDOW });
    expect(report.ks_tests).toBe(1 + FEATURE_NAMES.length);
  });

  it('rejects an empty window and inconsistent thresholds', () => {
    expect(() => computeDriftReport({ reference, records: [], now: NOW, window: { start: NOW, end: NOW } })).toThrow(
      /window.start .* must be before window.end/,
    );
    const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, psi: { ...DEFAULT_DRIFT_THRESHOLDS.psi, warning: 0.5 } };
    expect(() => computeDriftReport({ reference, records: [], now: NOW, window: WINDOW, thresholds })).toThrow(
      /psi.warning 0.5 must be > 0 and ≤ psi.drift 0.25/,
    );
  });

  it('produces a JSON-serialisable report', () => {
    const report = computeDriftReport({ reference, records: Array.from({ length: 300 }, (_, i) => record(i)), now: NOW, window: WINDOW });
    expect(JSON.parse(JSON.stringify(report)) as DriftReport).toEqual(report);
  });
});

describe('drift report helpers', () => {
  it.each([
    ['drift', 'ERROR'],
    ['warning', 'WARNING'],
    ['ok', 'INFO'],
    ['insufficient_data', 'INFO'],
  ] as const)('a %s run logs at %s', (status, severity) => {
    expect(driftLogSeverity(status)).toBe(severity);
  });

  it('stores reports by time and as latest.json', () => {
    expect(driftReportKey('detector', new Date('2024-05-21T12:03:04.567Z'))).toBe('detector/drift/20240521T120304.567Z.json');
    expect(latestDriftReportKey('detector')).toBe('detector/drift/latest.json');
  });
});
