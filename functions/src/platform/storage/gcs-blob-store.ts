/**
 * GcsBlobStore: blobs are objects under `gs://bucket/prefix/`. The only importer of
 * @google-cloud/storage. The same code talks to Cloud Storage and to a local server speaking its JSON
 * API; only `apiEndpoint` differs.
 *
 * - The generation is the object's generation; writes pass `ifGenerationMatch` to the service, which
 *   makes compare-and-swap atomic there. 404 becomes BlobNotFoundError, 412 PreconditionFailedError.
 * - Writes are single-request multipart uploads (`resumable: false`): blobs here are small enough
 *   that a resumable session would only add a round trip.
 * - Reads take content and generation from one download response (`x-goog-generation`), so they
 *   always belong together.
 * - Every request may be retried on 408/429/5xx (IdempotencyStrategy.RetryAlways): an unconditional
 *   write puts the same bytes again, a conditional one applies at most once, and delete ignores 404.
 */
import type * as StorageModule from '@google-cloud/storage';
import type { Bucket, Storage, StorageOptions } from '@google-cloud/storage';

/**
 * The SDK, required when the first store is made: loading it takes about a second of a cold start,
 * which an instance whose stores are all local folders never pays.
 */
function storageSdk(): typeof StorageModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@google-cloud/storage') as typeof StorageModule;
}

function newStorage(options: StorageOptions): Storage {
  const { Storage } = storageSdk();
  return new Storage(options);
}
import { assertValidKey, BlobNotFoundError, PreconditionFailedError, type BlobInfo, type BlobStore, type WriteOptions } from './blob-store';

export interface GcsBlobStoreOptions {
  bucket: string;
  /** Folder inside the bucket that is the store's root; '' for the whole bucket. */
  prefix: string;
  /**
   * JSON API endpoint, e.g. `http://127.0.0.1:4443` for a local server. Default: Cloud Storage.
   * Requests carry Google credentials only when this is a googleapis.com host.
   */
  apiEndpoint?: string;
  projectId?: string;
  /** A ready client; `apiEndpoint` and `projectId` are then ignored. */
  storage?: Storage;
  /** Objects requested per list call (the API allows up to 1000). */
  listPageSize?: number;
}

export class GcsBlobStore implements BlobStore {
  readonly location: string;
  private readonly bucket: Bucket;
  /** '' or the prefix followed by '/'. */
  private readonly root: string;
  private readonly listPageSize: number;

  constructor(options: GcsBlobStoreOptions) {
    if (typeof options.bucket !== 'string' || options.bucket.length === 0) {
      throw new TypeError('GcsBlobStore needs a bucket name, e.g. { bucket: "my-bucket", prefix: "models" }');
    }
    const prefix = options.prefix.replace(/\/+$/, '');
    if (prefix.length > 0) assertValidKey(prefix);
    const listPageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(listPageSize) || listPageSize < 1 || listPageSize > 1000) {
      throw new TypeError(`GcsBlobStore listPageSize must be an integer from 1 to 1000; got ${listPageSize}`);
    }
    this.listPageSize = listPageSize;
    this.root = prefix.length > 0 ? `${prefix}/` : '';
    this.location = prefix.length > 0 ? `gs://${options.bucket}/${prefix}` : `gs://${options.bucket}`;
    this.bucket = (options.storage ?? newStorage(storageOptions(options))).bucket(options.bucket);
  }

  async read(key: string): Promise<Buffer> {
    return (await this.readWithInfo(key)).data;
  }

  async readWithInfo(key: string): Promise<{ data: Buffer; info: BlobInfo }> {
    const stream = this.bucket.file(this.nameOf(key)).createReadStream();
    let generation: string | undefined;
    stream.on('response', (response: { headers?: Record<string, unknown> }) => {
      const header = response.headers?.['x-goog-generation'];
      if (typeof header === 'string') generation = header;
    });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (error) {
      if (statusOf(error) === 404) throw new BlobNotFoundError(this.location, key, { cause: error });
      throw error;
    }
    if (generation === undefined) {
      throw new Error(`download of ${this.location}/${key} did not say which generation it read (no x-goog-generation header)`);
    }
    const data = Buffer.concat(chunks);
    return { data, info: { key, generation, size: data.length } };
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const [metadata] = await this.bucket.file(this.nameOf(key)).getMetadata();
      return infoFrom(key, metadata);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  async write(key: string, data: Buffer | string, options: WriteOptions = {}): Promise<BlobInfo> {
    const file = this.bucket.file(this.nameOf(key));
    const expected = options.ifGenerationMatch;
    if (expected !== undefined && !/^\d+$/.test(expected)) {
      // Not a Cloud Storage generation, so it cannot be the current one.
      throw new PreconditionFailedError(this.location, key, expected);
    }
    try {
      await file.save(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, {
        resumable: false,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        ...(expected === undefined ? {} : { preconditionOpts: { ifGenerationMatch: expected } }),
      });
    } catch (error) {
      if (statusOf(error) === 412 && expected !== undefined) {
        throw new PreconditionFailedError(this.location, key, expected, { cause: error });
      }
      throw error;
    }
    return infoFrom(key, file.metadata);
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    if (prefix.length > 0) assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
    const infos: BlobInfo[] = [];
    let pageToken: string | undefined;
    do {
      const [files, nextQuery] = await this.bucket.getFiles({
        prefix: this.root + prefix,
        autoPaginate: false,
        maxResults: this.listPageSize,
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      for (const file of files) {
        const key = file.name.slice(this.root.length);
        if (isValidKey(key)) infos.push(infoFrom(key, file.metadata));
      }
      pageToken = (nextQuery as { pageToken?: string } | null)?.pageToken;
    } while (pageToken !== undefined);
    return infos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Deleting a blob that does not exist is not an error, so a retried delete succeeds. */
  async delete(key: string): Promise<void> {
    await this.bucket.file(this.nameOf(key)).delete({ ignoreNotFound: true });
  }

  private nameOf(key: string): string {
    assertValidKey(key);
    return this.root + key;
  }
}

function storageOptions(options: GcsBlobStoreOptions): StorageOptions {
  const storage: StorageOptions = { retryOptions: { idempotencyStrategy: storageSdk().IdempotencyStrategy.RetryAlways } };
  if (options.projectId !== undefined) storage.projectId = options.projectId;
  if (options.apiEndpoint !== undefined) {
    storage.apiEndpoint = options.apiEndpoint;
    storage.useAuthWithCustomEndpoint = isGoogleApisHost(options.apiEndpoint);
  }
  return storage;
}

function isGoogleApisHost(endpoint: string): boolean {
  try {
    const { hostname } = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
    return hostname === 'googleapis.com' || hostname.endsWith('.googleapis.com');
  } catch {
    throw new TypeError(`invalid Cloud Storage apiEndpoint ${JSON.stringify(endpoint)}: use a URL like "http://127.0.0.1:4443"`);
  }
}

function infoFrom(key: string, metadata: { generation?: string | number; size?: string | number }): BlobInfo {
  if (metadata.generation === undefined) throw new Error(`Cloud Storage returned no generation for ${key}`);
  return { key, generation: String(metadata.generation), size: Number(metadata.size ?? 0) };
}

/** The HTTP status the client put on an error as `code`, if any. */
function statusOf(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}
