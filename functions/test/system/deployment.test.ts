/**
 * Smoke tests of a running deployment (`npm run test:system`, BASE_URL required): each function
 * answers through the real platform, with the real model from the bucket, and its responses match
 * the published schemas. CI runs them after every deploy; the default `jest` run never does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { batchResponseSchema, errorResponseSchema, explainResponseSchema, predictResponseSchema } from '../../src/serving/api/schemas';
import { API_KEY, call, ID_TOKEN } from './deployment-client';

const IMAGES = path.join(__dirname, '..', 'fixtures', 'images');
const photo = (name: string): Uint8Array<ArrayBuffer> => new Uint8Array(fs.readFileSync(path.join(IMAGES, name)));

const ajv = new Ajv({ strict: false, allErrors: true });
function expectSchema(schema: object, body: unknown): void {
  const validate = ajv.compile(schema);
  expect({ valid: validate(body), errors: validate.errors ?? null, body }).toMatchObject({ valid: true, errors: null });
}

describe('health', () => {
  it('is up and names its version and default model', async () => {
    const response = await call('/health', { apiKey: null });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/), default_model: expect.any(String) });
  });

  it('loads the default model from the model store on ?deep=1', async () => {
    const response = await call('/health?deep=1', { apiKey: null });
    expect(response.status).toBe(200);
    const model = (response.body.models as Array<{ name: string; loaded: boolean; version: string | null }>).find(
      (entry) => entry.name === response.body.default_model,
    );
    expect(model).toMatchObject({ loaded: true, version: expect.any(String) });
  });

  it('serves the OpenAPI document', async () => {
    const response = await call('/health/openapi.json', { apiKey: null });
    expect(response.status).toBe(200);
    expect(response.body.openapi).toMatch(/^3\./);
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/predict', '/batch', '/health', '/drift']));
  });
});

describe('predict', () => {
  it('scores a real photo', async () => {
    const response = await call('/predict', { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: photo('photo.jpg') });
    expect(response.status).toBe(200);
    expectSchema(predictResponseSchema, response.body);
    expect(response.body.image).toMatchObject({ width: 320, height: 240, format: 'jpeg' });
  });

  it('refuses bytes that are not an image, with a stable error code', async () => {
    const response = await call('/predict', { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: 'not an image at all' });
    expect(response.status).toBe(415);
    expectSchema(errorResponseSchema, response.body);
    expect(response.body.error.code).toBe('unsupported_format');
  });

  (API_KEY === '' ? it.skip : it)('refuses a request without an API key (runs when API_KEY is set)', async () => {
    const response = await call('/predict', { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: photo('photo.jpg'), apiKey: null });
    expect(response.status).toBe(401);
    expectSchema(errorResponseSchema, response.body);
  });
});

describe('explain', () => {
  it('answers a real photo with its grid and heatmap', async () => {
    const response = await call('/explain', { method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: photo('photo.jpg') });
    expect(response.status).toBe(200);
    expectSchema(explainResponseSchema, response.body);
    expect(response.body.heatmap).toEqual({ width: 320, height: 240, format: 'png' });
  });
});

describe('batch', () => {
  it('scores several photos in one request', async () => {
    const images = [
      { id: 'jpeg', image: Buffer.from(photo('photo.jpg')).toString('base64') },
      { id: 'png', image: Buffer.from(photo('photo.png')).toString('base64') },
      { id: 'webp', image: Buffer.from(photo('photo.webp')).toString('base64') },
    ];
    const response = await call('/batch', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ images }) });
    expect(response.status).toBe(200);
    expectSchema(batchResponseSchema, response.body);
    expect(response.body).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    expect(response.body.results.map((result: { id: string }) => result.id)).toEqual(['jpeg', 'png', 'webp']);
  });
});

describe('drift', () => {
  // In the cloud drift admits IAM principals only (ID_TOKEN); locally it takes the API key.
  const auth = (): RequestInit => (ID_TOKEN === '' ? {} : { headers: { Authorization: `Bearer ${ID_TOKEN}` } });

  it('returns the latest report of each model, or says that none was computed yet', async () => {
    const response = await call('/drift', auth());
    if (response.status === 404) {
      expectSchema(errorResponseSchema, response.body);
      expect(response.body.error.code).toBe('no_drift_report');
    } else {
      expect(response.status).toBe(200);
      expect(response.body.reports.length).toBeGreaterThan(0);
      for (const report of response.body.reports)
        expect(report).toMatchObject({ model: { name: expect.any(String) }, status: expect.stringMatching(/^(ok|warning|drift|insufficient_data)$/) });
    }
  });

  (ID_TOKEN === '' ? it.skip : it)('turns away a caller without an identity (runs when ID_TOKEN is set)', async () => {
    const response = await fetch(`${process.env.BASE_URL!.replace(/\/+$/, '')}/drift`, { signal: AbortSignal.timeout(60_000) });
    expect([401, 403]).toContain(response.status);
  });
});
