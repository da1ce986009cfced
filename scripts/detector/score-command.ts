/**
 * `detector score`: scores a folder, a file list or a gs:// prefix of images and writes one line
 * per image (JSON Lines or CSV), through the same scoring core as the functions (`--local`, the
 * default: `scoreImages` on the bundled or configured model store) or against a deployment
 * (`--url`: POST /batch, 20 images a request).
 *
 * - Sharding (`--shard i/n`): an image belongs to shard sha256(id) mod n, so every image lands in
 *   exactly one shard whatever order the listing comes in.
 * - Resuming: ids already in the output file are skipped; new lines are appended.
 * - Retries: 429 and 503 (and connection failures) are retried up to `retries` times, waiting what
 *   Retry-After says (else 1, 2, 4 … s).
 * - Every image gets a line: the verdict (ai_generated, real or uncertain), what decided it and
 *   why, the pixel prediction and probability beside it; or the image's error code and message.
 *   The summary counts verdicts, as /batch answers them, not pixel predictions.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppError, type BlobStore, isBlobNotFound, type Logger, openBlobStore, storeOptionsFrom } from '../../functions/src/platform';
import { C2paWasmReader, createDecoder, createOnnxEngine, type ImageLimits, ModelRegistry, scoreImages } from '../../functions/src/detector';
import { type Config, toVerdict, type Verdict } from '../../functions/src/serving';
import { Progress, type ProgressStream } from '../../pipeline/src/progress';
import { IMAGE_EXTENSIONS } from '../../pipeline/src/shared-constants';

export interface SourceItem {
  /** The image's path (relative to the folder), list entry or gs:// URI: its key in the output. */
  id: string;
  read(): Promise<Buffer>;
}

export interface ResultLine {
  id: string;
  /** The answer of the decision policy, as /predict and /batch give it. */
  verdict?: Verdict['verdict'];
  decided_by?: Verdict['decided_by'];
  verdict_reasons?: string[];
  /** The pixel score alone against the threshold. */
  prediction?: 'ai_generated' | 'real';
  probability?: number;
  confidence?: string;
  model?: string;
  model_version?: string;
  error_code?: string;
  error_message?: string;
}

export interface Shard {
  index: number;
  count: number;
}

/** Shard of an id: stable under listing order, and every id in exactly one shard. */
export function shardOf(id: string, count: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % count;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index >= count) throw new RangeError(`--shard must be i/n with 0 ≤ i < n, like 0/4; got ${JSON.stringify(text)}`);
  return { index, count };
}

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase()) || path.extname(name).toLowerCase() === '.avif';

/** Lists a folder (recursively), a text file of paths/URIs (one per line) or a gs:// prefix, sorted by id. */
export async function listSources(spec: string, openStore: (uri: string) => BlobStore): Promise<SourceItem[]> {
  if (/^gs:\/\//i.test(spec)) {
    const store = openStore(spec);
    const blobs = await store.list('');
    const base = spec.replace(/\/+$/, '');
    return blobs.filter((blob) => isImage(blob.key)).map((blob) => ({ id: `${base}/${blob.key}`, read: () => store.read(blob.key) }));
  }
  const stat = fs.statSync(spec, { throwIfNoEntry: false });
  if (stat === undefined)
    throw new RangeError(`${spec} does not exist; give a folder, a file with one image path or gs:// URI per line, or gs://bucket/prefix`);
  if (stat.isDirectory()) {
    const found: SourceItem[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile() && isImage(entry.name))
          found.push({ id: path.relative(spec, full).split(path.sep).join('/'), read: () => fs.promises.readFile(full) });
      }
    };
    walk(spec);
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  const listDir = path.dirname(spec);
  const stores = new Map<string, BlobStore>();
  return fs
    .readFileSync(spec, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((entry): SourceItem => {
      const gcs = /^(gs:\/\/[^/]+)\/(.+)$/i.exec(entry);
      if (gcs !== null) {
        const bucket = gcs[1]!;
        const store = stores.get(bucket) ?? openStore(bucket);
        stores.set(bucket, store);
        return { id: entry, read: () => store.read(gcs[2]!) };
      }
      return { id: entry, read: () => fs.promises.readFile(path.resolve(listDir, entry)) };
    });
}

export type OutputFormat = 'jsonl' | 'csv';

