/**
 * BlobStore: the one port through which models, datasets, telemetry and drift reports are read and
 * written. Keys are '/'-separated paths relative to the store's root (no leading slash, no '..').
 * Adapters: FileBlobStore (a local folder, the default) and GcsBlobStore (gs://bucket/prefix).
 */
import { InternalError } from '../errors';

export interface BlobInfo {
  key: string;
  /** Opaque token that changes whenever the blob's content changes (GCS generation, or a file hash). */
  generation: string;
  size: number;
}

export interface WriteOptions {
  /**
   * Compare-and-swap: '0' means "only if the blob does not exist yet"; any other value means "only
   * if the current generation is exactly this". A mismatch throws PreconditionFailedError.
   */
  ifGenerationMatch?: string;
  contentType?: string;
}

export interface BlobStore {
  /** Human-readable location, e.g. `/srv/models` or `gs://bucket/prefix`. */
  readonly location: string;
  read(key: string): Promise<Buffer>;
  /** Reads content and the generation it had, for a later conditional write. */
  readWithInfo(key: string): Promise<{ data: Buffer; info: BlobInfo }>;
  /** Returns null when the blob does not exist. */
  stat(key: string): Promise<BlobInfo | null>;
  write(key: string, data: Buffer | string, options?: WriteOptions): Promise<BlobInfo>;
  /** Every blob whose key starts with `prefix` (recursively), sorted by key. */
  list(prefix: string): Promise<BlobInfo[]>;
  /** Deleting a blob that does not exist is a no-op, so a retried delete succeeds. */
  delete(key: string): Promise<void>;
}

export class BlobNotFoundError extends InternalError {
  constructor(
    readonly location: string,
    readonly key: string,
    options: { cause?: unknown } = {},
  ) {
    super('blob_not_found', `no blob at ${location}/${key}`, options);
  }
}

export class PreconditionFailedError extends InternalError {
  constructor(
    readonly location: string,
    readonly key: string,
    readonly expected: string,
    options: { cause?: unknown } = {},
  ) {
    super('precondition_failed', `${location}/${key} changed concurrently (expected generation ${expected})`, options);
  }
}

export function isBlobNotFound(error: unknown): error is BlobNotFoundError {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'blob_not_found';
}

export function isPreconditionFailed(error: unknown): error is PreconditionFailedError {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'precondition_failed';
}

/** Rejects keys that could escape the store's root or are not plain relative paths. */
export function assertValidKey(key: string): void {
  if (
    key.length === 0 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new TypeError(`invalid blob key ${JSON.stringify(key)}: use a relative path like "name/version/file"`);
  }
}

/** Joins key parts with '/', ignoring empty parts. */
export function joinKey(...parts: string[]): string {
  return parts.filter((part) => part.length > 0).join('/');
}
