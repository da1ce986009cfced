/**
 * The model registry against both store adapters: the folder store and Cloud Storage (the real
 * @google-cloud/storage client talking to the local JSON API server). Real onnxruntime throughout.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger } from '../../src/platform/logger';
import { ModelRegistry } from '../../src/detector/model/model-registry';
import { createOnnxEngine, type InferenceEngine } from '../../src/detector/model/onnx-session';
import type { BlobStore } from '../../src/platform/storage/blob-store';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { GcsBlobStore } from '../../src/platform/storage/gcs-blob-store';
import { type GcsServer, startGcsServer } from '../support/gcs-server';
import { copyModelStore, FIXTURE_MODELS, solidImage, startService, WHITE } from '../support/test-service';
import { startFunction } from '../support/function-server';

const MODEL = fs.readFileSync(path.join(FIXTURE_MODELS, 'brightness', 'v1', 'model.onnx'));
const METADATA = JSON.parse(fs.readFileSync(path.join(FIXTURE_MODELS, 'brightness', 'v1', 'metadata.json'), 'utf8'));
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Publishes version `version` of the brightness model into `store` (optionally lying about its sha256). */
async function publish(store: BlobStore, version: string, options: { badSha?: boolean; pointer?: boolean } = {}): Promise<void> {
  await store.write(`brightness/${version}/model.onnx`, MODEL);
  await store.write(`brightness/${version}/metadata.json`, JSON.stringify({ ...METADATA, version }));
  if (options.pointer !== false) {
    await store.write('brightness/production.json', JSON.stringify({ version, sha256: options.badSha === true ? '0'.repeat(64) : sha(MODEL) }));
  }
}

function countingFactory() {
  const created: InferenceEngine[] = [];
  let released = 0;
  let failNext = 0;
  const factory = async (bytes: Uint8Array): Promise<InferenceEngine> => {
    if (failNext > 0) {
      failNext -= 1;
      throw new Error('simulated session failure');
    }
    const engine = await createOnnxEngine(bytes, { intraOpNumThreads: 1 });
    const wrapped: InferenceEngine = {
      inputNames: engine.inputNames,
      outputNames: engine.outputNames,
      inputDims: (name) => engine.inputDims(name),
      run: (...args) => engine.run(...args),
      release: async () => {
        released += 1;
        await engine.release();
      },
    };
    created.push(wrapped);
    return wrapped;
  };
  return {
    factory,
    get created() {
      return created.length;
    },
    get released() {
      return released;
    },
    failOnce: () => {
      failNext = 1;
    },
  };
}

const input = new Float32Array(3 * 32 * 32).fill(1);

interface Fixture {
  store: BlobStore;
  close(): Promise<void>;
}

const adapters: Array<[string, () => Promise<Fixture>]> = [
  ['FileBlobStore', () => Promise.resolve({ store: new FileBlobStore(fs.mkdtempSync(path.join(os.tmpdir(), 'reg-'))), close: () => Promise.resolve() })],
  [
    'GcsBlobStore',
    async () => {
      const server: GcsServer = await startGcsServer();
      return { store: new GcsBlobStore({ bucket: 'models-bucket', prefix: 'registry', apiEndpoint: server.url }), close: () => server.close() };
    },
  ],
];

