import * as path from 'node:path';
import { ConfigError, loadConfig, repoRoot, SETTINGS } from '../../src/config';

describe('loadConfig', () => {
  it('gives a working local default for every setting', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.modelStore).toBe(path.join(repoRoot(), 'models'));
    expect(config.defaultModel).toBe('shoes');
    expect(config.maxImageBytes).toBe(10 * 1024 * 1024);
    expect(config.maxPixels).toBe(40_000_000);
    expect(config.maxBatchItems).toBe(20);
    expect(config.imageDecoder).toBe('sharp');
    expect(config.ortIntraOpThreads).toBe(1);
    expect(config.allowedBuckets).toEqual([]);
    expect(config.apiKeys).toEqual([]);
    expect(config.driftWindowHours).toBe(24);
    expect(config.driftMinSamples).toBe(200);
    expect(Object.isFrozen(config)).toBe(true);
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

  it('declares each variable once', () => {
    const names = SETTINGS.map((setting) => setting.env);
    expect(new Set(names).size).toBe(names.length);
  });
});
