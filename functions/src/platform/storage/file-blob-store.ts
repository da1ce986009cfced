/**
 * FileBlobStore: a local folder is the bucket. This is the default store, not a test double.
 *
 * - A key maps to the file `root/part/part/...`.
 * - The generation is the sha256 of the content, so it changes whenever the content does.
 * - Every write goes to a temporary file in the key's folder and is renamed into place, so readers see
 *   the old content or the new, never a mix.
 * - Writes and deletes hold a per-key lock file, created with O_EXCL, while they check the generation
 *   and rename; that makes compare-and-swap safe between concurrent writers in one process or many.
 *   A lock older than `staleLockMs` was left by a crashed writer and is removed.
 * - Temporary and lock files are named `.blobstore-*`; listings skip them and such keys are refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { assertValidKey, BlobNotFoundError, PreconditionFailedError, type BlobInfo, type BlobStore, type WriteOptions } from './blob-store';

export interface FileBlobStoreOptions {
  /** A lock file older than this was left by a crashed writer and is removed. Default 30 s. */
  staleLockMs?: number;
  /** How long a write waits for another writer's lock before failing. Default 60 s. */
  lockTimeoutMs?: number;
}

const INTERNAL_PREFIX = '.blobstore-';
const LOCK_PREFIX = `${INTERNAL_PREFIX}lock-`;
const TEMP_PREFIX = `${INTERNAL_PREFIX}tmp-`;
const GENERATION_CACHE_LIMIT = 10_000;

/**
 * `mkdir -p`, one level at a time. Node's own `mkdir(…, { recursive: true })` never returns on a
 * file system that answers ENOENT for a folder it has just refused to create (under /proc it spins
 * a thread-pool thread at full CPU, for ever): here every level is tried once and an error is final.
 */