describe.each(adapters)('ModelRegistry on %s', (_name, open) => {
  let fixture: Fixture;
  let now: number;
  beforeEach(async () => {
    fixture = await open();
    now = 1_000_000;
  });
  afterEach(async () => {
    await fixture.close();
  });

  const registry = (engines: ReturnType<typeof countingFactory>, logger = createMemoryLogger(), defaultModel = 'default-model') =>
    new ModelRegistry({ store: fixture.store, createEngine: engines.factory, refreshMs: 60_000, logger, now: () => now, defaultModel });
  const logged = (logger: ReturnType<typeof createMemoryLogger>, text: RegExp) => logger.entries.some((entry) => text.test(JSON.stringify(entry)));

  it('loads once for concurrent first requests', async () => {
    await publish(fixture.store, 'v1');
    const engines = countingFactory();
    const reg = registry(engines);
    const models = await Promise.all(Array.from({ length: 10 }, () => reg.get('brightness')));
    expect(engines.created).toBe(1);
    expect(new Set(models).size).toBe(1);
    const [p] = await models[0]!.predict(input, 1);
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-4)), 5);
  });

  it('does not cache a failed load: once the back-off has passed the next request retries and succeeds', async () => {
    await publish(fixture.store, 'v1');
    const logger = createMemoryLogger();
    const engines = countingFactory();
    const reg = registry(engines, logger);
    engines.failOnce();
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503, code: 'model_unavailable' });
    // /health's view is generic; the error's text is in the log only.
    expect(reg.states()[0]).toMatchObject({
      loaded: false,
      last_error: expect.stringMatching(/could not be loaded; the details are in the service log/),
      last_error_at: new Date(now).toISOString(),
    });
    expect(JSON.stringify(reg.states())).not.toContain('simulated');
    expect(logged(logger, /simulated session failure/)).toBe(true);
    now += 1000;
    const model = await reg.get('brightness');
    expect(model.version).toBe('v1');
    expect(reg.states()[0]).toMatchObject({ loaded: true, last_error: null });
  });

  it('backs off a broken model instead of re-reading it on every request, doubling the wait', async () => {
    await publish(fixture.store, 'v1', { badSha: true });
    const reads: string[] = [];
    const store = fixture.store;
    const counting: BlobStore = {
      ...store,
      location: store.location,
      read: (key) => (reads.push(key), store.read(key)),
      readWithInfo: (k) => store.readWithInfo(k),
      stat: (k) => store.stat(k),
      write: (k, d, o) => store.write(k, d, o),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
    };
    const reg = new ModelRegistry({
      store: counting,
      createEngine: countingFactory().factory,
      refreshMs: 60_000,
      logger: createMemoryLogger(),
      now: () => now,
    });
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503 });
    const afterFirst = reads.length;
    expect(afterFirst).toBe(3);
    for (let i = 0; i < 50; i += 1) {
      await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503, code: 'model_unavailable', headers: { 'Retry-After': '1' } });
    }
    expect(reads.length).toBe(afterFirst);
    now += 1000;
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503 });
    expect(reads.length).toBe(2 * afterFirst);
    // Second failure in a row: the next attempt waits 2 s.
    now += 1000;
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503, headers: { 'Retry-After': '1' } });
    expect(reads.length).toBe(2 * afterFirst);
    now += 1000;
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503, headers: { 'Retry-After': '4' } });
    expect(reads.length).toBe(3 * afterFirst);
  });

  it('answers 503 model_unavailable, not 404, when the default model is not in the store (an empty store)', async () => {
    const reg = registry(countingFactory(), createMemoryLogger(), 'brightness');
    const error = await reg.get('brightness').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 503, code: 'model_unavailable', headers: { 'Retry-After': '1' } });
    expect((error as Error).message).toMatch(/default model "brightness" is not published/);
    // Once it is published (and the back-off has passed) it serves.
    await publish(fixture.store, 'v1');
    now += 1000;
    expect((await reg.get('brightness')).version).toBe('v1');
  });

  it('answers 503 default_model_not_published without Retry-After, naming the published models and how to pick one, when the store has others', async () => {
    await publish(fixture.store, 'v1');
    const reg = registry(countingFactory(), createMemoryLogger(), 'general');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      // Not a 503 to retry: waiting will not publish it, and there is no back-off between tries.
      const error = await reg.get('general').catch((caught: unknown) => caught);
      expect(error).toMatchObject({ status: 503, code: 'default_model_not_published', headers: {} });
      expect((error as Error).message).toBe(
        'the default model "general" is not published in the model store, which has: brightness. ' +
          'Serve one of them by default with DEFAULT_MODEL=<name> (e.g. DEFAULT_MODEL=brightness npm start), or ask for one per request with ?model=<name>',
      );
    }
    expect(await reg.defaultModelProblem()).toMatch(/^the default model "general" is not published in the model store, which has: brightness\. /);
    // The published model serves when asked for.
    expect((await reg.get('brightness')).version).toBe('v1');
  });

  it('says nothing is wrong with a published default model, and that an empty store has nothing yet', async () => {
    expect(await registry(countingFactory(), createMemoryLogger(), 'brightness').defaultModelProblem()).toBe(
      'the default model "brightness" is not published: no model is published in the model store yet',
    );
    await publish(fixture.store, 'v1');
    expect(await registry(countingFactory(), createMemoryLogger(), 'brightness').defaultModelProblem()).toBeNull();
  });

  it('refuses a model whose sha256 does not match production.json', async () => {
    await publish(fixture.store, 'v1', { badSha: true });
    const logger = createMemoryLogger();
    const engines = countingFactory();
    const reg = registry(engines, logger);
    await expect(reg.get('brightness')).rejects.toMatchObject({ status: 503, code: 'model_unavailable' });
    expect(engines.created).toBe(0);
    expect(logged(logger, /sha256 .* expects 0{64}/)).toBe(true);
  });

  it('answers 404 unknown_model for a name with no production.json, listing the published names', async () => {
    const reg = registry(countingFactory());
    await expect(reg.get('nothing-here')).rejects.toMatchObject({
      status: 404,
      code: 'unknown_model',
      message: expect.stringMatching(/no model is published in the model store yet$/),
    });
    expect(reg.states()).toEqual([]);
    await publish(fixture.store, 'v1');
    now += 60_000;
    await expect(reg.get('nothing-here')).rejects.toMatchObject({
      status: 404,
      message:
        'unknown model "nothing-here": no production version of it is published in the model store; the published models are: brightness (choose one with ?model=<name>)',
    });
  });

  it('swaps in a new version after the refresh interval without failing in-flight requests', async () => {
    await publish(fixture.store, 'v1');
    const engines = countingFactory();
    const reg = registry(engines);
    const v1 = await reg.get('brightness');
    const inFlight = v1.predict(input, 1);
    await publish(fixture.store, 'v2');
    // Within the interval the pointer is not re-read.
    now += 59_000;
    expect((await reg.get('brightness')).version).toBe('v1');
    now += 1_000;
    await reg.get('brightness');
    await reg.checkForUpdate('brightness');
    expect((await reg.get('brightness')).version).toBe('v2');
    await expect(inFlight).resolves.toHaveLength(1);
    // v1 is released once its last request finished.
    await new Promise((resolve) => setImmediate(resolve));
    expect(v1.isReleased).toBe(true);
    expect(engines.released).toBe(1);
  });

  it('keeps serving the old version when the new one does not load', async () => {
    await publish(fixture.store, 'v1');
    const logger = createMemoryLogger();
    const engines = countingFactory();
    const reg = registry(engines, logger);
    await reg.get('brightness');
    await publish(fixture.store, 'v2', { badSha: true });
    now += 60_000;
    await reg.checkForUpdate('brightness');
    const model = await reg.get('brightness');
    expect(model.version).toBe('v1');
    expect(model.isReleased).toBe(false);
    await expect(model.predict(input, 1)).resolves.toHaveLength(1);
    expect(logger.entries.some((entry) => entry.severity === 'ERROR' && entry.message.includes('keeps serving'))).toBe(true);
    expect(reg.states()[0]).toMatchObject({ version: 'v1', last_error: expect.stringContaining('the loaded version keeps serving') });
    expect(logged(logger, /sha256/)).toBe(true);
  });
});

