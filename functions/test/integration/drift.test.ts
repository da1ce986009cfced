/**
 * Monitoring end to end: images scored through /predict and /batch leave telemetry in the store, POST /drift
 * compares it with the model's reference, stores the report, and GET /drift reads it back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createDecoder } from '../../src/serving/app';
import { loadConfig } from '../../src/serving/config';
import { computeImageFeatures } from '../../src/monitoring/features/image-features';
import { buildReference } from '../../src/monitoring/drift/reference';
import { createMemoryLogger } from '../../src/platform/logger';
import { ModelRegistry } from '../../src/detector/model/model-registry';
import { createOnnxEngine } from '../../src/detector/model/onnx-session';
import { inferBatch, prepareImage } from '../../src/detector/scoring/score-images';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { type FunctionClient, startFunction } from '../support/function-server';
import { copyModelStore, startService, tempDir } from '../support/test-service';

const KEY = 'drift-key-0123456789';
const MIN_SAMPLES = 100;

/** A photo-like image: a base colour plus seeded noise, so features vary realistically. */
async function photo(seed: number, lift = 0): Promise<Buffer> {
  const width = 48;
  const height = 40;
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed * 7919 + 17;
  const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = [60 + next() * 120, 60 + next() * 120, 60 + next() * 120];
  for (let i = 0; i < pixels.length; i += 1) {
    pixels[i] = Math.max(0, Math.min(255, Math.round(base[i % 3]! + lift + (next() - 0.5) * 60)));
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** The reference the training pipeline would write: the same serving code over "training" images. */
async function writeReference(store: string, count: number): Promise<void> {
  const config = loadConfig({});
  const decoder = createDecoder(config);
  const registry = new ModelRegistry({
    store: new FileBlobStore(store),
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: 1 }),
    refreshMs: 60_000,
    logger: createMemoryLogger(),
  });
  const model = await registry.get('brightness');
  const records = [];
  for (let i = 0; i < count; i += 1) {
    const bytes = await photo(100_000 + i);
    const prepared = await prepareImage(bytes, model, decoder, config);
    const { probabilities } = await inferBatch(model, [prepared]);
    const probability = probabilities[0]!;
    records.push({
      probability,
      prediction: probability >= 0.5 ? 'ai_generated' : 'real',
      features: computeImageFeatures(prepared.decoded, bytes.length),
    });
  }
  const reference = buildReference(records, { name: 'brightness', version: 'v1' }, { createdAt: new Date() });
  fs.writeFileSync(path.join(store, 'brightness', 'v1', 'reference.json'), JSON.stringify(reference));
}

async function scoreBatches(batch: FunctionClient, count: number, seedBase: number, lift: number): Promise<void> {
  for (let start = 0; start < count; start += 20) {
    const images = [];
    for (let i = start; i < Math.min(count, start + 20); i += 1) images.push({ id: String(i), image: (await photo(seedBase + i, lift)).toString('base64') });
    const response = await batch.request('/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': KEY },
      body: JSON.stringify({ images }),
    });
    expect(response.status).toBe(200);
    expect(response.body.failed).toBe(0);
  }
}