export function formatOf(file: string): OutputFormat {
  if (file.endsWith('.jsonl') || file.endsWith('.ndjson')) return 'jsonl';
  if (file.endsWith('.csv')) return 'csv';
  throw new RangeError(`--out must end in .jsonl or .csv; got ${JSON.stringify(file)}`);
}

const CSV_COLUMNS: Array<keyof ResultLine> = [
  'id',
  'verdict',
  'decided_by',
  'verdict_reasons',
  'prediction',
  'probability',
  'confidence',
  'model',
  'model_version',
  'error_code',
  'error_message',
];

/** A CSV field; a list (verdict_reasons) is one field, its entries joined by "; ". */
function csvField(value: unknown): string {
  const text = value === undefined ? '' : Array.isArray(value) ? value.join('; ') : String(value as string | number);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function parseCsvFirstField(line: string): string {
  if (!line.startsWith('"')) return line.split(',')[0] ?? '';
  let out = '';
  for (let i = 1; i < line.length; i += 1) {
    if (line[i] === '"') {
      if (line[i + 1] === '"') {
        out += '"';
        i += 1;
      } else break;
    } else out += line[i];
  }
  return out;
}

/** Ids already written to `file` (a run to resume); an absent file has none. */
export function doneIds(file: string, format: OutputFormat): Set<string> {
  const done = new Set<string>();
  if (!fs.existsSync(file)) return done;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '' || (format === 'csv' && index === 0)) continue;
    if (format === 'jsonl') {
      try {
        const id = (JSON.parse(line) as { id?: unknown }).id;
        if (typeof id === 'string') done.add(id);
      } catch {
        // A line cut short by an interrupted run: that image is scored again.
      }
    } else done.add(parseCsvFirstField(line));
  }
  return done;
}

export class ResultWriter {
  private readonly fd: number;
  constructor(
    file: string,
    private readonly format: OutputFormat,
  ) {
    const fresh = !fs.existsSync(file) || fs.statSync(file).size === 0;
    this.fd = fs.openSync(file, 'a');
    // An interrupted run may have left half a line: start on a new one.
    if (!fresh && !fs.readFileSync(file, 'utf8').endsWith('\n')) fs.writeSync(this.fd, '\n');
    if (fresh && format === 'csv') fs.writeSync(this.fd, `${CSV_COLUMNS.join(',')}\n`);
  }

  write(line: ResultLine): void {
    const text = this.format === 'jsonl' ? JSON.stringify(line) : CSV_COLUMNS.map((column) => csvField(line[column])).join(',');
    fs.writeSync(this.fd, `${text}\n`);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A verdict as /predict and /batch answer it (or the in-process equivalent), as one output line. */
function lineOf(
  id: string,
  verdict: Partial<Pick<Verdict, 'verdict' | 'decided_by' | 'verdict_reasons' | 'prediction' | 'probability' | 'confidence' | 'model'>>,
): ResultLine {
  return {
    id,
    ...(verdict.verdict === undefined ? {} : { verdict: verdict.verdict }),
    ...(verdict.decided_by === undefined ? {} : { decided_by: verdict.decided_by }),
    ...(verdict.verdict_reasons === undefined ? {} : { verdict_reasons: verdict.verdict_reasons }),
    ...(verdict.prediction === undefined ? {} : { prediction: verdict.prediction }),
    ...(verdict.probability === undefined ? {} : { probability: verdict.probability }),
    ...(verdict.confidence === undefined ? {} : { confidence: verdict.confidence }),
    ...(verdict.model?.name === undefined ? {} : { model: verdict.model.name }),
    ...(verdict.model?.version === undefined ? {} : { model_version: verdict.model.version }),
  };
}

/** Scores a group of images; one ResultLine per item, in order. */
export type Scorer = (items: readonly SourceItem[]) => Promise<ResultLine[]>;

async function readAll(items: readonly SourceItem[]): Promise<Array<Buffer | { code: string; message: string }>> {
  return Promise.all(
    items.map((item) => item.read().catch((error: unknown) => ({ code: 'unreadable', message: error instanceof Error ? error.message : String(error) }))),
  );
}

/** In-process scoring through the functions' own core, on `config`'s model store and limits. */
export function localScorer(config: Readonly<Config>, modelName: string, logger: Logger, openStore: (uri: string) => BlobStore): Scorer {
  const registry = new ModelRegistry({
    store: openStore(config.modelStore),
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: config.ortIntraOpThreads }),
    refreshMs: 3_600_000,
    logger,
    defaultModel: config.defaultModel,
  });
  const decoder = createDecoder(config);
  // Evidence (C2PA, XMP, generator chunks) is read as /batch reads it, so the verdicts are the same.
  const manifests = new C2paWasmReader();
  const limits: ImageLimits = { maxImageBytes: config.maxImageBytes, maxPixels: config.maxPixels, minImageSide: config.minImageSide };
  return async (items) => {
    const model = await registry.get(modelName);
    const bytes = await readAll(items);
    const scored = await scoreImages(
      model,
      bytes.map((entry) => (Buffer.isBuffer(entry) ? { kind: 'bytes' as const, bytes: entry } : new AppError(400, entry.code, entry.message))),
      { decoder, fetcher: null, limits, manifests },
    );
    return scored.items.map((result, index): ResultLine => {
      const id = items[index]!.id;
      if (!result.ok) return { id, error_code: result.error.code, error_message: result.error.message };
      return lineOf(id, toVerdict(model, result.prepared, result.probability, scored.inferenceMs, scored.decodeMs + scored.inferenceMs, result));
    });
  };
}