describe('serving from Cloud Storage', () => {
  it('answers /predict with a model read through the Cloud Storage JSON API', async () => {
    const server = await startGcsServer();
    try {
      const store = new GcsBlobStore({ bucket: 'models-bucket', prefix: 'registry', apiEndpoint: server.url });
      await publish(store, 'v7');
      startService({ MODEL_STORE: 'gs://models-bucket/registry', STORAGE_API_ENDPOINT: server.url });
      const client = await startFunction('predict');
      try {
        const response = await client.request('/', { method: 'POST', body: await solidImage(WHITE), headers: { 'Content-Type': 'image/png' } });
        expect(response.status).toBe(200);
        expect(response.body.model).toEqual({ name: 'brightness', version: 'v7' });
        expect(server.requests.some((request) => request.path.includes('registry%2Fbrightness%2Fproduction.json'))).toBe(true);
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  });

  it('reads {"uri": "gs://…"} images from an allowed bucket only', async () => {
    const server = await startGcsServer();
    try {
      server.put('shop-photos', 'listing/42.png', await solidImage(WHITE));
      startService({ MODEL_STORE: copyModelStore(), ALLOWED_BUCKETS: 'shop-photos', STORAGE_API_ENDPOINT: server.url });
      const client = await startFunction('predict');
      const post = (uri: string) => client.request('/', { method: 'POST', body: JSON.stringify({ uri }), headers: { 'Content-Type': 'application/json' } });
      try {
        const ok = await post('gs://shop-photos/listing/42.png');
        expect(ok.status).toBe(200);
        expect(ok.body.prediction).toBe('ai_generated');
        expect((await post('gs://shop-photos/listing/missing.png')).body.error.code).toBe('image_not_found');
        const before = server.requests.length;
        const denied = await post('gs://other-bucket/x.png');
        expect(denied.status).toBe(403);
        expect(server.requests.length).toBe(before);
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  });
});
