/**
 * The model registry as seen by serving: `<store>/<name>/production.json` names the production
 * version and its sha256; `<store>/<name>/<version>/{model.onnx,metadata.json}` hold the model.
 *
 * - A model is loaded on first use, once per instance; concurrent first requests share one load.
 * - The load is memoized as a promise that is dropped on rejection: a failed load is retried by
 *   the next request instead of being cached.
 * - model.onnx's sha256 is verified before a session is created.
 * - production.json is re-read at most every `refreshMs`; a new version is loaded beside the old
 *   one and swapped in only once it works. In-flight requests finish on the model they started
 *   with; the old session is released when its last request is done. If the new version fails to
 *   load, the old one keeps serving and the failure is logged.
 * - A model that fails to load is not re-read, re-hashed and re-parsed by every request: after a
 *   failure the next attempt waits `retryBaseMs`, doubling per consecutive failure up to
 *   `retryMaxMs`; meanwhile requests get 503 model_unavailable with a Retry-After that says when.
 * - The default model (`defaultModel`) missing from the store is the deployment's problem, not
 *   the client's. An empty store (nothing published yet) answers 503 model_unavailable with
 *   Retry-After; a store that holds other models but not the default is a configuration mistake
 *   that retrying will not mend: 503 default_model_not_published without Retry-After (the
 *   service cannot serve until it is configured; no request answers 500), naming the published models
 *   and how to pick one (DEFAULT_MODEL=<name>, or ?model=<name>). `defaultModelProblem()` says
 *   the same for /health. A client-chosen name that is not published is 404 unknown_model, with
 *   the published names.
 * - The published names (`publishedModels()`: every `<name>/production.json`) are listed only
 *   for these messages, at most once per `refreshMs` (30 s at most).
 * - `states()` (for the unauthenticated /health) says that the last attempt failed and when, never
 *   the error's text: that goes to the log.
 */
