/**
 * Faults around the service, not in the request: storage that never answers, an empty model store,
 * clients that rotate X-Forwarded-For, credentials in the query string. Each answer is the
 * documented status and code, and nothing hangs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlobStore } from '../../src/platform/storage/blob-store';
import { fixtureImage, solidImage, startService, tempDir, WHITE } from '../support/test-service';
import { startFunction } from '../support/function-server';

/** A store whose every call stays pending forever (a stalled bucket, mkdir under /proc). */
function neverAnswers(location: string): BlobStore & { calls: number } {
  const store = {
    location,
    calls: 0,
    read: () => pending(),
    readWithInfo: () => pending(),
    stat: () => pending(),
    write: () => pending(),
    list: () => pending(),
    delete: () => pending(),
  };
  function pending<T>(): Promise<T> {
    store.calls += 1;
    return new Promise<T>(() => undefined);
  }
  return store as unknown as BlobStore & { calls: number };
}

describe('storage that never answers', () => {
  it('a hung telemetry store never holds predictions or /health', async () => {
    const telemetry = neverAnswers('/proc/stuck');
    startService({ TELEMETRY_FLUSH_RECORDS: '1', STORAGE_TIMEOUT_MS: '200' }, { telemetryStore: telemetry });
    const predict = await startFunction('predict');
    const health = await startFunction('health');
    try {
      const image = await solidImage(WHITE);
      for (let i = 0; i < 5; i += 1) {
        const response = await predict.request('/', { method: 'POST', body: image, headers: { 'Content-Type': 'image/png' } });
        expect(response.status).toBe(200);
      }
      expect((await health.request('/')).status).toBe(200);
      // The flush was attempted (and timed out), so the test is about a store that hangs, not one never called.
      expect(telemetry.calls).toBeGreaterThan(0);
    } finally {
      await Promise.all([predict.close(), health.close()]);
    }
  });

  it('a hung model store answers 503 model_unavailable once the storage deadline passes', async () => {
    startService({ STORAGE_TIMEOUT_MS: '200' }, { modelStore: neverAnswers('gs://stalled/models') });
    const predict = await startFunction('predict');
    try {
      const response = await predict.request('/', { method: 'POST', body: await solidImage(WHITE), headers: { 'Content-Type': 'image/png' } });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('model_unavailable');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Our storage is internal: its location is not told to the client.
      expect(response.text).not.toContain('stalled');
    } finally {
      await predict.close();
    }
  });
});

describe('an empty or missing model store', () => {
  it.each([
    ['empty folder', () => tempDir('empty-models-')],
    ['missing folder', () => path.join(tempDir('gone-'), 'no-such-folder')],
  ])('%s: /predict answers 503 model_unavailable with Retry-After', async (_name, store) => {
    startService({ MODEL_STORE: store() });
    const predict = await startFunction('predict');
    try {
      const response = await predict.request('/', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } });
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('model_unavailable');
      expect(response.headers.get('retry-after')).toBe('1');
      // A client-chosen model that is not published is still the client's 404.
      const other = await predict.request('/?model=other', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } });
      expect({ status: other.status, code: other.body.error.code }).toEqual({ status: 404, code: 'unknown_model' });
    } finally {
      await predict.close();
    }
  });
});

describe('the rate limit keys on an address the client cannot choose', () => {
  const send = (client: { request: (p: string, i: object) => Promise<{ status: number }> }, forwardedFor: string) =>
    client.request('/', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg', 'X-Forwarded-For': forwardedFor } });

  it('without trusted proxies, a new X-Forwarded-For per request buys no new bucket', async () => {
    startService({ RATE_LIMIT_PER_SECOND: '0.001', RATE_LIMIT_BURST: '2' });
    const predict = await startFunction('predict');
    try {
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await send(predict, `203.0.113.${i}`)).status);
      expect(statuses).toEqual([200, 200, 429, 429]);
    } finally {
      await predict.close();
    }
  });

  it('behind one trusted proxy, the address it appended counts and entries the client wrote do not', async () => {
    startService({ RATE_LIMIT_PER_SECOND: '0.001', RATE_LIMIT_BURST: '1', TRUSTED_PROXY_HOPS: '1' });
    const predict = await startFunction('predict');
    try {
      // The same client (198.51.100.7 as the proxy saw it) with a forged entry in front each time.
      expect((await send(predict, '10.0.0.1, 198.51.100.7')).status).toBe(200);
      expect((await send(predict, '10.0.0.2, 198.51.100.7')).status).toBe(429);
      // Another client has its own bucket.
      expect((await send(predict, '198.51.100.8')).status).toBe(200);
    } finally {
      await predict.close();
    }
  });
});

describe('credentials in the query string', () => {
  it('never reach the access log', async () => {
    const { logger } = startService({ API_KEYS: 'secret-key-0123456789' });
    const predict = await startFunction('predict');
    try {
      const response = await predict.request('/?api_key=secret-key-0123456789&model=brightness&token=abc123secret', {
        method: 'POST',
        body: await solidImage(WHITE),
        headers: { 'Content-Type': 'image/png', 'X-API-Key': 'secret-key-0123456789' },
      });
      expect(response.status).toBe(200);
      const access = logger.entries.find((entry) => (entry as { httpRequest?: unknown }).httpRequest !== undefined) as
        { httpRequest: { requestUrl: string } } | undefined;
      expect(access?.httpRequest.requestUrl).toBe('/?api_key=REDACTED&model=brightness&token=REDACTED');
      expect(JSON.stringify(logger.entries)).not.toContain('secret-key-0123456789');
      expect(JSON.stringify(logger.entries)).not.toContain('abc123secret');
    } finally {
      await predict.close();
    }
  });
});

describe('settings that fail at start', () => {
  it('name API_KEYS_FILE when the file is missing', () => {
    const missing = path.join(tempDir('keys-'), 'api-keys');
    expect(() => startService({ API_KEYS_FILE: missing })).toThrow(/API_KEYS_FILE names .*api-keys.*cannot be read \(ENOENT\)/);
    fs.writeFileSync(missing, 'a-valid-key-0123456789\n');
    expect(() => startService({ API_KEYS_FILE: missing })).not.toThrow();
  });
});