export async function makeFolders(folder: string): Promise<void> {
  const missing: string[] = [];
  let current = path.resolve(folder);
  for (;;) {
    const found = await stat(current).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    });
    if (found !== null) {
      if (found.isDirectory()) break;
      throw Object.assign(new Error(`cannot create a folder under ${current}: it is a file`), { code: 'ENOTDIR' });
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    missing.push(current);
    current = parent;
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Where FileBlobStore keeps the lock file for `key` under `root` (exported for tooling and tests). */
export function lockFilePath(root: string, key: string): string {
  const file = keyToPath(path.resolve(root), key);
  const digest = createHash('sha256').update(path.basename(file)).digest('hex').slice(0, 32);
  return path.join(path.dirname(file), `${LOCK_PREFIX}${digest}`);
}

export class FileBlobStore implements BlobStore {
  readonly location: string;
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;
  /**
   * sha256 of files already hashed for stat and list, keyed by path and the stat fields a rewrite
   * changes. The check of a conditional write never uses it: it always hashes the current file.
   */
  private readonly generations = new Map<string, string>();

  constructor(root: string, options: FileBlobStoreOptions = {}) {
    if (typeof root !== 'string' || root.length === 0) {
      throw new TypeError('FileBlobStore root must be a non-empty folder path');
    }
    this.location = path.resolve(root);
    this.staleLockMs = positive('staleLockMs', options.staleLockMs ?? 30_000);
    this.lockTimeoutMs = positive('lockTimeoutMs', options.lockTimeoutMs ?? 60_000);
  }

  async read(key: string): Promise<Buffer> {
    return (await this.readWithInfo(key)).data;
  }

  async readWithInfo(key: string): Promise<{ data: Buffer; info: BlobInfo }> {
    const file = this.pathOf(key);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      if (isMissing(error)) throw new BlobNotFoundError(this.location, key, { cause: error });
      throw error;
    }
    return { data, info: { key, generation: sha256(data), size: data.length } };
  }

  async stat(key: string): Promise<BlobInfo | null> {
    return this.infoOf(key, this.pathOf(key));
  }

  async write(key: string, data: Buffer | string, options: WriteOptions = {}): Promise<BlobInfo> {
    const file = this.pathOf(key);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await makeFolders(path.dirname(file));
    const temp = path.join(path.dirname(file), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await this.withLock(key, async () => {
        const expected = options.ifGenerationMatch;
        if (expected !== undefined) {
          const current = await hashOrNull(file);
          const holds = expected === '0' ? current === null : current === expected;
          if (!holds) throw new PreconditionFailedError(this.location, key, expected);
        }
        await rename(temp, file);
      });
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return { key, generation: sha256(bytes), size: bytes.length };
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startKey = slash < 0 ? '' : prefix.slice(0, slash);
    const found: Array<{ key: string; file: string }> = [];
    await walk(startKey.length === 0 ? this.location : this.pathOf(startKey), startKey, found);
    const infos: BlobInfo[] = [];
    for (const { key, file } of found.filter((entry) => entry.key.startsWith(prefix))) {
      const info = await this.infoOf(key, file);
      if (info !== null) infos.push(info);
    }
    return infos.sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Deleting a blob that does not exist is not an error, so a retried delete succeeds. */
  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    if (!(await exists(file))) return;
    await this.withLock(key, async () => {
      try {
        await unlink(file);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    });
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key.split('/').some((part) => part.startsWith(INTERNAL_PREFIX))) {
      throw new TypeError(`invalid blob key ${JSON.stringify(key)}: names starting with "${INTERNAL_PREFIX}" are reserved`);
    }
    return keyToPath(this.location, key);
  }

  private async infoOf(key: string, file: string): Promise<BlobInfo | null> {
    let before: BigIntStats;
    try {
      before = await stat(file, { bigint: true });
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    if (!before.isFile()) return null;
    const cacheKey = `${file}\0${before.dev}:${before.ino}:${before.size}:${before.mtimeNs}:${before.ctimeNs}`;
    let generation = this.generations.get(cacheKey);
    let size = Number(before.size);
    if (generation === undefined) {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
      generation = sha256(data);
      size = data.length;
      if (this.generations.size >= GENERATION_CACHE_LIMIT) this.generations.clear();
      this.generations.set(cacheKey, generation);
    }
    return { key, generation, size };
  }

  /** Runs `action` while holding the key's lock file, waiting for other writers and clearing stale locks. */
  private async withLock<T>(key: string, action: () => Promise<T>): Promise<T> {
    const lock = lockFilePath(this.location, key);
    const deadline = Date.now() + this.lockTimeoutMs;
    let delayMs = 2;
    for (;;) {
      let handle;
      try {
        handle = await open(lock, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (await this.removeIfStale(lock)) continue;
        if (Date.now() >= deadline) {
          throw new Error(
            `timed out after ${this.lockTimeoutMs} ms waiting for the lock ${lock} on ${this.location}/${key}; ` +
              `another writer holds it, or a crashed one left it (it is removed once older than ${this.staleLockMs} ms)`,
            { cause: error },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs * (0.5 + Math.random())));
        delayMs = Math.min(delayMs * 2, 100);
        continue;
      }
      const owned = await handle.stat({ bigint: true });
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        return await action();
      } finally {
        await releaseLock(lock, owned);
      }
    }
  }

  /**
   * Removes `lock` if it is older than `staleLockMs`. It is first renamed aside, an atomic step, and
   * only deleted if it is still the same stale file; a fresh lock taken in between is put back.
   */
  private async removeIfStale(lock: string): Promise<boolean> {
    let seen: BigIntStats;
    try {
      seen = await lstat(lock, { bigint: true });
    } catch (error) {
      if (isMissing(error)) return true;
      throw error;
    }
    if (Date.now() - Number(seen.mtimeMs) < this.staleLockMs) return false;
    const aside = `${lock}-stale-${randomBytes(8).toString('hex')}`;
    try {
      await rename(lock, aside);
    } catch (error) {
      if (isMissing(error)) return true;
      throw error;
    }
    const moved = await lstat(aside, { bigint: true });
    if (moved.ino !== seen.ino || moved.dev !== seen.dev) {
      await link(aside, lock).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
    return true;
  }
}

async function releaseLock(lock: string, owned: BigIntStats): Promise<void> {
  try {
    const current = await lstat(lock, { bigint: true });
    if (current.ino === owned.ino && current.dev === owned.dev) await unlink(lock);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

/** Collects the files under `dir` (whose key is `dirKey`), skipping the store's own temp and lock files. */
async function walk(dir: string, dirKey: string, found: Array<{ key: string; file: string }>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(INTERNAL_PREFIX)) continue;
    const key = dirKey.length === 0 ? entry.name : `${dirKey}/${entry.name}`;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(file, key, found);
    else if (entry.isFile() || entry.isSymbolicLink()) found.push({ key, file });
  }
}

async function hashOrNull(file: string): Promise<string | null> {
  try {
    return sha256(await readFile(file));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

function keyToPath(root: string, key: string): string {
  return path.join(root, ...key.split('/'));
}

/** A list prefix is '' or a key, optionally followed by '/'. */
function assertValidPrefix(prefix: string): void {
  if (prefix.length > 0) assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** ENOENT, and EISDIR/ENOTDIR: a key that names a folder, or passes through a file, is not a blob. */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new TypeError(`FileBlobStore option ${name} must be a positive number of milliseconds; got ${value}`);
  }
  return value;
}
