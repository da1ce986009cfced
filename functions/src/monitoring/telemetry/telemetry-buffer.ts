/**
 * Per-instance telemetry buffer. Records are written as they are produced, in small batches: the
 * buffer writes when it holds `maxRecords` records or its oldest record is `maxAgeMs` old. A request
 * adds its records and awaits `maybeFlush()` before answering (Cloud Functions throttles the CPU
 * between requests); a timer of its own covers an idle instance where the CPU is not throttled.
 * At shutdown `flushEveryRecord()` makes every record due at once, and `flush()` writes everything.
 *
 * Guarantees
 * - One flush writes one NDJSON object per (model, UTC hour) group, keyed
 *   `<model>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq>.ndjson`.
 * - A failed write keeps the object, with its key and exact content, for a later flush. While
 *   writes fail, the next attempt waits `retryDelayMs`, then twice that after each further failure,
 *   up to `maxRetryDelayMs`: an unusable store costs one attempt per interval, never a loop. Only
 *   `flush()` (shutdown) tries at once. The failure is logged at most once per `failureLogIntervalMs`
 *   and reported by `health()` until a write succeeds.
 *   Writes use ifGenerationMatch '0', so a key is never overwritten and never reused for other
 *   content; a retry that finds its key taken means the earlier, ambiguous attempt did land.
 * - At most `capacity` records are held. Beyond that the oldest go first: a whole pending object
 *   (oldest first, never one being written), else the oldest unsealed record. Every drop is counted
 *   in `stats().dropped`, reported to `onDropped`, and logged at the next `maybeFlush`/`flush`.
 * - Nothing here throws into the caller or rejects: telemetry never fails a prediction.
 * `instanceId` must be unique per instance (e.g. the revision plus a random suffix).
 */
import { CONSOLE_LOGGER, errorText, type Logger } from '../../platform/logger';
import { isPreconditionFailed, type BlobStore } from '../../platform/storage/blob-store';
import { serializeRecords, telemetryObjectKey, type TelemetryRecord } from './telemetry-record';

/** The part of the service Logger (logger.ts) the buffer uses. */
export type TelemetryLogger = Pick<Logger, 'warning' | 'error'>;

export interface TelemetryBufferOptions {
  store: BlobStore;
  instanceId: string;
  /** Flush when this many records are buffered (N). Default 100. */
  maxRecords?: number;
  /** Flush when the oldest buffered record is this old (T). Default 60 000 ms. */
  maxAgeMs?: number;
  /** Most records held, buffered plus awaiting a retry. Default 10 000. */
  capacity?: number;
  /** Wait after the first failed write before the next attempt; doubled after each further failure. Default 1000 ms. */
  retryDelayMs?: number;
  /** The longest wait between attempts while writes fail. Default 300 000 ms. */
  maxRetryDelayMs?: number;
  /** Log write failures at most this often (with the number of failures since the last line). Default 60 000 ms. */
  failureLogIntervalMs?: number;
  /**
   * Runs a due flush when no request comes to run it. Default: Node's timers, unref'd so that they
   * never keep the process alive; null: only requests and `flush()` write (tests).
   */
  timers?: BufferTimers | null;
  /** Milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  logger?: TelemetryLogger;
  /** Told about every drop, e.g. to count it in a metric. */
  onDropped?: (count: number) => void;
}

export interface TelemetryBufferStats {
  /** Records held: not yet sealed plus sealed awaiting a (re)try. */
  buffered: number;
  /** Sealed objects awaiting a retry. */
  pendingObjects: number;
  /** Records confirmed written. */
  written: number;
  /** Records dropped because the buffer was full. */
  dropped: number;
  /** Write attempts that failed. */
  failedWrites: number;
}

/** What the buffer needs of setTimeout/clearTimeout; tests pass a fake clock's. */
export interface BufferTimers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

const NODE_TIMERS: BufferTimers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Why telemetry is not being written, for /health; null while writes succeed. */
export interface TelemetryHealth {
  reason: string;
  /** When the first of the consecutive failures happened (ms since the epoch). */
  failingSinceMs: number;
  consecutiveFailures: number;
  /** When the next attempt is due (ms since the epoch). */
  nextAttemptMs: number;
  buffered: number;
}

