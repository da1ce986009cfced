/**
 * One conformance suite for every BlobStore adapter: FileBlobStore on a temporary folder, and
 * GcsBlobStore through the real @google-cloud/storage client against a local server speaking the
 * Cloud Storage JSON API. Adapter-specific behaviour follows in its own blocks.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BlobNotFoundError, PreconditionFailedError, type BlobInfo, type BlobStore } from '../../src/platform/storage/blob-store';
import { FileBlobStore, lockFilePath } from '../../src/platform/storage/file-blob-store';
import { GcsBlobStore } from '../../src/platform/storage/gcs-blob-store';
import { startGcsServer, type GcsServer } from '../support/gcs-server';

const BUCKET = 'conformance-bucket';
const WRITERS = 8;

let server: GcsServer;
let tempRoot: string;
let storeCount = 0;

beforeAll(async () => {
  server = await startGcsServer();
  tempRoot = await mkdtemp(path.join(tmpdir(), 'blob-store-test-'));
});

afterAll(async () => {
  await server.close();
  await rm(tempRoot, { recursive: true, force: true });
});

async function newFolder(): Promise<string> {
  return mkdtemp(path.join(tempRoot, 'store-'));
}

/** A GcsBlobStore on a fresh prefix; a page size of 2 makes every listing of 3+ blobs paginate. */
function newGcsStore(listPageSize = 2): { store: GcsBlobStore; prefix: string } {
  storeCount += 1;
  const prefix = `run-${storeCount}/root`;
  return { store: new GcsBlobStore({ bucket: BUCKET, prefix, apiEndpoint: server.url, listPageSize }), prefix };
}

const adapters: Array<{ name: string; open: () => Promise<BlobStore> }> = [
  { name: 'FileBlobStore', open: async () => new FileBlobStore(await newFolder()) },
  { name: 'GcsBlobStore', open: () => Promise.resolve(newGcsStore().store) },
];

async function settle<T>(promises: Array<Promise<T>>): Promise<{ fulfilled: T[]; rejected: unknown[] }> {
  const results = await Promise.allSettled(promises);
  return {
    fulfilled: results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : [])),
    rejected: results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : [])),
  };
}

