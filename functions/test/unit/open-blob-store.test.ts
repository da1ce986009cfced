import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { GcsBlobStore } from '../../src/platform/storage/gcs-blob-store';
import { openBlobStore, parseGcsUri } from '../../src/platform/storage/open-blob-store';

describe('parseGcsUri', () => {
  it.each([
    ['gs://my-bucket', { bucket: 'my-bucket', prefix: '' }],
    ['gs://my-bucket/', { bucket: 'my-bucket', prefix: '' }],
    ['gs://my-bucket/models', { bucket: 'my-bucket', prefix: 'models' }],
    ['gs://my-bucket/models/v1/', { bucket: 'my-bucket', prefix: 'models/v1' }],
    ['gs://data_2024.example.com/a/b', { bucket: 'data_2024.example.com', prefix: 'a/b' }],
    ['gs://abc', { bucket: 'abc', prefix: '' }],
    [`gs://${'a'.repeat(63)}`, { bucket: 'a'.repeat(63), prefix: '' }],
  ])('splits %s', (uri, expected) => {
    expect(parseGcsUri(uri)).toEqual(expected);
  });

  it.each(['/srv/models', './data', 'data/models', 'C:\\models', 's3://bucket/x', 'gs:/bucket', 'file:///tmp/x', ''])(
    'returns null for %j, which is not a gs:// URI',
    (uri) => {
      expect(parseGcsUri(uri)).toBeNull();
    },
  );

  it.each([
    ['gs://', /bucket "" is missing/],
    ['gs:///prefix', /bucket "" is missing/],
    ['gs://ab', /3 to 63 characters/],
    [`gs://${'a'.repeat(64)}`, /3 to 63 characters/],
    ['gs://My-Bucket', /lowercase letters/],
    ['gs://-bucket', /start and end with a letter or digit/],
    ['gs://bucket-', /start and end with a letter or digit/],
    ['gs://buck et', /lowercase letters/],
    ['gs://a..b', /empty dot-separated parts/],
    ['gs://192.168.1.1', /IP address/],
    ['gs://goog-data', /goog/],
    ['gs://my-google-data', /google/],
    ['gs://my-g00gle-data', /google/],
    ['gs://bucket/../up', /prefix "..\/up" must be a relative path/],
    ['gs://bucket/a//b', /prefix "a\/\/b"/],
  ])('rejects %s with a TypeError naming the URI', (uri, reason) => {
    let caught: unknown;
    try {
      parseGcsUri(uri);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as TypeError).message).toContain(`invalid Cloud Storage URI ${JSON.stringify(uri)}`);
    expect((caught as TypeError).message).toMatch(reason);
  });
});

describe('openBlobStore', () => {
  it('opens gs:// URIs as GcsBlobStore at that bucket and prefix', () => {
    const store = openBlobStore('gs://models-bucket/prod/v2/', { gcsApiEndpoint: 'http://127.0.0.1:1', projectId: 'p' });

    expect(store).toBeInstanceOf(GcsBlobStore);
    expect(store.location).toBe('gs://models-bucket/prod/v2');
  });

  it.each([
    ['relative folder', 'data/models', path.resolve('data/models')],
    ['absolute folder', '/srv/models', path.resolve('/srv/models')],
    ['file: URL', pathToFileURL('/srv/models dir').href, path.resolve('/srv/models dir')],
  ])('opens a %s as FileBlobStore on its absolute path', (_kind, uri, location) => {
    const store = openBlobStore(uri);

    expect(store).toBeInstanceOf(FileBlobStore);
    expect(store.location).toBe(location);
  });

  it.each([
    ['', /storage location is empty/],
    ['   ', /storage location is empty/],
    ['gcs://bucket/prefix', /"gcs:\/\/" is not a known scheme/],
    ['s3://bucket/prefix', /"s3:\/\/" is not a known scheme/],
    ['gs://Bad_Bucket', /invalid Cloud Storage URI/],
  ])('rejects %j with a TypeError that says what would be right', (uri, message) => {
    expect(() => openBlobStore(uri)).toThrow(TypeError);
    expect(() => openBlobStore(uri)).toThrow(message);
  });
});