interface PendingObject {
  key: string;
  body: string;
  count: number;
  /** An earlier attempt failed; it may still have landed. */
  attempted: boolean;
  writing: boolean;
}

export class TelemetryBuffer {
  private readonly store: BlobStore;
  private readonly instanceId: string;
  private readonly maxRecords: number;
  private readonly maxAgeMs: number;
  private readonly capacity: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly failureLogIntervalMs: number;
  private readonly timers: BufferTimers | null;
  private readonly now: () => number;
  private readonly logger: TelemetryLogger;
  private readonly onDropped: ((count: number) => void) | undefined;

  private records: TelemetryRecord[] = [];
  private addedAt: number[] = [];
  private pending: PendingObject[] = [];
  private pendingRecords = 0;
  private seq = 0;
  private consecutiveFailures = 0;
  private failingSince = 0;
  private nextAttemptAt = Number.NEGATIVE_INFINITY;
  private lastFailureError = '';
  private lastFailureLogAt = Number.NEGATIVE_INFINITY;
  private failuresUnlogged = 0;
  private everyRecordDue = false;
  private timer: { handle: unknown; at: number } | null = null;
  private inFlight: Promise<void> | null = null;
  private written = 0;
  private dropped = 0;
  private droppedUnlogged = 0;
  private failedWrites = 0;

  constructor(options: TelemetryBufferOptions) {
    this.store = options.store;
    this.instanceId = options.instanceId;
    this.maxRecords = positiveInteger(options.maxRecords ?? 100, 'maxRecords');
    this.maxAgeMs = nonNegative(options.maxAgeMs ?? 60_000, 'maxAgeMs');
    this.capacity = positiveInteger(options.capacity ?? 10_000, 'capacity');
    if (this.capacity < this.maxRecords) {
      throw new RangeError(`capacity (${this.capacity}) must be at least maxRecords (${this.maxRecords})`);
    }
    this.retryDelayMs = nonNegative(options.retryDelayMs ?? 1000, 'retryDelayMs');
    this.maxRetryDelayMs = nonNegative(options.maxRetryDelayMs ?? 300_000, 'maxRetryDelayMs');
    if (this.maxRetryDelayMs < this.retryDelayMs) {
      throw new RangeError(`maxRetryDelayMs (${this.maxRetryDelayMs}) must be at least retryDelayMs (${this.retryDelayMs})`);
    }
    this.failureLogIntervalMs = nonNegative(options.failureLogIntervalMs ?? 60_000, 'failureLogIntervalMs');
    this.timers = options.timers === undefined ? NODE_TIMERS : options.timers;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? CONSOLE_LOGGER;
    this.onDropped = options.onDropped;
  }

  /** Buffers one record; drops the oldest held records when over capacity. Never throws. */
  add(record: TelemetryRecord): void {
    try {
      this.records.push(record);
      this.addedAt.push(this.now());
      this.enforceCapacity();
      this.schedule();
    } catch (error) {
      this.safeLog('error', 'telemetry record could not be buffered', { error: errorText(error) });
    }
  }

  /**
   * Writes if N records are buffered or the oldest is T old (while writes fail: once the backoff
   * has passed). Never rejects.
   */
  maybeFlush(): Promise<void> {
    this.reportDrops();
    // A write under way may have sealed its records before this caller's were added: wait for it, then look again.
    if (this.inFlight !== null)
      return this.inFlight.then(() => (this.inFlight === null && this.isDue() ? this.startFlush(false) : (this.inFlight ?? undefined)));
    if (!this.isDue()) return Promise.resolve();
    return this.startFlush(false);
  }

  /** Writes everything held now (SIGTERM), trying every pending object. Never rejects. */
  async flush(): Promise<void> {
    this.reportDrops();
    if (this.inFlight !== null) await this.inFlight;
    await this.startFlush(true);
  }

  /** From now on every held record is due at once (shutdown: what is answered must be stored). */
  flushEveryRecord(): void {
    this.everyRecordDue = true;
  }