export interface RemoteOptions {
  url: string;
  apiKey: string | null;
  model: string | null;
  retries: number;
  /** Waits between attempts; tests pass a fast one. */
  sleep?: (ms: number) => Promise<void>;
}

/** Scoring against a deployment's /batch, with retries on 429 and 503 that honour Retry-After. */
export function remoteScorer(options: RemoteOptions): Scorer {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const endpoint = `${options.url.replace(/\/+$/, '')}/batch${options.model === null ? '' : `?model=${encodeURIComponent(options.model)}`}`;
  return async (items) => {
    const bytes = await readAll(items);
    const lines: Array<ResultLine | null> = bytes.map((entry, index) =>
      Buffer.isBuffer(entry) ? null : { id: items[index]!.id, error_code: entry.code, error_message: entry.message },
    );
    const sendable = bytes.flatMap((entry, index) => (Buffer.isBuffer(entry) ? [{ index, bytes: entry }] : []));
    if (sendable.length === 0) return lines as ResultLine[];
    for (let attempt = 0; ; attempt += 1) {
      const form = new FormData();
      for (const { index, bytes: data } of sendable) form.append('images', new Blob([data as unknown as ArrayBuffer]), items[index]!.id);
      let status = 0;
      let retryAfter: string | null = null;
      let body: { results?: Array<Record<string, unknown>>; error?: { code: string; message: string } } = {};
      try {
        const response = await fetch(endpoint, { method: 'POST', body: form, headers: options.apiKey === null ? {} : { 'X-API-Key': options.apiKey } });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        body = (await response.json().catch(() => ({}))) as typeof body;
      } catch {
        status = 0;
      }
      if (status === 200 && Array.isArray(body.results)) {
        sendable.forEach(({ index }, position) => {
          const result = (body.results![position] ?? {}) as Partial<Verdict> & { error?: { code: string; message: string } };
          const id = items[index]!.id;
          lines[index] = result.error !== undefined ? { id, error_code: result.error.code, error_message: result.error.message } : lineOf(id, result);
        });
        return lines as ResultLine[];
      }
      const retryable = status === 0 || status === 429 || status === 503;
      if (!retryable || attempt >= options.retries) {
        const code = body.error?.code ?? (status === 0 ? 'unreachable' : `http_${status}`);
        const message = body.error?.message ?? (status === 0 ? `could not reach ${endpoint}` : `the service answered ${status}`);
        for (const { index } of sendable) lines[index] = { id: items[index]!.id, error_code: code, error_message: message };
        if (status === 401 || status === 0) throw new ServiceError(code, message);
        return lines as ResultLine[];
      }
      const seconds = Number(retryAfter);
      await sleep(Number.isFinite(seconds) && seconds >= 0 && retryAfter !== null ? seconds * 1000 : 1000 * 2 ** attempt);
    }
  };
}

/** The service cannot be used at all (unreachable after retries, or the key is refused). */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export interface RunOptions {
  items: readonly SourceItem[];
  out: string;
  shard: Shard | null;
  /** Images per scoring call (the batch size). */
  groupSize: number;
  /** Scoring calls in flight at once. */
  concurrency: number;
  scorer: Scorer;
  progressStream: ProgressStream;
  progressIntervalMs?: number;
  /** Called after a group of results is written, at most every `checkpointMs` (e.g. to upload the file so far). */
  checkpoint?: () => Promise<void>;
  checkpointMs?: number;
}