describe.each(adapters)('$name conformance', ({ open }) => {
  let store: BlobStore;

  beforeEach(async () => {
    store = await open();
  });

  it('reads back exactly the bytes written, with the info write returned', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const written = await store.write('models/v1/model.onnx', bytes);

    expect(written).toEqual({ key: 'models/v1/model.onnx', generation: expect.any(String), size: 256 });
    expect(written.generation.length).toBeGreaterThan(0);
    expect(await store.read('models/v1/model.onnx')).toEqual(bytes);
    expect(await store.readWithInfo('models/v1/model.onnx')).toEqual({ data: bytes, info: written });
    expect(await store.stat('models/v1/model.onnx')).toEqual(written);
  });

  it('stores strings as UTF-8 and keeps empty blobs', async () => {
    await store.write('text.txt', 'héllo ✓');
    await store.write('empty', Buffer.alloc(0));

    expect((await store.read('text.txt')).toString('utf8')).toBe('héllo ✓');
    expect(await store.stat('text.txt')).toMatchObject({ size: Buffer.byteLength('héllo ✓') });
    expect(await store.read('empty')).toEqual(Buffer.alloc(0));
    expect(await store.stat('empty')).toMatchObject({ key: 'empty', size: 0 });
  });

  it('gives an overwrite a new generation and the new content', async () => {
    const first = await store.write('state.json', '{"n":1}');
    const second = await store.write('state.json', '{"n":22}');

    expect(second.generation).not.toBe(first.generation);
    expect(second.size).toBe(8);
    expect((await store.read('state.json')).toString()).toBe('{"n":22}');
    expect(await store.stat('state.json')).toEqual(second);
  });

  it('reports a missing blob as BlobNotFoundError from read and readWithInfo, and null from stat', async () => {
    await store.write('present', 'x');

    for (const attempt of [() => store.read('absent/blob'), () => store.readWithInfo('absent/blob')]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BlobNotFoundError);
      expect(error).toMatchObject({ code: 'blob_not_found', key: 'absent/blob', location: store.location });
    }
    expect(await store.stat('absent/blob')).toBeNull();
    // A "folder" that only exists because a blob lives under it is not a blob either.
    await store.write('dir/inner', 'y');
    await expect(store.read('dir')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat('dir')).toBeNull();
  });

  it('lists recursively by prefix, sorted by key, with each blob’s current info', async () => {
    const keys = ['b.txt', 'a/2', 'a/1', 'a/sub/x', 'ab', 'c/d/e/f'];
    for (const key of keys) await store.write(key, `content of ${key}`);

    const all = await store.list('');
    expect(all.map((info) => info.key)).toEqual(['a/1', 'a/2', 'a/sub/x', 'ab', 'b.txt', 'c/d/e/f']);
    for (const info of all) expect(info).toEqual(await store.stat(info.key));
    expect(all.find((info) => info.key === 'a/sub/x')?.size).toBe('content of a/sub/x'.length);

    expect((await store.list('a/')).map((info) => info.key)).toEqual(['a/1', 'a/2', 'a/sub/x']);
    expect((await store.list('a')).map((info) => info.key)).toEqual(['a/1', 'a/2', 'a/sub/x', 'ab']);
    expect((await store.list('a/sub')).map((info) => info.key)).toEqual(['a/sub/x']);
    expect((await store.list('c/d/')).map((info) => info.key)).toEqual(['c/d/e/f']);
    expect(await store.list('zzz')).toEqual([]);
    expect(await store.list('b.txt/')).toEqual([]);
  });

  it('lists more blobs than fit in one page', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `page/item-${i}`);
    for (const key of [...keys].reverse()) await store.write(key, key);

    expect((await store.list('page/')).map((info) => info.key)).toEqual(keys);
  });

  it('deletes blobs, and deleting a missing blob is not an error', async () => {
    await store.write('gone/soon', 'bye');
    await store.write('gone/stays', 'hi');

    await store.delete('gone/soon');

    await expect(store.read('gone/soon')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.stat('gone/soon')).toBeNull();
    expect((await store.list('gone/')).map((info) => info.key)).toEqual(['gone/stays']);
    await expect(store.delete('gone/soon')).resolves.toBeUndefined();
    await expect(store.delete('never/existed')).resolves.toBeUndefined();
  });

  it("creates only when absent with ifGenerationMatch '0'", async () => {
    const created = await store.write('lease', 'first', { ifGenerationMatch: '0' });
    expect(await store.stat('lease')).toEqual(created);

    const error = await store.write('lease', 'second', { ifGenerationMatch: '0' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ code: 'precondition_failed', key: 'lease', expected: '0', location: store.location });
    expect((await store.read('lease')).toString()).toBe('first');

    await store.delete('lease');
    await store.write('lease', 'third', { ifGenerationMatch: '0' });
    expect((await store.read('lease')).toString()).toBe('third');
  });

  it('swaps only when the generation still matches', async () => {
    const v1 = await store.write('counter', '1');
    const v2 = await store.write('counter', '2', { ifGenerationMatch: v1.generation });
    expect(v2.generation).not.toBe(v1.generation);
    expect(await store.stat('counter')).toEqual(v2);

    for (const stale of [v1.generation, 'not-a-generation', '12345']) {
      const error = await store.write('counter', 'lost', { ifGenerationMatch: stale }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect(error).toMatchObject({ code: 'precondition_failed', key: 'counter', expected: stale });
    }
    expect((await store.read('counter')).toString()).toBe('2');

    await expect(store.write('missing', 'x', { ifGenerationMatch: v2.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await store.stat('missing')).toBeNull();
  });

  it('rejects keys that are not plain relative paths', async () => {
    for (const key of ['', '/abs', '../escape', 'a/../b', 'a//b', 'a/./b', 'back\\slash', 'trailing/']) {
      await expect(store.read(key)).rejects.toBeInstanceOf(TypeError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(TypeError);
      await expect(store.write(key, 'x')).rejects.toBeInstanceOf(TypeError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(TypeError);
    }
    await expect(store.list('../')).rejects.toBeInstanceOf(TypeError);
    expect(await store.list('')).toEqual([]);
  });

  it(`lets exactly one of ${WRITERS} concurrent compare-and-swap writers win`, async () => {
    const base = await store.write('race/cas', 'base');

    const { fulfilled, rejected } = await settle(
      Array.from({ length: WRITERS }, (_, i) => store.write('race/cas', `writer-${i}`, { ifGenerationMatch: base.generation })),
    );

    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(WRITERS - 1);
    for (const error of rejected) expect(error).toBeInstanceOf(PreconditionFailedError);
    const winner = fulfilled[0] as BlobInfo;
    const { data, info } = await store.readWithInfo('race/cas');
    expect(info).toEqual(winner);
    expect(data.toString()).toMatch(/^writer-\d$/);
    expect(info.size).toBe(data.length);
  });

  it(`lets exactly one of ${WRITERS} concurrent create-only writers win`, async () => {
    const { fulfilled, rejected } = await settle(
      Array.from({ length: WRITERS }, (_, i) => store.write('race/create', `creator-${i}`, { ifGenerationMatch: '0' })),
    );

    expect(fulfilled).toHaveLength(1);
    for (const error of rejected) expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(await store.stat('race/create')).toEqual(fulfilled[0]);
  });

  it(`loses no update when ${WRITERS} writers increment a counter with read-modify-write`, async () => {
    await store.write('race/counter', '0');
    const increment = async (): Promise<number> => {
      for (let attempt = 1; ; attempt += 1) {
        const { data, info } = await store.readWithInfo('race/counter');
        try {
          await store.write('race/counter', String(Number(data.toString()) + 1), { ifGenerationMatch: info.generation });
          return attempt;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
        }
      }
    };

    const attempts = await Promise.all(Array.from({ length: WRITERS }, increment));

    expect((await store.read('race/counter')).toString()).toBe(String(WRITERS));
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });
});

describe('FileBlobStore', () => {
  async function internalFiles(root: string): Promise<string[]> {
    const entries = await readdir(root, { recursive: true });
    return entries.filter((entry) => path.basename(entry).startsWith('.blobstore-'));
  }

  // Node's recursive mkdir never returns there and spins a thread-pool thread; the store must fail instead.
  (fs.existsSync('/proc/self') ? it : it.skip)('fails a write under /proc at once, with the reason, instead of spinning', async () => {
    const store = new FileBlobStore('/proc/telemetry');
    await expect(store.write('general/dt=2024-05-21/hour=10/a.ndjson', 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates the missing folders of a key, and refuses a key whose folder is a file', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root);
    await store.write('a/b/c/d.txt', 'x');
    expect((await readFile(path.join(root, 'a', 'b', 'c', 'd.txt'))).toString()).toBe('x');
    await expect(store.write('a/b/c/d.txt/e.txt', 'y')).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('keeps each blob as a plain file under the root, named by its key, with sha256 generations', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root);

    const info = await store.write('models/v1/model.onnx', 'weights');

    expect(store.location).toBe(path.resolve(root));
    expect(await readFile(path.join(root, 'models', 'v1', 'model.onnx'), 'utf8')).toBe('weights');
    expect(info.generation).toBe(createHash('sha256').update('weights').digest('hex'));
  });

  it('leaves no temporary or lock files behind, even after failed swaps', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root);
    await store.write('a/b', '1');
    await store.write('a/b', '2');
    await store.write('a/b', 'x', { ifGenerationMatch: '0' }).catch(() => undefined);
    await store.write('c', 'y');
    await store.delete('c');

    expect(await internalFiles(root)).toEqual([]);
    expect((await readdir(path.join(root, 'a'))).sort()).toEqual(['b']);
  });

  it('skips stray temporary and lock files when listing, and refuses keys with that reserved name', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root);
    await store.write('data/real', 'r');
    await writeFile(path.join(root, 'data', '.blobstore-tmp-0123456789abcdef'), 'half-written');
    await writeFile(lockFilePath(root, 'data/other'), '123');

    expect((await store.list('')).map((info) => info.key)).toEqual(['data/real']);
    await expect(store.write('data/.blobstore-tmp-x', 'x')).rejects.toBeInstanceOf(TypeError);
  });

  it('sees changes made to the files directly', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root);
    const before = await store.write('edited', 'original');
    expect(await store.stat('edited')).toEqual(before);

    await writeFile(path.join(root, 'edited'), 'edited by hand');

    expect(await store.stat('edited')).toEqual({
      key: 'edited',
      generation: createHash('sha256').update('edited by hand').digest('hex'),
      size: 'edited by hand'.length,
    });
    // Same size, different bytes: the swap still sees the change, because it always rehashes.
    await writeFile(path.join(root, 'edited'), 'EDITED BY HAND');
    const current = await store.readWithInfo('edited');
    await writeFile(path.join(root, 'edited'), 'edited by hand');
    await expect(store.write('edited', 'mine', { ifGenerationMatch: current.info.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await readFile(path.join(root, 'edited'), 'utf8')).toBe('edited by hand');
  });

  it('serialises conditional writers that use separate instances on the same folder, as separate processes do', async () => {
    const root = await newFolder();
    const stores = [new FileBlobStore(root), new FileBlobStore(root)];
    const base = await (stores[0] as FileBlobStore).write('shared', 'base');

    const { fulfilled, rejected } = await settle(
      Array.from({ length: WRITERS }, (_, i) => (stores[i % 2] as FileBlobStore).write('shared', `writer-${i}`, { ifGenerationMatch: base.generation })),
    );

    expect(fulfilled).toHaveLength(1);
    for (const error of rejected) expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(await (stores[1] as FileBlobStore).stat('shared')).toEqual(fulfilled[0]);
  });

  it('removes a lock left by a crashed writer once it is older than staleLockMs', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root, { lockTimeoutMs: 5_000 });
    const base = await store.write('locked', 'before');
    const lock = lockFilePath(root, 'locked');
    await writeFile(lock, '99999\n');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);

    const after = await store.write('locked', 'after', { ifGenerationMatch: base.generation });

    expect(await store.readWithInfo('locked')).toEqual({ data: Buffer.from('after'), info: after });
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await internalFiles(root)).toEqual([]);
  });

  it('waits for a live lock instead of breaking it, and fails with a message naming the lock', async () => {
    const root = await newFolder();
    const store = new FileBlobStore(root, { lockTimeoutMs: 50 });
    const base = await store.write('busy', 'before');
    const lock = lockFilePath(root, 'busy');
    await writeFile(lock, '12345\n');

    const error = await store.write('busy', 'after', { ifGenerationMatch: base.generation }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`waiting for the lock ${lock}`);
    expect(await readFile(lock, 'utf8')).toBe('12345\n');
    expect((await store.read('busy')).toString()).toBe('before');
    await expect(store.delete('busy')).rejects.toThrow(/timed out/);
    expect(await internalFiles(root)).toEqual([path.relative(root, lock)]);

    await rm(lock);
    await store.write('busy', 'after', { ifGenerationMatch: base.generation });
    expect((await store.read('busy')).toString()).toBe('after');
  });

  it('treats a missing root as an empty store and creates folders on first write', async () => {
    const root = path.join(await newFolder(), 'not', 'yet');
    const store = new FileBlobStore(root);

    expect(await store.list('')).toEqual([]);
    expect(await store.stat('x')).toBeNull();
    await store.write('x', 'now');
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('rejects invalid options with a message naming the option', () => {
    expect(() => new FileBlobStore('')).toThrow(TypeError);
    expect(() => new FileBlobStore('/tmp/x', { staleLockMs: 0 })).toThrow(/staleLockMs/);
    expect(() => new FileBlobStore('/tmp/x', { lockTimeoutMs: Number.NaN })).toThrow(/lockTimeoutMs/);
  });
});

