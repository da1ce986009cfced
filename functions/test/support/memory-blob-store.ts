/**
 * MemoryBlobStore: a complete BlobStore held in a Map, for tests. Generations are increasing
 * integers (as strings) that change on every write; `ifGenerationMatch` behaves as on GCS ('0' =
 * only if absent); keys are validated like the real adapters; deleting a missing blob is a no-op
 * (as FileBlobStore and GcsBlobStore do). Stored bytes are copies, so callers cannot change them.
 *
 * Fault injection:
 * - `failNextWrites(n)`: the next n writes reject without storing anything.
 * - `failNextWrites(n, { afterStoring: true })`: they store the data, then reject, like a request
 *   whose response was lost (the ambiguous failure retries must survive).
 * - `failNextReads(n)` and `failNextLists(n)`: reject the next n reads / lists.
 */
import {
  assertValidKey,
  BlobNotFoundError,
  PreconditionFailedError,
  type BlobInfo,
  type BlobStore,
  type WriteOptions,
} from '../../src/platform/storage/blob-store';

interface Entry {
  data: Buffer;
  generation: string;
  contentType: string | undefined;
}

export interface WriteFailureOptions {
  /** Store the blob, then reject anyway. */
  afterStoring?: boolean;
  error?: () => Error;
}

export class MemoryBlobStore implements BlobStore {
  readonly location: string;
  /** Every successful or attempted write, in order (key and whether it was made to fail). */
  readonly writeLog: Array<{ key: string; failed: boolean }> = [];
  private readonly blobs = new Map<string, Entry>();
  private nextGeneration = 1;
  private writeFailures: Array<Required<Pick<WriteFailureOptions, 'afterStoring'>> & { error: () => Error }> = [];
  private readFailures = 0;
  private listFailures = 0;

  constructor(name = 'test') {
    this.location = `memory://${name}`;
  }

  failNextWrites(count: number, options: WriteFailureOptions = {}): void {
    for (let i = 0; i < count; i += 1) {
      this.writeFailures.push({
        afterStoring: options.afterStoring ?? false,
        error: options.error ?? (() => Object.assign(new Error('injected write failure'), { code: 503 })),
      });
    }
  }

  failNextReads(count: number): void {
    this.readFailures += count;
  }

  failNextLists(count: number): void {
    this.listFailures += count;
  }

  /** Keys currently stored, sorted. */
  keys(): string[] {
    return [...this.blobs.keys()].sort();
  }

  async read(key: string): Promise<Buffer> {
    return (await this.readWithInfo(key)).data;
  }

  async readWithInfo(key: string): Promise<{ data: Buffer; info: BlobInfo }> {
    assertValidKey(key);
    await Promise.resolve();
    if (this.readFailures > 0) {
      this.readFailures -= 1;
      throw new Error(`injected read failure for ${key}`);
    }
    const entry = this.blobs.get(key);
    if (entry === undefined) throw new BlobNotFoundError(this.location, key);
    return { data: Buffer.from(entry.data), info: this.infoOf(key, entry) };
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertValidKey(key);
    await Promise.resolve();
    const entry = this.blobs.get(key);
    return entry === undefined ? null : this.infoOf(key, entry);
  }

  async write(key: string, data: Buffer | string, options: WriteOptions = {}): Promise<BlobInfo> {
    assertValidKey(key);
    await Promise.resolve();
    const failure = this.writeFailures.shift();
    if (failure !== undefined && !failure.afterStoring) {
      this.writeLog.push({ key, failed: true });
      throw failure.error();
    }
    const current = this.blobs.get(key);
    const expected = options.ifGenerationMatch;
    if (expected !== undefined) {
      const actual = current?.generation ?? '0';
      if (actual !== expected) {
        this.writeLog.push({ key, failed: true });
        throw new PreconditionFailedError(this.location, key, expected);
      }
    }
    const entry: Entry = {
      data: Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
      generation: String(this.nextGeneration),
      contentType: options.contentType,
    };
    this.nextGeneration += 1;
    this.blobs.set(key, entry);
    if (failure !== undefined) {
      this.writeLog.push({ key, failed: true });
      throw failure.error();
    }
    this.writeLog.push({ key, failed: false });
    return this.infoOf(key, entry);
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    if (prefix.length > 0) assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
    await Promise.resolve();
    if (this.listFailures > 0) {
      this.listFailures -= 1;
      throw new Error(`injected list failure for ${prefix}`);
    }
    return this.keys()
      .filter((key) => key.startsWith(prefix))
      .map((key) => this.infoOf(key, this.blobs.get(key) as Entry));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await Promise.resolve();
    this.blobs.delete(key);
  }

  /** Content type a blob was written with (not part of BlobInfo). */
  contentTypeOf(key: string): string | undefined {
    return this.blobs.get(key)?.contentType;
  }

  private infoOf(key: string, entry: Entry): BlobInfo {
    return { key, generation: entry.generation, size: entry.data.length };
  }
}
