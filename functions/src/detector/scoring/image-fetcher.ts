/**
 * Reads `gs://bucket/object` images for {"uri": ...} requests. Only buckets listed in
 * ALLOWED_BUCKETS are ever read, and only through the Cloud Storage API: no arbitrary URL is
 * fetched (no SSRF).
 */
import { BadRequestError, ForbiddenError, NotFoundError, ServiceUnavailableError } from '../../platform/errors';
import type { BlobStore } from '../../platform/storage/blob-store';
import { imageTooLarge } from '../image/image-header';

export interface ImageFetcher {
  fetch(uri: string, maxBytes: number): Promise<Buffer>;
}

const GS_URI = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/(.+)$/;

export function parseImageUri(uri: string): { bucket: string; object: string } {
  const match = GS_URI.exec(uri);
  if (match === null || match[2]!.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new BadRequestError('invalid_uri', `uri ${JSON.stringify(uri.slice(0, 200))} is not a gs://bucket/object URI; only Cloud Storage URIs are accepted`);
  }
  return { bucket: match[1]!, object: match[2]! };
}

export class BucketImageFetcher implements ImageFetcher {
  private readonly stores = new Map<string, BlobStore>();

  constructor(
    private readonly allowedBuckets: readonly string[],
    private readonly openBucket: (bucket: string) => BlobStore,
  ) {}

  async fetch(uri: string, maxBytes: number): Promise<Buffer> {
    const { bucket, object } = parseImageUri(uri);
    if (!this.allowedBuckets.includes(bucket)) {
      throw new ForbiddenError(
        'bucket_not_allowed',
        `bucket "${bucket}" is not in ALLOWED_BUCKETS; images can only be read from ${this.allowedBuckets.length === 0 ? 'no bucket (none is configured)' : this.allowedBuckets.join(', ')}`,
      );
    }
    let store = this.stores.get(bucket);
    if (store === undefined) {
      store = this.openBucket(bucket);
      this.stores.set(bucket, store);
    }
    let info;
    try {
      info = await store.stat(object);
    } catch (error) {
      throw new ServiceUnavailableError('storage_unavailable', `reading ${uri} failed; retry shortly`, 5, { cause: error });
    }
    if (info === null) throw new NotFoundError('image_not_found', `no object at ${uri}`);
    if (info.size > maxBytes) throw imageTooLarge(info.size, maxBytes);
    try {
      return await store.read(object);
    } catch (error) {
      throw new ServiceUnavailableError('storage_unavailable', `reading ${uri} failed; retry shortly`, 5, { cause: error });
    }
  }
}