describe('GcsBlobStore', () => {
  const requestsSince = (start: number): Array<{ method: string; url: URL }> =>
    server.requests.slice(start).map(({ method, path: target }) => ({ method, url: new URL(target, server.url) }));

  it('names objects prefix/key in its bucket and reports gs://bucket/prefix as its location', async () => {
    const { store, prefix } = newGcsStore();

    await store.write('models/v1/model.onnx', 'weights');

    expect(store.location).toBe(`gs://${BUCKET}/${prefix}`);
    expect(server.get(BUCKET, `${prefix}/models/v1/model.onnx`)?.toString()).toBe('weights');
    expect(server.get(BUCKET, 'models/v1/model.onnx')).toBeUndefined();
  });

  it('uses single-request multipart uploads that carry ifGenerationMatch', async () => {
    const { store, prefix } = newGcsStore();
    const start = server.requests.length;

    const info = await store.write('x.json', '{}', { ifGenerationMatch: '0', contentType: 'application/json' });

    const uploads = requestsSince(start).filter(({ url }) => url.pathname.startsWith('/upload/'));
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.method).toBe('POST');
    expect(uploads[0]?.url.pathname).toBe(`/upload/storage/v1/b/${BUCKET}/o`);
    expect(Object.fromEntries(uploads[0]?.url.searchParams ?? [])).toMatchObject({
      uploadType: 'multipart',
      name: `${prefix}/x.json`,
      ifGenerationMatch: '0',
    });
    expect(info.generation).toMatch(/^\d+$/);
  });

  it('sees objects written by others, and a swap against an older generation fails', async () => {
    const { store, prefix } = newGcsStore();
    const mine = await store.write('shared', 'mine');

    server.put(BUCKET, `${prefix}/shared`, 'theirs');

    const now = await store.stat('shared');
    expect(now?.generation).not.toBe(mine.generation);
    expect(BigInt(now?.generation ?? '0')).toBeGreaterThan(BigInt(mine.generation));
    await expect(store.write('shared', 'again', { ifGenerationMatch: mine.generation })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(server.get(BUCKET, `${prefix}/shared`)?.toString()).toBe('theirs');
  });

  it('follows nextPageToken until the listing is complete, and sees nothing outside its prefix', async () => {
    const { store, prefix } = newGcsStore(2);
    for (let i = 0; i < 5; i += 1) server.put(BUCKET, `${prefix}/p/${i}`, String(i));
    server.put(BUCKET, `${prefix}x/p/outside`, 'sibling prefix');
    server.put(BUCKET, `${prefix}/p/folder/`, 'a folder placeholder is not a blob');
    const start = server.requests.length;

    const keys = (await store.list('p/')).map((info) => info.key);

    expect(keys).toEqual(['p/0', 'p/1', 'p/2', 'p/3', 'p/4']);
    const lists = requestsSince(start).filter(({ url }) => url.pathname === `/storage/v1/b/${BUCKET}/o`);
    expect(lists.map(({ url }) => url.searchParams.get('maxResults'))).toEqual(['2', '2', '2']);
    expect(lists[0]?.url.searchParams.get('pageToken')).toBeNull();
    expect(lists[1]?.url.searchParams.get('pageToken')).toEqual(expect.any(String));
    expect(lists[2]?.url.searchParams.get('pageToken')).toEqual(expect.any(String));
  });

  it('retries a transient 503 on reads and on conditional writes, also after an unconditional write', async () => {
    const { store } = newGcsStore();
    // With the client's default RetryConditional strategy, this unconditional simple upload would set
    // storage.retryOptions.autoRetry = false for the whole client and never restore it, so the read
    // below would fail on its first 503.
    const base = await store.write('flaky', 'v1');

    let start = server.requests.length;
    server.failNext(1, 503);
    expect((await store.read('flaky')).toString()).toBe('v1');
    expect(requestsSince(start).filter(({ url }) => url.searchParams.get('alt') === 'media')).toHaveLength(2);

    start = server.requests.length;
    server.failNext(1, 503);
    const next = await store.write('flaky', 'v2', { ifGenerationMatch: base.generation });
    expect(requestsSince(start).filter(({ method }) => method === 'POST')).toHaveLength(2);
    expect(await store.readWithInfo('flaky')).toEqual({ data: Buffer.from('v2'), info: next });
  });

  it('passes other errors through with their HTTP status, not as missing or conflicting blobs', async () => {
    const { store } = newGcsStore();
    await store.write('guarded', 'x');

    server.failNext(1, 403);
    const error = await store.read('guarded').catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(BlobNotFoundError);
    expect(error).toMatchObject({ code: 403 });

    server.failNext(1, 403);
    await expect(store.stat('guarded')).rejects.toMatchObject({ code: 403 });
  });

  it('validates its options', () => {
    expect(() => new GcsBlobStore({ bucket: '', prefix: '' })).toThrow(/bucket/);
    expect(() => new GcsBlobStore({ bucket: 'b', prefix: '../up', apiEndpoint: server.url })).toThrow(TypeError);
    expect(() => new GcsBlobStore({ bucket: 'b', prefix: '', apiEndpoint: server.url, listPageSize: 0 })).toThrow(/listPageSize/);
    expect(new GcsBlobStore({ bucket: 'b', prefix: 'p/', apiEndpoint: server.url }).location).toBe('gs://b/p');
    expect(new GcsBlobStore({ bucket: 'b', prefix: '', apiEndpoint: server.url }).location).toBe('gs://b');
  });
});
