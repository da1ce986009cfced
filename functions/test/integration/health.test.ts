import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyModelStore, fixtureImage, startService } from '../support/test-service';
import { type FunctionClient, startFunction } from '../support/function-server';

describe('GET /health', () => {
  let client: FunctionClient;
  afterEach(async () => {
    await client.close();
  });

  it('answers without loading the model, then reports it once loaded by ?deep=1', async () => {
    startService({ API_KEYS: 'some-key-0123456789' });
    client = await startFunction('health');
    const shallow = await client.request('/');
    expect(shallow.status).toBe(200);
    expect(shallow.body).toMatchObject({
      status: 'ok',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      uptime_s: expect.any(Number),
      default_model: 'brightness',
      models: [{ name: 'brightness', loaded: false, version: null, sha256: null, loaded_at: null }],
    });
    const deep = await client.request('/?deep=1');
    expect(deep.status).toBe(200);
    expect(deep.body.warmup_ms).toEqual(expect.any(Number));
    expect(deep.body.models).toEqual([
      {
        name: 'brightness',
        loaded: true,
        version: 'v1',
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        loaded_at: expect.any(String),
        last_error: null,
        last_error_at: null,
      },
    ]);
  });

  it('answers 503 with Retry-After on ?deep=1 when the model cannot load', async () => {
    const store = copyModelStore();
    // Corrupt the model: its sha256 no longer matches production.json.
    fs.appendFileSync(path.join(store, 'brightness', 'v1', 'model.onnx'), Buffer.from([0]));
    const { logger } = startService({ MODEL_STORE: store });
    client = await startFunction('health');
    const deep = await client.request('/?deep=1');
    expect(deep.status).toBe(503);
    // The first retry is allowed after 1 s (the registry's back-off).
    expect(deep.headers.get('retry-after')).toBe('1');
    expect(deep.body.status).toBe('unavailable');
    expect(deep.body.error.code).toBe('model_unavailable');
    // Unauthenticated callers get a generic sentence; the cause is in the log.
    expect(deep.body.models[0].last_error).toBe('the model could not be loaded; the details are in the service log');
    expect(deep.text).not.toContain('sha256 ');
    expect(logger.entries.some((entry) => JSON.stringify(entry).includes('production.json expects'))).toBe(true);
    // Shallow health still answers: the instance itself is alive.
    expect((await client.request('/')).status).toBe(200);
  });

  it('reports degraded, and why, when DEFAULT_MODEL is not in the store; /predict says which models it has', async () => {
    startService({ DEFAULT_MODEL: 'general' });
    client = await startFunction('app');
    const health = await client.request('/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.reason).toMatch(
      /^the default model "general" is not published in the model store, which has: brightness\. .*DEFAULT_MODEL=<name>.*\?model=<name>$/,
    );
    const predict = await client.request('/predict', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } });
    expect(predict.status).toBe(503);
    expect(predict.headers.get('retry-after')).toBeNull();
    expect(predict.body.error.code).toBe('default_model_not_published');
    expect(predict.body.error.message).toContain('DEFAULT_MODEL=brightness');
    // The model the store has serves when asked for.
    const chosen = await client.request('/predict?model=brightness', {
      method: 'POST',
      body: fixtureImage('photo.jpg'),
      headers: { 'Content-Type': 'image/jpeg' },
    });
    expect(chosen.status).toBe(200);
    const unknown = await client.request('/predict?model=nope', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('the published models are: brightness');
  });

  it('says degraded, with the reason, while telemetry cannot be written', async () => {
    const { service } = startService({ TELEMETRY_STORE: '/proc/telemetry', TELEMETRY_FLUSH_RECORDS: '1' });
    client = await startFunction('app');
    const photo = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'images', 'photo.png'));
    expect((await client.request('/predict', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: photo })).status).toBe(200);
    await service.telemetry.maybeFlush();
    const health = await client.request('/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.degraded).toEqual([
      expect.objectContaining({
        component: 'telemetry',
        reason: expect.stringMatching(/telemetry writes to \/proc\/telemetry are failing \(.*ENOENT/),
        records_held: 1,
      }),
    ]);
    service.telemetry.close();
  });

  it('answers 404 for an unknown model on ?deep=1', async () => {
    startService();
    client = await startFunction('health');
    const deep = await client.request('/?deep=1&model=nope');
    expect(deep.status).toBe(503);
    expect(deep.body.error.code).toBe('unknown_model');
  });
});

describe('the local router', () => {
  it('serves every function on one port under its own path', async () => {
    startService();
    const client = await startFunction('app');
    try {
      expect((await client.request('/health')).body.status).toBe('ok');
      expect((await client.request('/openapi.json')).body.openapi).toBe('3.1.0');
      const missing = await client.request('/nope');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('not_found');
      const predict = await client.request('/predict', { method: 'GET' });
      expect(predict.status).toBe(405);
    } finally {
      await client.close();
    }
  });
});