  /** Why records are not being written, or null while writes succeed. */
  health(): TelemetryHealth | null {
    if (this.consecutiveFailures === 0) return null;
    return {
      reason: `telemetry writes to ${this.store.location} are failing (${this.lastFailureError})`,
      failingSinceMs: this.failingSince,
      consecutiveFailures: this.consecutiveFailures,
      nextAttemptMs: this.nextAttemptAt,
      buffered: this.records.length + this.pendingRecords,
    };
  }

  /** Stops the buffer's own timer (tests, and a process that is exiting). */
  close(): void {
    if (this.timer !== null && this.timers !== null) this.timers.clear(this.timer.handle);
    this.timer = null;
  }

  stats(): TelemetryBufferStats {
    return {
      buffered: this.records.length + this.pendingRecords,
      pendingObjects: this.pending.length,
      written: this.written,
      dropped: this.dropped,
      failedWrites: this.failedWrites,
    };
  }

  /** When the next write is due (ms since the epoch), or null when nothing is held. */
  private dueAt(): number | null {
    const held = this.records.length + this.pending.length;
    if (held === 0) return null;
    // While the store fails, nothing is due before the backoff has passed.
    if (this.consecutiveFailures > 0) return this.nextAttemptAt;
    if (this.everyRecordDue || this.records.length >= this.maxRecords || this.pending.length > 0) return Number.NEGATIVE_INFINITY;
    return (this.addedAt[0] as number) + this.maxAgeMs;
  }

  private isDue(): boolean {
    const at = this.dueAt();
    return at !== null && this.now() >= at;
  }

  /** Keeps one timer armed for the next due write, so that an idle instance writes within T too. */
  private schedule(): void {
    if (this.timers === null || this.inFlight !== null) return;
    const at = this.dueAt();
    if (this.timer !== null) {
      if (at !== null && this.timer.at <= at) return;
      this.timers.clear(this.timer.handle);
      this.timer = null;
    }
    if (at === null) return;
    const delayMs = Math.max(0, at - this.now());
    const handle = this.timers.set(() => {
      this.timer = null;
      void this.maybeFlush().then(() => this.schedule());
    }, delayMs);
    this.timer = { handle, at: Math.max(at, this.now()) };
  }

  private startFlush(force: boolean): Promise<void> {
    const run = this.runFlush(force)
      .catch((error: unknown) => this.safeLog('error', 'telemetry flush failed unexpectedly', { error: errorText(error) }))
      .finally(() => {
        if (this.inFlight === run) this.inFlight = null;
        this.schedule();
      });
    this.inFlight = run;
    return run;
  }

  private async runFlush(force: boolean): Promise<void> {
    this.seal();
    for (const object of [...this.pending]) {
      if (!this.pending.includes(object)) continue;
      const ok = await this.writeObject(object);
      if (!ok && !force) break;
    }
  }

  /** Moves buffered records into one pending object per (model, UTC hour), in arrival order. */
  private seal(): void {
    if (this.records.length === 0) return;
    const groups = new Map<string, { model: string; time: Date; records: TelemetryRecord[] }>();
    for (const record of this.records) {
      const time = new Date(record.time);
      const group = `${record.model}\u0000${record.time.slice(0, 13)}`;
      let entry = groups.get(group);
      if (entry === undefined) {
        entry = { model: record.model, time, records: [] };
        groups.set(group, entry);
      }
      entry.records.push(record);
    }
    this.records = [];
    this.addedAt = [];
    for (const { model, time, records } of groups.values()) {
      try {
        const key = telemetryObjectKey(model, time, this.instanceId, this.seq);
        this.seq += 1;
        this.pending.push({ key, body: serializeRecords(records), count: records.length, attempted: false, writing: false });
        this.pendingRecords += records.length;
      } catch (error) {
        this.dropped += records.length;
        this.droppedUnlogged += records.length;
        this.notifyDropped(records.length);
        this.safeLog('error', 'telemetry records have no valid object key and were dropped', {
          model,
          records: records.length,
          error: errorText(error),
        });
      }
    }
  }