export interface RunSummary {
  listed: number;
  inShard: number;
  skipped: number;
  scored: number;
  failed: number;
  /** Scored images by verdict (what /batch answers), not by pixel prediction. */
  ai_generated: number;
  real: number;
  uncertain: number;
  seconds: number;
}

export async function runScore(options: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const format = formatOf(options.out);
  const mine = options.shard === null ? options.items : options.items.filter((item) => shardOf(item.id, options.shard!.count) === options.shard!.index);
  const done = doneIds(options.out, format);
  const todo = mine.filter((item) => !done.has(item.id));
  const writer = new ResultWriter(options.out, format);
  const progress = new Progress({ stream: options.progressStream, label: 'score: images', intervalMs: options.progressIntervalMs ?? 10_000 });
  const summary: RunSummary = {
    listed: options.items.length,
    inShard: mine.length,
    skipped: mine.length - todo.length,
    scored: 0,
    failed: 0,
    ai_generated: 0,
    real: 0,
    uncertain: 0,
    seconds: 0,
  };
  const groups: SourceItem[][] = [];
  for (let start = 0; start < todo.length; start += options.groupSize) groups.push(todo.slice(start, start + options.groupSize));
  let next = 0;
  let finished = 0;
  let checkpointAt = Date.now();
  try {
    const worker = async (): Promise<void> => {
      while (next < groups.length) {
        const group = groups[next]!;
        next += 1;
        for (const line of await options.scorer(group)) {
          writer.write(line);
          if (line.error_code !== undefined) summary.failed += 1;
          else {
            summary.scored += 1;
            // A line from a deployment that predates verdicts has only the pixel prediction.
            summary[line.verdict ?? line.prediction ?? 'uncertain'] += 1;
          }
        }
        finished += group.length;
        const rate = finished / Math.max(0.001, (Date.now() - started) / 1000);
        progress.update(finished, todo.length, `${rate.toFixed(1)} images/s`);
        if (options.checkpoint !== undefined && Date.now() - checkpointAt >= (options.checkpointMs ?? 60_000)) {
          checkpointAt = Date.now();
          await options.checkpoint();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, groups.length)) }, () => worker()));
  } finally {
    writer.close();
    progress.finish();
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

export function storeOpener(config: Readonly<Config>): (uri: string) => BlobStore {
  const options = storeOptionsFrom(config);
  return (uri) => openBlobStore(uri, options);
}

/** The shard Cloud Run gives this task (CLOUD_RUN_TASK_INDEX of CLOUD_RUN_TASK_COUNT), or null outside a job. */
export function shardFromEnvironment(env: Readonly<Record<string, string | undefined>>): Shard | null {
  const index = env.CLOUD_RUN_TASK_INDEX;
  const count = env.CLOUD_RUN_TASK_COUNT;
  if (index === undefined || count === undefined) return null;
  return parseShard(`${index}/${count}`);
}

/** `--out` with `{task}` replaced by the shard index (part-{task}.jsonl in a job). */
export function outputName(out: string, shard: Shard | null): string {
  return out.replace(/\{task\}/g, String(shard?.index ?? 0));
}

/**
 * Runs `work` on a local copy of a gs:// output object: the copy starts as the object (so a
 * restarted task resumes), is uploaded on each checkpoint and at the end, even after a failure.
 */
export async function withObjectOutput<T>(
  uri: string,
  openStore: (uri: string) => BlobStore,
  work: (localFile: string, upload: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const match = /^(gs:\/\/[^/]+)\/(.+)$/i.exec(uri);
  if (match === null) throw new RangeError(`--out ${JSON.stringify(uri)} must name an object, like gs://bucket/results/run-1/part-{task}.jsonl`);
  const store = openStore(match[1]!);
  const key = match[2]!;
  const local = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'detector-out-')), path.basename(key));
  try {
    fs.writeFileSync(local, await store.read(key));
  } catch (error) {
    if (!isBlobNotFound(error)) throw error;
  }
  const upload = async () => {
    if (fs.existsSync(local)) await store.write(key, fs.readFileSync(local), { contentType: key.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson' });
  };
  try {
    return await work(local, upload);
  } finally {
    await upload();
  }
}
