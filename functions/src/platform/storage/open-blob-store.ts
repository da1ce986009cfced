/**
 * Turns a storage location from configuration into a BlobStore: `gs://bucket/prefix` is Cloud
 * Storage, a folder path (or `file:` URL) is a local FileBlobStore.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertValidKey, type BlobStore } from './blob-store';
import { FileBlobStore } from './file-blob-store';
import { GcsBlobStore, type GcsBlobStoreOptions } from './gcs-blob-store';

export interface OpenBlobStoreOptions {
  /** Cloud Storage JSON API endpoint; leave unset for the real service. */
  gcsApiEndpoint?: string;
  projectId?: string;
}

/** The storage settings of the configuration (STORAGE_API_ENDPOINT, GOOGLE_CLOUD_PROJECT) as store options. */
export function storeOptionsFrom(config: { storageApiEndpoint: string | null; projectId: string | null }): OpenBlobStoreOptions {
  return {
    ...(config.storageApiEndpoint === null ? {} : { gcsApiEndpoint: config.storageApiEndpoint }),
    ...(config.projectId === null ? {} : { projectId: config.projectId }),
  };
}

/** `gs://bucket/prefix` → GcsBlobStore; a path → FileBlobStore on its absolute form. */
export function openBlobStore(uri: string, options: OpenBlobStoreOptions = {}): BlobStore {
  if (typeof uri !== 'string' || uri.trim().length === 0) {
    throw new TypeError('storage location is empty: use a folder path like "./data" or a URI like "gs://bucket/prefix"');
  }
  const gcs = parseGcsUri(uri);
  if (gcs !== null) {
    const gcsOptions: GcsBlobStoreOptions = { bucket: gcs.bucket, prefix: gcs.prefix };
    if (options.gcsApiEndpoint !== undefined) gcsOptions.apiEndpoint = options.gcsApiEndpoint;
    if (options.projectId !== undefined) gcsOptions.projectId = options.projectId;
    return new GcsBlobStore(gcsOptions);
  }
  if (/^file:/i.test(uri)) return new FileBlobStore(fileURLToPath(uri));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1];
  if (scheme !== undefined) {
    throw new TypeError(
      `unsupported storage location ${JSON.stringify(uri)}: "${scheme}://" is not a known scheme; ` + 'use "gs://bucket/prefix" or a folder path',
    );
  }
  return new FileBlobStore(path.resolve(uri));
}

/**
 * Splits `gs://bucket/prefix` into its parts (`prefix` without leading or trailing '/', '' when absent).
 * Returns null for anything that is not a gs:// URI; throws a TypeError naming the URI when it is one
 * but the bucket name or prefix is invalid.
 */
export function parseGcsUri(uri: string): { bucket: string; prefix: string } | null {
  const match = /^gs:\/\/([^/]*)(?:\/(.*))?$/i.exec(uri);
  if (match === null) return null;
  const bucket = match[1] ?? '';
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem !== null) {
    throw new TypeError(`invalid Cloud Storage URI ${JSON.stringify(uri)}: bucket ${JSON.stringify(bucket)} ${bucketProblem}`);
  }
  if (prefix.length > 0) {
    try {
      assertValidKey(prefix);
    } catch (error) {
      throw new TypeError(
        `invalid Cloud Storage URI ${JSON.stringify(uri)}: prefix ${JSON.stringify(prefix)} must be a relative path ` +
          'without empty, "." or ".." parts, like "gs://bucket/models/v1"',
        { cause: error },
      );
    }
  }
  return { bucket, prefix };
}

/** Cloud Storage bucket naming rules; returns what is wrong, or null. */
function bucketNameProblem(bucket: string): string | null {
  if (bucket.length === 0) return 'is missing: use "gs://bucket" or "gs://bucket/prefix"';
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(bucket)) {
    return "must use only lowercase letters, digits, '-', '_' and '.', and start and end with a letter or digit";
  }
  const components = bucket.split('.');
  if (components.length === 1 ? bucket.length < 3 || bucket.length > 63 : bucket.length > 222) {
    return 'must be 3 to 63 characters long (up to 222 when it contains dots)';
  }
  if (components.some((component) => component.length === 0 || component.length > 63)) {
    return 'must not have empty dot-separated parts or parts longer than 63 characters';
  }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)) return 'must not look like an IP address';
  if (bucket.startsWith('goog') || /g[o0][o0]g[l1]e/.test(bucket)) {
    return 'must not start with "goog" or contain "google" or a close misspelling';
  }
  return null;
}