describe('drift', () => {
  let store: string;
  let telemetryDir: string;
  let predict: FunctionClient;
  let batch: FunctionClient;
  let drift: FunctionClient;
  let logger: ReturnType<typeof startService>['logger'];

  beforeAll(async () => {
    store = copyModelStore();
    await writeReference(store, 400);
    telemetryDir = tempDir('telemetry-');
    ({ logger } = startService({
      MODEL_STORE: store,
      TELEMETRY_STORE: telemetryDir,
      TELEMETRY_FLUSH_RECORDS: '40',
      TELEMETRY_FLUSH_SECONDS: '3600',
      DRIFT_MIN_SAMPLES: String(MIN_SAMPLES),
      API_KEYS: KEY,
      METRICS_SINK: 'log',
      INSTANCE_ID: 'test-instance',
    }));
    [predict, batch, drift] = await Promise.all([startFunction('predict'), startFunction('batch'), startFunction('drift')]);
  });

  afterAll(async () => {
    await Promise.all([predict.close(), batch.close(), drift.close()]);
  });

  const call = (method: string, query = '', headers: Record<string, string> = { 'X-API-Key': KEY }) => drift.request(`/${query}`, { method, headers });

  it('answers GET with 404 no_drift_report before the first run', async () => {
    const response = await call('GET');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('no_drift_report');
  });

  it('requires the API key for GET and POST, and allows no other method', async () => {
    expect((await call('GET', '', {})).status).toBe(401);
    expect((await call('POST', '', { 'X-API-Key': 'not-the-key-0000000' })).status).toBe(401);
    const put = await call('PUT');
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
  });

  it.each([
    { body: '{"model": ', status: 400, code: 'invalid_json' },
    { body: 'not json', status: 400, code: 'invalid_json' },
    { body: '[1, 2]', status: 400, code: 'invalid_request' },
    { body: '{"model": "brightness"}', status: 400, code: 'invalid_request' },
  ])('refuses a POST body it cannot use ($body) with $status $code, and runs no check', async ({ body, status, code }) => {
    const response = await drift.request('/', { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-API-Key': KEY } });
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
    expect(response.body.error.message).toMatch(/POST \/drift takes no body or \{\}/);
    expect((await drift.request('/', { headers: { 'X-API-Key': KEY } })).status).toBe(404);
  });

  it('reports insufficient_data with too few records', async () => {
    // The first 40 images go through /predict one by one, the rest through /batch.
    for (let i = 0; i < 40; i += 1) {
      const response = await predict.request('/', { method: 'POST', body: await photo(i), headers: { 'Content-Type': 'image/png', 'X-API-Key': KEY } });
      expect(response.status).toBe(200);
    }
    const response = await call('POST');
    expect(response.status).toBe(200);
    expect(response.body.reports).toHaveLength(1);
    expect(response.body.reports[0]).toMatchObject({ status: 'insufficient_data', n: 40, model: { name: 'brightness', reference_version: 'v1' } });
  });

  it('finds no drift in fresh images from the reference distribution, and stores the report', async () => {
    await scoreBatches(batch, 160, 40, 0);
    const telemetryFiles = fs
      .readdirSync(path.join(telemetryDir, 'brightness'), { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.ndjson'));
    expect(telemetryFiles.length).toBeGreaterThanOrEqual(5);
    expect(telemetryFiles.every((name) => /^dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/test-instance-\d+\.ndjson$/.test(name))).toBe(true);

    const response = await call('POST');
    const report = response.body.reports[0];
    expect(report.n).toBe(200);
    expect(report.status).toBe('ok');
    expect(report.features.brightness).toMatchObject({ status: 'ok', ks: expect.any(Number), p_value: expect.any(Number), psi: expect.any(Number) });
    expect(report.score.status).toBe('ok');

    const latest = JSON.parse(fs.readFileSync(path.join(telemetryDir, 'brightness', 'drift', 'latest.json'), 'utf8'));
    expect(latest.generated_at).toBe(report.generated_at);
    const stored = fs.readdirSync(path.join(telemetryDir, 'brightness', 'drift')).filter((name) => name !== 'latest.json');
    expect(stored.length).toBe(2);

    const got = await call('GET');
    expect(got.status).toBe(200);
    expect(got.body.reports[0].generated_at).toBe(report.generated_at);
    expect((await call('GET', '?model=brightness')).body.reports).toHaveLength(1);
    expect((await call('GET', '?model=other')).status).toBe(404);
  });

  it('flags a brightness shift as drift, logs it at ERROR and exports drift metrics', async () => {
    await scoreBatches(batch, 300, 5_000, 70);
    const response = await call('POST');
    const report = response.body.reports[0];
    expect(report.status).toBe('drift');
    expect(report.features.brightness.status).toBe('drift');
    expect(report.reasons.join('\n')).toMatch(/brightness: drift/);
    const logged = logger.entries.find((entry) => entry.severity === 'ERROR' && entry.message.startsWith('drift drift for model brightness'));
    expect(logged).toBeDefined();
    expect(logger.entries.some((entry) => entry.message.startsWith('metric') && JSON.stringify(entry).includes('drift/psi'))).toBe(true);
  });

  it.each(['', '{}', ' {} '])('accepts an empty body or an empty JSON object (%j)', async (body) => {
    const response = await drift.request('/', { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-API-Key': KEY } });
    expect(response.status).toBe(200);
  });
});
