/**
 * Puts a deadline on every call of a BlobStore. A store that never answers (a bucket behind a
 * stalled connection, a folder on a file system where mkdir never settles) must not hold requests
 * or /health forever: each call rejects with StorageTimeoutError once `timeoutMs` has passed. The
 * underlying call is not cancelled (neither fs nor the Storage client can be), but nobody waits on it.
 */
import { InternalError } from '../errors';
import type { BlobInfo, BlobStore, WriteOptions } from './blob-store';

export class StorageTimeoutError extends InternalError {
  constructor(
    readonly location: string,
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super('storage_timeout', `${operation} on ${location} did not finish within ${timeoutMs} ms`);
  }
}

export function isStorageTimeout(error: unknown): error is StorageTimeoutError {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'storage_timeout';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export class DeadlineBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly timeoutMs: number,
  ) {
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0; got ${timeoutMs}`);
  }

  get location(): string {
    return this.inner.location;
  }

  read(key: string): Promise<Buffer> {
    return this.within(`read ${key}`, () => this.inner.read(key));
  }

  readWithInfo(key: string): Promise<{ data: Buffer; info: BlobInfo }> {
    return this.within(`read ${key}`, () => this.inner.readWithInfo(key));
  }

  stat(key: string): Promise<BlobInfo | null> {
    return this.within(`stat ${key}`, () => this.inner.stat(key));
  }

  write(key: string, data: Buffer | string, options?: WriteOptions): Promise<BlobInfo> {
    return this.within(`write ${key}`, () => this.inner.write(key, data, options));
  }

  list(prefix: string): Promise<BlobInfo[]> {
    return this.within(`list ${prefix}`, () => this.inner.list(prefix));
  }

  delete(key: string): Promise<void> {
    return this.within(`delete ${key}`, () => this.inner.delete(key));
  }

  private within<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StorageTimeoutError(this.inner.location, operation, this.timeoutMs)), this.timeoutMs);
      timer.unref();
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        clearTimeout(timer);
        reject(asError(error));
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(asError(error));
        },
      );
    });
  }
}
