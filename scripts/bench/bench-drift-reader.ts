/**
 * `npm run bench:drift -- [--records 100000,1000000] [--per-object 100]`: what the file-based drift
 * reader costs as traffic grows. For each count it writes that many telemetry records of one model
 * over the last 24 hours into a temporary folder, in the layout and object size the functions
 * write (TELEMETRY_FLUSH_RECORDS records per object under dt=/hour=), then times POST /drift's
 * work — readTelemetry over the window (every object listed and parsed, a 50 000-record reservoir
 * kept) and computeDriftReport against the shoes model's reference — and prints wall time, CPU
 * time, bytes read and the peak RSS and heap. Numbers only; nothing here passes or fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  computeDriftReport,
  DEFAULT_DRIFT_THRESHOLDS,
  makeTelemetryRecord,
  parseReference,
  readTelemetry,
  serializeRecords,
  telemetryObjectKey,
} from '../../functions/src/monitoring';
import { FileBlobStore, mulberry32, repoRoot } from '../../functions/src/platform';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '100000,1000000' }, 'per-object': { type: 'string', default: '100' }, keep: { type: 'boolean' } },
});
const counts = (values.records ?? '').split(',').map(Number);
const perObject = Number(values['per-object']);

const MODEL = 'shoes';
const referenceDir = path.join(repoRoot(), 'models', MODEL);
const version = (JSON.parse(fs.readFileSync(path.join(referenceDir, 'production.json'), 'utf8')) as { version: string }).version;
const referenceFile = path.join(referenceDir, version, 'reference.json');
const reference = parseReference(fs.readFileSync(referenceFile), referenceFile);

type Features = Parameters<typeof makeTelemetryRecord>[0]['features'];

/** Records drawn from the reference's own samples, with a little noise. */
function writeTelemetry(dir: string, count: number, end: Date): number {
  const random = mulberry32(7);
  const features = reference.features as unknown as Record<string, { sample: number[] }>;
  const pick = (name: string): number => {
    const sample = features[name]!.sample;
    return sample[Math.floor(random() * sample.length)]! * (1 + (random() - 0.5) * 0.02);
  };
  let bytes = 0;
  let seq = 0;
  for (let written = 0; written < count; written += perObject) {
    const records = [];
    const n = Math.min(perObject, count - written);
    // Spread over the last 24 hours, in time order.
    const time = new Date(end.getTime() - 86_400_000 + Math.floor(((written + n / 2) / count) * 86_400_000));
    for (let i = 0; i < n; i += 1) {
      const probability = Math.min(1, Math.max(0, random()));
      records.push(
        makeTelemetryRecord({
          time,
          model: { name: MODEL, version },
          probability,
          prediction: probability >= 0.5 ? 'ai_generated' : 'real',
          features: {
            width: Math.round(pick('width')),
            height: Math.round(pick('height')),
            bytes: Math.round(pick('bytes')),
            format: 'jpeg',
            aspect_ratio: pick('aspect_ratio'),
            megapixels: pick('megapixels'),
            brightness: pick('brightness'),
            contrast: pick('contrast'),
            saturation: pick('saturation'),
            sharpness: pick('sharpness'),
          } as Features,
        }),
      );
    }
    const text = serializeRecords(records);
    const file = path.join(dir, telemetryObjectKey(MODEL, time, 'bench-0', seq));
    seq += 1;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    bytes += Buffer.byteLength(text);
  }
  return bytes;
}

async function measure(count: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-drift-'));
  try {
    const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const start = new Date(end.getTime() - 86_400_000);
    const bytes = writeTelemetry(dir, count, end);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let peakHeap = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    }, 20);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const telemetry = await readTelemetry(new FileBlobStore(dir), { model: MODEL, start, end });
    const readMs = performance.now() - started;
    const report = computeDriftReport({ reference, records: telemetry.records, now: end, window: { start, end }, thresholds: DEFAULT_DRIFT_THRESHOLDS });
    const totalMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    const mb = (value: number) => (value / 1024 / 1024).toFixed(0);
    console.log(
      [
        `records ${count.toLocaleString('en')} in ${telemetry.objectsRead} objects (${mb(bytes)} MB NDJSON)`,
        `read ${(readMs / 1000).toFixed(1)} s, report ${((totalMs - readMs) / 1000).toFixed(2)} s, total ${(totalMs / 1000).toFixed(1)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU`,
        `peak RSS ${mb(peakRss)} MB (+${mb(peakRss - rssBefore)} MB), peak heap ${mb(peakHeap)} MB`,
        `kept ${telemetry.records.length} of ${telemetry.totalRecords} (sampled: ${telemetry.sampled}); status ${report.status}`,
      ].join('\n  '),
    );
  } finally {
    if (values.keep !== true) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`drift file reader, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, node ${process.version}, ${perObject} records per object`);
  for (const count of counts) await measure(count);
}

void main();