  /** Writes one pending object; true when it is now known to be stored. */
  private async writeObject(object: PendingObject): Promise<boolean> {
    object.writing = true;
    try {
      await this.store.write(object.key, object.body, { ifGenerationMatch: '0', contentType: 'application/x-ndjson' });
      this.complete(object);
      this.succeeded();
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) {
        if (object.attempted) {
          this.complete(object);
          this.succeeded();
          return true;
        }
        // Someone else wrote this key: give the same content a fresh key and try again next time.
        this.safeLog('warning', 'telemetry object key was already taken; retrying under a new key', { key: object.key });
        object.key = object.key.replace(/-\d+\.ndjson$/, `-${String(this.seq).padStart(6, '0')}.ndjson`);
        this.seq += 1;
      } else {
        object.attempted = true;
      }
      this.failed(object, error);
      return false;
    } finally {
      object.writing = false;
    }
  }

  private succeeded(): void {
    if (this.consecutiveFailures === 0) return;
    this.safeLog('warning', `telemetry writes to ${this.store.location} work again after ${this.consecutiveFailures} failed attempts`, {
      failures: this.consecutiveFailures,
      store: this.store.location,
    });
    this.consecutiveFailures = 0;
    this.failuresUnlogged = 0;
    this.nextAttemptAt = Number.NEGATIVE_INFINITY;
  }

  /** Counts a failed write, pushes the next attempt back (doubling, up to the cap) and logs once per interval. */
  private failed(object: PendingObject, error: unknown): void {
    const now = this.now();
    this.failedWrites += 1;
    if (this.consecutiveFailures === 0) this.failingSince = now;
    this.consecutiveFailures += 1;
    const delay = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** Math.min(this.consecutiveFailures - 1, 40));
    this.nextAttemptAt = now + delay;
    this.lastFailureError = errorText(error);
    this.failuresUnlogged += 1;
    if (now - this.lastFailureLogAt < this.failureLogIntervalMs) return;
    this.lastFailureLogAt = now;
    this.safeLog('warning', 'telemetry write failed; records kept for the next flush', {
      key: object.key,
      records: object.count,
      buffered: this.records.length + this.pendingRecords,
      failures: this.failuresUnlogged,
      consecutive_failures: this.consecutiveFailures,
      next_attempt_in_ms: delay,
      store: this.store.location,
      error: this.lastFailureError,
    });
    this.failuresUnlogged = 0;
  }

  private complete(object: PendingObject): void {
    const index = this.pending.indexOf(object);
    if (index >= 0) {
      this.pending.splice(index, 1);
      this.pendingRecords -= object.count;
    }
    this.written += object.count;
  }

  private enforceCapacity(): void {
    let droppedNow = 0;
    while (this.records.length + this.pendingRecords > this.capacity) {
      const index = this.pending.findIndex((object) => !object.writing);
      if (index >= 0) {
        const [object] = this.pending.splice(index, 1) as [PendingObject];
        this.pendingRecords -= object.count;
        droppedNow += object.count;
      } else if (this.records.length > 0) {
        this.records.shift();
        this.addedAt.shift();
        droppedNow += 1;
      } else {
        break;
      }
    }
    if (droppedNow > 0) {
      this.dropped += droppedNow;
      this.droppedUnlogged += droppedNow;
      this.notifyDropped(droppedNow);
    }
  }

  private notifyDropped(count: number): void {
    if (this.onDropped === undefined) return;
    try {
      this.onDropped(count);
    } catch (error) {
      this.safeLog('error', 'telemetry onDropped callback failed', { error: errorText(error) });
    }
  }

  private reportDrops(): void {
    if (this.droppedUnlogged === 0) return;
    const count = this.droppedUnlogged;
    this.droppedUnlogged = 0;
    this.safeLog('warning', `telemetry buffer full: dropped ${count} records (oldest first)`, {
      dropped: count,
      droppedTotal: this.dropped,
      capacity: this.capacity,
      store: this.store.location,
    });
  }

  private safeLog(level: 'warning' | 'error', message: string, fields: Record<string, unknown>): void {
    try {
      this.logger[level](message, fields);
    } catch {
      // A broken logger must not break a prediction either.
    }
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} is ${value}; it must be a positive integer`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`${name} is ${value}; it must be a non-negative number of milliseconds`);
  return value;
}
