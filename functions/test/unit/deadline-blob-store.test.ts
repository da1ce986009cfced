import type { BlobStore } from '../../src/platform/storage/blob-store';
import { DeadlineBlobStore, isStorageTimeout } from '../../src/platform/storage/deadline-blob-store';
import { MemoryBlobStore } from '../support/memory-blob-store';

const stuck: BlobStore = {
  location: '/proc/stuck',
  read: () => new Promise(() => undefined),
  readWithInfo: () => new Promise(() => undefined),
  stat: () => new Promise(() => undefined),
  write: () => new Promise(() => undefined),
  list: () => new Promise(() => undefined),
  delete: () => new Promise(() => undefined),
};

describe('DeadlineBlobStore', () => {
  it.each([
    ['read', (store: BlobStore) => store.read('a/b')],
    ['readWithInfo', (store: BlobStore) => store.readWithInfo('a/b')],
    ['stat', (store: BlobStore) => store.stat('a/b')],
    ['write', (store: BlobStore) => store.write('a/b', 'x')],
    ['list', (store: BlobStore) => store.list('a')],
    ['delete', (store: BlobStore) => store.delete('a/b')],
  ])('%s on a store that never answers rejects with storage_timeout', async (operation, call) => {
    const error = await call(new DeadlineBlobStore(stuck, 20)).catch((caught: unknown) => caught);
    expect(isStorageTimeout(error)).toBe(true);
    expect((error as Error).message).toMatch(
      new RegExp(`^${operation === 'readWithInfo' ? 'read' : operation} .* on /proc/stuck did not finish within 20 ms$`),
    );
  });

  it('passes results and errors of a store that answers through unchanged', async () => {
    const store = new DeadlineBlobStore(new MemoryBlobStore(), 1000);
    await store.write('m/x.json', '{}');
    expect((await store.read('m/x.json')).toString()).toBe('{}');
    await expect(store.read('m/missing')).rejects.toMatchObject({ code: 'blob_not_found' });
    expect(store.location).toBe(new MemoryBlobStore().location);
  });
});
