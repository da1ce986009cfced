import * as path from 'node:path';
import { loadConfig, SETTINGS } from '../../src/serving/config';
import { ConfigError } from '../../src/platform/settings';
import { repoRoot } from '../../src/platform/repo-root';

describe('loadConfig', () => {
  it('gives a working local default for every setting', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.modelStore).toBe(path.join(repoRoot(), 'models'));
    expect(config.defaultModel).toBe('general');
    expect(config.maxImageBytes).toBe(10 * 1024 * 1024);
    expect(config.maxPixels).toBe(40_000_000);
    expect(config.maxBatchItems).toBe(20);
    expect(config.imageDecoder).toBe('sharp');
    expect(config.ortIntraOpThreads).toBe(1);
    expect(config.allowedBuckets).toEqual([]);
    expect(config.apiKeys).toEqual([]);
    expect(config.driftWindowHours).toBe(24);
    expect(config.driftMinSamples).toBe(200);
    expect(config.c2paTrustStore).toBe(path.join(repoRoot(), 'models', 'trust'));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ MODEL_STORE: 'gs://bucket/models' }, 'gs://bucket/models/trust'],
    [{ MODEL_STORE: 'gs://bucket/models/' }, 'gs://bucket/models/trust'],
    [{ MODEL_STORE: '/srv/models' }, path.join('/srv/models', 'trust')],
    [{ MODEL_STORE: 'gs://bucket/models', C2PA_TRUST_STORE: 'gs://other/trust-2026' }, 'gs://other/trust-2026'],
    [{ C2PA_TRUST_STORE: 'none' }, null],
  ])('finds the C2PA trust material in the model store unless told otherwise (%j)', (env, expected) => {
    expect(loadConfig(env).c2paTrustStore).toBe(expected);
  });

  it('names C2PA_TRUST_STORE when it is no store location', () => {
    expect(() => loadConfig({ C2PA_TRUST_STORE: 'https://example.com/trust' })).toThrow(/C2PA_TRUST_STORE must be a folder path or gs:\/\/bucket\/prefix/);
  });

  it('parses every kind of value', () => {
    const config = loadConfig({
      PORT: '9000',
      MODEL_STORE: 'gs://models-bucket/registry',
      DEFAULT_MODEL: 'cifake',
      IMAGE_DECODER: 'jimp',
      ALLOWED_BUCKETS: 'photos-a, photos-b',
      API_KEYS: '0123456789abcdef,fedcba9876543210',
      RATE_LIMIT_PER_SECOND: '2.5',
    });
    expect(config).toMatchObject({
      port: 9000,
      modelStore: 'gs://models-bucket/registry',
      defaultModel: 'cifake',
      imageDecoder: 'jimp',
      allowedBuckets: ['photos-a', 'photos-b'],
      apiKeys: ['0123456789abcdef', 'fedcba9876543210'],
      rateLimitPerSecond: 2.5,
    });
  });

  it('reports every invalid variable in one error', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'eighty', MAX_PIXELS: '-5', IMAGE_DECODER: 'magick', DEFAULT_MODEL: '../etc', ALLOWED_BUCKETS: 'gs://x', API_KEYS: 'short' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(6);
    for (const name of ['PORT', 'MAX_PIXELS', 'IMAGE_DECODER', 'DEFAULT_MODEL', 'ALLOWED_BUCKETS', 'API_KEYS']) {
      expect(problems.some((problem) => problem.startsWith(name))).toBe(true);
    }
    expect((caught as Error).message).toContain('IMAGE_DECODER must be one of sharp, jimp; got "magick"');
  });

  it('rejects an image limit above the request limit', () => {
    expect(() => loadConfig({ MAX_IMAGE_BYTES: '2000', MAX_REQUEST_BYTES: '1000' })).toThrow('MAX_IMAGE_BYTES (2000) must not exceed MAX_REQUEST_BYTES (1000)');
  });

  it.each([
    [{ TELEMETRY_FLUSH_RECORDS: '500', TELEMETRY_BUFFER_CAPACITY: '100' }, 'TELEMETRY_FLUSH_RECORDS (500) must not exceed TELEMETRY_BUFFER_CAPACITY (100)'],
    [{ MODEL_STORE: 's3://bucket/models' }, 'MODEL_STORE must be a folder path or gs://bucket/prefix; "s3://" is not supported'],
    [{ TELEMETRY_STORE: 'gs://Bad_Bucket!/t' }, 'TELEMETRY_STORE must name a valid Cloud Storage bucket'],
    [{ MODEL_STORE: 'gs://' }, 'MODEL_STORE must name a valid Cloud Storage bucket'],
    [{ MODEL_STORE: 'gs://models-bucket/a/../b' }, 'MODEL_STORE has an invalid prefix'],
    [{ TRUSTED_PROXY_HOPS: '-1' }, 'TRUSTED_PROXY_HOPS must be between 0 and 10'],
    [{ STORAGE_TIMEOUT_MS: '0' }, 'STORAGE_TIMEOUT_MS must be between 50 and 600000'],
  ])('names the variable of an invalid setting: %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('accepts the store locations it documents', () => {
    for (const location of ['gs://my-bucket', 'gs://my-bucket/models/v1', 'gs://my.dotted.bucket/x/', './models', '/srv/models', 'file:///srv/models']) {
      expect(loadConfig({ MODEL_STORE: location }).modelStore).toBe(location);
    }
  });

  it('declares each variable once', () => {
    const names = SETTINGS.map((setting) => setting.env);
    expect(new Set(names).size).toBe(names.length);
  });

  it('reads drift from files unless told otherwise, and from BigQuery with a table', () => {
    expect(loadConfig({})).toMatchObject({ driftReader: 'files', bigqueryTable: null, bigqueryApiEndpoint: null });
    expect(
      loadConfig({
        DRIFT_READER: 'bigquery',
        BIGQUERY_TABLE: 'my-project.detector_telemetry.telemetry_{model}',
        BIGQUERY_API_ENDPOINT: 'http://127.0.0.1:9050',
      }),
    ).toMatchObject({
      driftReader: 'bigquery',
      bigqueryTable: 'my-project.detector_telemetry.telemetry_{model}',
      bigqueryApiEndpoint: 'http://127.0.0.1:9050',
    });
  });

  it.each([
    [{ DRIFT_READER: 'bigquery' }, 'DRIFT_READER=bigquery needs BIGQUERY_TABLE'],
    [{ DRIFT_READER: 'duckdb' }, 'DRIFT_READER must be one of files, bigquery'],
    [{ BIGQUERY_TABLE: 'dataset.table' }, 'BIGQUERY_TABLE must be project.dataset.table'],
    [{ BIGQUERY_TABLE: 'my-project.ds.t`; DROP TABLE x' }, 'BIGQUERY_TABLE must be project.dataset.table'],
  ])('rejects %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