import { AppError, NotFoundError, ServiceUnavailableError, BadRequestError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { type BlobStore, isBlobNotFound } from '../../platform/storage/blob-store';
import { type EngineFactory, loadModel } from './load-model';
import { MODEL_NAME_PATTERN } from '../../platform/settings';
import { parseMetadata, parseProductionPointer, type ProductionPointer } from './model-metadata';
import type { LoadedModel } from './loaded-model';

export type { EngineFactory } from './load-model';
export { LoadedModel } from './loaded-model';

export interface ModelRegistryOptions {
  store: BlobStore;
  createEngine: EngineFactory;
  refreshMs: number;
  logger: Logger;
  /** The model a request gets without ?model=; its absence answers 503, not 404. */
  defaultModel?: string;
  /** Wait after a failed load before the next attempt; doubles per consecutive failure. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest wait between attempts. Default 60 000 ms. */
  retryMaxMs?: number;
  now?: () => number;
}

export interface ModelState {
  name: string;
  loaded: boolean;
  version: string | null;
  sha256: string | null;
  loaded_at: string | null;
  /** A generic sentence when the last load or refresh failed (details are in the log), else null. */
  last_error: string | null;
  /** When that failure happened. */
  last_error_at: string | null;
}

interface Entry {
  current: LoadedModel | null;
  /** The first load, shared by concurrent requests; null again after it settles. */
  loading: Promise<LoadedModel> | null;
  /** A running production.json check (and possibly a swap). */
  checking: Promise<void> | null;
  checkedAtMs: number;
  lastError: string | null;
  lastErrorAtMs: number;
  /** Consecutive failed first loads, and when the next may be attempted. */
  failures: number;
  retryAtMs: number;
}

/** "the published models are: a, b" or "no model is published in the model store yet". */
function publishedText(published: readonly string[] | null): string {
  if (published === null) return 'the published models could not be listed';
  if (published.length === 0) return 'no model is published in the model store yet';
  return `the published models are: ${published.join(', ')}`;
}

class UnknownModelError extends NotFoundError {
  constructor(name: string, published: readonly string[] | null = null) {
    super(
      'unknown_model',
      `unknown model "${name}": no production version of it is published in the model store; ${publishedText(published)}` +
        (published !== null && published.length > 0 ? ' (choose one with ?model=<name>)' : ''),
    );
  }
}

/** Why the default model cannot serve although the store has others, and how to pick one. */
function defaultNotPublished(name: string, published: readonly string[]): string {
  return (
    `the default model "${name}" is not published in the model store, which has: ${published.join(', ')}. ` +
    `Serve one of them by default with DEFAULT_MODEL=<name> (e.g. DEFAULT_MODEL=${published[0]} npm start), or ask for one per request with ?model=<name>`
  );
}

/** The default model is not in the store but others are: a configuration mistake, not a wait. */
export class DefaultModelNotPublishedError extends AppError {
  constructor(name: string, published: readonly string[], options: { cause?: unknown } = {}) {
    super(503, 'default_model_not_published', defaultNotPublished(name, published), options);
  }
}

export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private published: { names: Promise<string[]>; atMs: number } | null = null;

  constructor(private readonly options: ModelRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The production model `name`, loading it if needed; starts a background pointer check when due. */
  async get(name: string): Promise<LoadedModel> {
    if (!MODEL_NAME_PATTERN.test(name)) {
      throw new BadRequestError(
        'invalid_model_name',
        `model name ${JSON.stringify(name.slice(0, 80))} is not valid: use lower-case letters, digits, '-' and '_'`,
      );
    }
    const entry = this.entry(name);
    if (entry.current === null) {
      const waitMs = entry.retryAtMs - this.now();
      if (entry.loading === null && waitMs > 0) {
        throw new ServiceUnavailableError(
          'model_unavailable',
          `model "${name}" failed to load; the next attempt is in ${Math.ceil(waitMs / 1000)} s`,
          Math.ceil(waitMs / 1000),
        );
      }
      entry.loading ??= this.firstLoad(name, entry).finally(() => {
        entry.loading = null;
      });
      return entry.loading;
    }
    if (this.now() - entry.checkedAtMs >= this.options.refreshMs) void this.checkForUpdate(name);
    return entry.current;
  }

  /** Re-reads production.json now and swaps in a new version if it loads. Never rejects. */
  checkForUpdate(name: string): Promise<void> {
    const entry = this.entry(name);
    if (entry.current === null) return Promise.resolve();
    entry.checking ??= this.refresh(name, entry).finally(() => {
      entry.checking = null;
    });
    return entry.checking;
  }

  /** Names of the models with a production version in the store, sorted (listed at most every min(refreshMs, 30 s)). */
  publishedModels(): Promise<string[]> {
    const maxAgeMs = Math.min(this.options.refreshMs, 30_000);
    if (this.published === null || this.now() - this.published.atMs >= maxAgeMs) {
      const names = this.options.store.list('').then((blobs) => {
        const found = blobs.map((blob) => /^([^/]+)\/production\.json$/.exec(blob.key)?.[1]).filter((name) => name !== undefined);
        return [...new Set(found)].sort();
      });
      const memo = { names, atMs: this.now() };
      this.published = memo;
      // A failed listing is not kept: the next call lists again.
      names.catch(() => {
        if (this.published === memo) this.published = null;
      });
    }
    return this.published.names;
  }

  /**
   * Why the default model cannot serve, in words that say how to fix it, or null when it is
   * loaded or published (for /health). Store failures are not reported here: /health?deep=1 and
   * the requests themselves report those.
   */
  async defaultModelProblem(): Promise<string | null> {
    const name = this.options.defaultModel;
    if (name === undefined || (this.entries.get(name)?.current ?? null) !== null) return null;
    try {
      await this.readPointer(name);
      return null;
    } catch (error) {
      if (!(error instanceof UnknownModelError)) return null;
    }
    const published = await this.publishedModels().catch(() => null);
    if (published === null || published.length === 0) return `the default model "${name}" is not published: ${publishedText(published)}`;
    return defaultNotPublished(name, published);
  }

  /** The state of every model this instance has been asked for (plus `alsoReport`), for /health. */
  states(alsoReport: readonly string[] = []): ModelState[] {
    const names = new Set([...alsoReport, ...this.entries.keys()]);
    return [...names].sort().map((name) => {
      const entry = this.entries.get(name);
      const current = entry?.current ?? null;
      const failedAt = entry === undefined || entry.lastError === null ? null : new Date(entry.lastErrorAtMs);
      return {
        name,
        loaded: current !== null,
        version: current?.version ?? null,
        sha256: current?.sha256 ?? null,
        loaded_at: current?.loadedAt.toISOString() ?? null,
        last_error:
          failedAt === null
            ? null
            : current === null
              ? 'the model could not be loaded; the details are in the service log'
              : 'the last refresh failed and the loaded version keeps serving; the details are in the service log',
        last_error_at: failedAt?.toISOString() ?? null,
      };
    });
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name);
    if (entry === undefined) {
      entry = { current: null, loading: null, checking: null, checkedAtMs: 0, lastError: null, lastErrorAtMs: 0, failures: 0, retryAtMs: 0 };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private async firstLoad(name: string, entry: Entry): Promise<LoadedModel> {
    let pointer: ProductionPointer;
    try {
      pointer = await this.readPointer(name);
    } catch (error) {
      if (error instanceof UnknownModelError) {
        const published = await this.publishedModels().catch(() => null);
        if (name === this.options.defaultModel && published !== null && published.length > 0) {
          // Waiting will not help, so there is no back-off: the next request reads the pointer again.
          entry.lastError = messageOf(error);
          entry.lastErrorAtMs = this.now();
          this.options.logger.error('the default model is not published in the model store; other models are', {
            model: name,
            published,
            store: this.options.store.location,
          });
          throw new DefaultModelNotPublishedError(name, published, { cause: error });
        }
        if (name === this.options.defaultModel) {
          this.failed(entry, error);
          this.options.logger.error('the default model has no production version in the model store', { model: name, store: this.options.store.location });
          throw new ServiceUnavailableError(
            'model_unavailable',
            `the default model "${name}" is not published: no model is published in the model store yet; retry once one is`,
            this.retryAfterSeconds(entry),
            { cause: error },
          );
        }
        // Unknown names must not grow the registry without bound.
        if (entry.current === null) this.entries.delete(name);
        throw new UnknownModelError(name, published);
      }
      this.failed(entry, error);
      this.options.logger.error('reading the production pointer failed', { model: name, error });
      throw new ServiceUnavailableError('model_unavailable', `model "${name}" is not available right now; retry shortly`, this.retryAfterSeconds(entry), {
        cause: error,
      });
    }
    try {
      const model = await this.load(name, pointer);
      entry.current = model;
      entry.checkedAtMs = this.now();
      entry.lastError = null;
      entry.failures = 0;
      entry.retryAtMs = 0;
      return model;
    } catch (error) {
      this.failed(entry, error);
      this.options.logger.error('loading a model failed', { model: name, version: pointer.version, error });
      throw new ServiceUnavailableError('model_unavailable', `model "${name}" could not be loaded; retry shortly`, this.retryAfterSeconds(entry), {
        cause: error,
      });
    }
  }

  /** Records a failed first load and when the next attempt may run. */
  private failed(entry: Entry, error: unknown): void {
    const base = this.options.retryBaseMs ?? 1000;
    const max = this.options.retryMaxMs ?? 60_000;
    entry.lastError = messageOf(error);
    entry.lastErrorAtMs = this.now();
    entry.failures += 1;
    entry.retryAtMs = this.now() + Math.min(max, base * 2 ** Math.min(30, entry.failures - 1));
  }

  private retryAfterSeconds(entry: Entry): number {
    return Math.max(1, Math.ceil((entry.retryAtMs - this.now()) / 1000));
  }

  private async refresh(name: string, entry: Entry): Promise<void> {
    const current = entry.current;
    if (current === null) return;
    try {
      const pointer = await this.readPointer(name);
      if (pointer.version === current.version && pointer.sha256 === current.sha256) {
        entry.checkedAtMs = this.now();
        return;
      }
      const next = await this.load(name, pointer);
      entry.current = next;
      entry.lastError = null;
      current.retire();
      this.options.logger.info('model version swapped in', { model: name, from: current.version, to: next.version });
    } catch (error) {
      entry.lastError = messageOf(error);
      entry.lastErrorAtMs = this.now();
      this.options.logger.error('model refresh failed; the loaded version keeps serving', { model: name, version: current.version, error });
    }
    entry.checkedAtMs = this.now();
  }

  private async readPointer(name: string): Promise<ProductionPointer> {
    const key = `${name}/production.json`;
    let bytes: Buffer;
    try {
      bytes = await this.options.store.read(key);
    } catch (error) {
      if (isBlobNotFound(error)) throw new UnknownModelError(name);
      throw error;
    }
    return parseProductionPointer(key, bytes);
  }

  private async load(name: string, pointer: ProductionPointer): Promise<LoadedModel> {
    const prefix = `${name}/${pointer.version}`;
    const [metadataBytes, modelBytes] = await Promise.all([
      this.options.store.read(`${prefix}/metadata.json`),
      this.options.store.read(`${prefix}/model.onnx`),
    ]);
    const metadata = parseMetadata(`${prefix}/metadata.json`, metadataBytes);
    const model = await loadModel({
      name,
      version: pointer.version,
      modelBytes,
      metadata,
      expectedSha256: pointer.sha256,
      createEngine: this.options.createEngine,
      logger: this.options.logger,
      loadedAt: new Date(this.now()),
    });
    const sha256 = model.sha256;
    this.options.logger.info('model loaded', { model: name, version: pointer.version, sha256 });
    return model;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
