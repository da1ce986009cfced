/**
 * The first models of a deployment: publish-models copies the bundled production versions into a
 * Cloud Storage model store (the JSON API test server, through the production GcsBlobStore), and
 * the service then serves them from there.
 */
import * as path from 'node:path';
import { repoRoot } from '../../functions/src/platform';
import { GcsBlobStore } from '../../functions/src/platform/storage/gcs-blob-store';
import { type GcsServer, startGcsServer } from '../../functions/test/support/gcs-server';
import { startFunction } from '../../functions/test/support/function-server';
import { fixtureImage, FIXTURE_MODELS, startService } from '../../functions/test/support/test-service';
import { publishBundledModels, publishTrustMaterial } from '../ops/publish-models';
import * as fs from 'node:fs';

let server: GcsServer;
beforeEach(async () => {
  server = await startGcsServer();
});
afterEach(async () => {
  await server.close();
});

it('publishes every file of the production version, production.json last, and the service serves it', async () => {
  const store = new GcsBlobStore({ bucket: 'deploy-bucket', prefix: 'models', apiEndpoint: server.url });
  expect(await publishBundledModels(FIXTURE_MODELS, store, ['brightness'], false)).toEqual([{ name: 'brightness', version: 'v1', outcome: 'published' }]);
  const uploads = server.requests.filter((request) => request.method === 'POST').map((request) => decodeURIComponent(request.path));
  expect(uploads[uploads.length - 1]).toContain('models/brightness/production.json');

  startService({ MODEL_STORE: 'gs://deploy-bucket/models', STORAGE_API_ENDPOINT: server.url });
  const predict = await startFunction('predict');
  try {
    const response = await predict.request('/', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } });
    expect(response.status).toBe(200);
    expect(response.body.model).toEqual({ name: 'brightness', version: 'v1' });
  } finally {
    await predict.close();
  }
  // A second run finds it there and changes nothing.
  expect(await publishBundledModels(FIXTURE_MODELS, store, ['brightness'], false)).toEqual([
    { name: 'brightness', version: 'v1', outcome: 'already_published' },
  ]);
});

it('leaves a store that already serves another version alone unless told to replace it', async () => {
  const store = new GcsBlobStore({ bucket: 'deploy-bucket', prefix: 'models', apiEndpoint: server.url });
  await store.write('brightness/production.json', JSON.stringify({ version: 'v9', sha256: 'a'.repeat(64) }));
  expect(await publishBundledModels(FIXTURE_MODELS, store, ['brightness'], false)).toEqual([{ name: 'brightness', version: 'v9', outcome: 'kept_existing' }]);
  expect(await publishBundledModels(FIXTURE_MODELS, store, ['brightness'], true)).toEqual([{ name: 'brightness', version: 'v1', outcome: 'published' }]);
  expect(JSON.parse((await store.read('brightness/production.json')).toString()).version).toBe('v1');
});

it('knows the bundled models of this repository', async () => {
  const store = new GcsBlobStore({ bucket: 'deploy-bucket', prefix: 'models', apiEndpoint: server.url });
  const results = await publishBundledModels(path.join(repoRoot(), 'models'), store, ['shoes'], false);
  expect(results).toEqual([{ name: 'shoes', version: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/), outcome: 'published' }]);
});

it('publishes the C2PA trust material to <store>/trust, trust.json last, and the service validates against it', async () => {
  const store = new GcsBlobStore({ bucket: 'deploy-bucket', prefix: 'models', apiEndpoint: server.url });
  const models = path.join(repoRoot(), 'models');
  const version = (JSON.parse(fs.readFileSync(path.join(models, 'trust', 'trust.json'), 'utf8')) as { version: string }).version;
  expect(await publishTrustMaterial(models, store)).toEqual({ version, outcome: 'published' });
  const uploads = server.requests.filter((request) => request.method === 'POST').map((request) => decodeURIComponent(request.path));
  expect(uploads[uploads.length - 1]).toContain('models/trust/trust.json');
  expect(await publishTrustMaterial(models, store)).toEqual({ version, outcome: 'already_published' });

  await publishBundledModels(FIXTURE_MODELS, store, ['brightness'], false);
  // The default C2PA_TRUST_STORE: trust/ under the model store.
  startService({ MODEL_STORE: 'gs://deploy-bucket/models', STORAGE_API_ENDPOINT: server.url, C2PA_TRUST_STORE: '' });
  const predict = await startFunction('predict');
  try {
    const bytes = fs.readFileSync(path.join(repoRoot(), 'functions', 'test', 'fixtures', 'evidence', 'openai-gpt-image.png'));
    const response = await predict.request('/', { method: 'POST', body: bytes, headers: { 'Content-Type': 'image/png' } });
    expect(response.status).toBe(200);
    expect(response.body.evidence.c2pa).toMatchObject({ validation: 'valid', trust_list: version });
  } finally {
    await predict.close();
  }
});
