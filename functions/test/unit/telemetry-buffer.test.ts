import { EventEmitter } from 'node:events';
import type { ImageFeatures } from '../../src/monitoring/features/image-features';
import { TelemetryBuffer, type TelemetryBufferOptions, type TelemetryLogger } from '../../src/monitoring/telemetry/telemetry-buffer';
import { installSigtermFlush } from '../../src/serving/http/framework-hooks';
import { parseTelemetryKey, parseTelemetryLine, type TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { MemoryBlobStore } from '../support/memory-blob-store';

const FEATURES: ImageFeatures = {
  width: 1000,
  height: 800,
  bytes: 123_456,
  format: 'jpeg',
  aspect_ratio: 1.25,
  megapixels: 0.8,
  brightness: 0.5,
  contrast: 0.2,
  saturation: 0.3,
  sharpness: 0.004,
};

let counter = 0;
function rec(overrides: Partial<TelemetryRecord> = {}): TelemetryRecord {
  counter += 1;
  return {
    time: '2024-05-21T10:15:00.000Z',
    model: 'detector',
    model_version: '3',
    probability: (counter % 100) / 100,
    prediction: 'real',
    features: { ...FEATURES, bytes: counter },
    ...overrides,
  };
}

interface Harness {
  store: MemoryBlobStore;
  buffer: TelemetryBuffer;
  clock: { now: number };
  logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
  dropped: number[];
}

function harness(options: Partial<TelemetryBufferOptions> = {}): Harness {
  const store = new MemoryBlobStore();
  const clock = { now: Date.parse('2024-05-21T10:15:00.000Z') };
  const logs: Harness['logs'] = [];
  const logger: TelemetryLogger = {
    warning: (message, fields) => logs.push({ level: 'warning', message, ...(fields === undefined ? {} : { fields }) }),
    error: (message, fields) => logs.push({ level: 'error', message, ...(fields === undefined ? {} : { fields }) }),
  };
  const dropped: number[] = [];
  const buffer = new TelemetryBuffer({
    store,
    instanceId: 'inst-a',
    maxRecords: 3,
    maxAgeMs: 60_000,
    capacity: 10,
    now: () => clock.now,
    logger,
    onDropped: (n) => dropped.push(n),
    timers: null,
    ...options,
  });
  return { store, buffer, clock, logs, dropped };
}

/** Every record stored, in key order, with the key it came from. */
async function stored(store: MemoryBlobStore): Promise<Array<{ key: string; record: TelemetryRecord }>> {
  const out: Array<{ key: string; record: TelemetryRecord }> = [];
  for (const info of await store.list('')) {
    const text = (await store.read(info.key)).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.split('\n').filter((l) => l.length > 0)) out.push({ key: info.key, record: parseTelemetryLine(line) });
  }
  return out;
}

describe('TelemetryBuffer flush conditions', () => {
  it('writes when N records are buffered, as one NDJSON object under the dt=/hour= layout', async () => {
    const { store, buffer } = harness();
    const records = [rec(), rec()];
    records.forEach((r) => buffer.add(r));
    await buffer.maybeFlush();
    expect(store.keys()).toEqual([]);

    records.push(rec());
    buffer.add(records[2] as TelemetryRecord);
    await buffer.maybeFlush();
    expect(store.keys()).toEqual(['detector/dt=2024-05-21/hour=10/inst-a-000000.ndjson']);
    expect(store.contentTypeOf('detector/dt=2024-05-21/hour=10/inst-a-000000.ndjson')).toBe('application/x-ndjson');
    expect((await stored(store)).map((s) => s.record)).toEqual(records);
    expect(buffer.stats()).toEqual({ buffered: 0, pendingObjects: 0, written: 3, dropped: 0, failedWrites: 0 });
  });

  it('writes when the oldest record is T old, not before', async () => {
    const { store, buffer, clock } = harness({ maxRecords: 100, capacity: 1000 });
    buffer.add(rec());
    clock.now += 30_000;
    buffer.add(rec());
    clock.now += 29_999;
    await buffer.maybeFlush();
    expect(store.keys()).toEqual([]);
    clock.now += 1;
    await buffer.maybeFlush();
    expect((await stored(store)).length).toBe(2);
  });

  it('writes one object per model and UTC hour, each with its own sequence number', async () => {
    const { store, buffer } = harness({ maxRecords: 4 });
    buffer.add(rec());
    buffer.add(rec({ time: '2024-05-21T11:00:00.000Z' }));
    buffer.add(rec({ model: 'other' }));
    buffer.add(rec());
    await buffer.maybeFlush();
    expect(store.keys()).toEqual([
      'detector/dt=2024-05-21/hour=10/inst-a-000000.ndjson',
      'detector/dt=2024-05-21/hour=11/inst-a-000001.ndjson',
      'other/dt=2024-05-21/hour=10/inst-a-000002.ndjson',
    ]);
    const objects = await stored(store);
    expect(objects.filter((o) => o.key.includes('hour=10/inst-a-000000')).length).toBe(2);
  });

  it('shares one write between concurrent requests', async () => {
    const { store, buffer } = harness();
    [rec(), rec(), rec()].forEach((r) => buffer.add(r));
    await Promise.all([buffer.maybeFlush(), buffer.maybeFlush(), buffer.maybeFlush()]);
    expect(store.writeLog).toHaveLength(1);
  });
});

describe('TelemetryBuffer failures', () => {
  it('loses nothing when a write fails and a later one succeeds, and never reuses a key for other content', async () => {
    const { store, buffer, clock, logs } = harness();
    const first = [rec(), rec(), rec()];
    first.forEach((r) => buffer.add(r));
    store.failNextWrites(1);
    await expect(buffer.maybeFlush()).resolves.toBeUndefined();
    expect(store.keys()).toEqual([]);
    expect(buffer.stats()).toMatchObject({ buffered: 3, pendingObjects: 1, written: 0, failedWrites: 1 });
    expect(logs.at(-1)).toMatchObject({ level: 'warning', message: 'telemetry write failed; records kept for the next flush' });

    // Not yet due for a retry and below N: nothing happens.
    const second = [rec(), rec()];
    second.forEach((r) => buffer.add(r));
    await buffer.maybeFlush();
    expect(store.writeLog).toHaveLength(1);

    // Due again: the failed object goes first, under its original key; new records get a new one.
    clock.now += 60_000;
    await buffer.maybeFlush();
    const objects = await stored(store);
    expect(objects.map((o) => o.record)).toEqual([...first, ...second]);
    expect(objects.map((o) => parseTelemetryKey(o.key)?.seq)).toEqual([0, 0, 0, 1, 1]);
    expect(buffer.stats()).toEqual({ buffered: 0, pendingObjects: 0, written: 5, dropped: 0, failedWrites: 1 });
  });

  it('does not duplicate records when a failed write had in fact landed', async () => {
    const { store, buffer, clock } = harness();
    const records = [rec(), rec(), rec()];
    records.forEach((r) => buffer.add(r));
    store.failNextWrites(1, { afterStoring: true });
    await buffer.maybeFlush();
    expect(buffer.stats()).toMatchObject({ written: 0, failedWrites: 1, pendingObjects: 1 });
    clock.now += 60_000;
    await buffer.maybeFlush();
    expect((await stored(store)).map((o) => o.record)).toEqual(records);
    expect(buffer.stats()).toMatchObject({ written: 3, buffered: 0, pendingObjects: 0 });
  });

  it('never rejects, even when the store and the logger throw', async () => {
    const { store, buffer } = harness({
      logger: {
        warning: () => {
          throw new Error('logger down');
        },
        error: () => {
          throw new Error('logger down');
        },
      },
    });
    jest.spyOn(store, 'write').mockImplementation(() => {
      throw new Error('synchronous failure');
    });
    [rec(), rec(), rec()].forEach((r) => buffer.add(r));
    await expect(buffer.maybeFlush()).resolves.toBeUndefined();
    await expect(buffer.flush()).resolves.toBeUndefined();
    expect(buffer.stats()).toMatchObject({ buffered: 3, failedWrites: 2 });
  });

  it('drops records with no valid key (a model name with a slash), counted and logged', async () => {
    const { store, buffer, logs } = harness({ maxRecords: 1 });
    buffer.add(rec({ model: 'a/b' }));
    await buffer.maybeFlush();
    expect(store.keys()).toEqual([]);
    expect(buffer.stats()).toMatchObject({ dropped: 1, buffered: 0 });
    expect(logs.some((l) => l.level === 'error' && /no valid object key/.test(l.message))).toBe(true);
  });
});

describe('TelemetryBuffer bound', () => {
  it('drops the oldest beyond capacity, counts and logs every drop, and keeps added = written + dropped + buffered', async () => {
    const { store, buffer, clock, logs, dropped } = harness({ maxRecords: 4, capacity: 6 });
    const added: TelemetryRecord[] = [];
    const add = (r: TelemetryRecord): void => {
      added.push(r);
      buffer.add(r);
    };
    // The store is down for the next two writes: four records become a pending object.
    store.failNextWrites(2);
    for (let i = 0; i < 4; i += 1) add(rec());
    await buffer.maybeFlush();
    expect(buffer.stats()).toMatchObject({ buffered: 4, pendingObjects: 1 });

    // Three more exceed the capacity of 6: the oldest pending object (4 records) goes.
    for (let i = 0; i < 3; i += 1) add(rec());
    expect(buffer.stats()).toMatchObject({ buffered: 3, pendingObjects: 0, dropped: 4 });
    expect(dropped).toEqual([4]);

    // Four more: 7 > 6, the single oldest unsealed record goes.
    for (let i = 0; i < 4; i += 1) add(rec());
    expect(buffer.stats()).toMatchObject({ buffered: 6, dropped: 5 });
    expect(dropped).toEqual([4, 1]);

    // The next maybeFlush logs the drops, once, with counts.
    const before = logs.length;
    clock.now += 60_000;
    await buffer.maybeFlush();
    const dropLogs = logs.slice(before).filter((l) => /dropped/.test(l.message));
    expect(dropLogs).toEqual([
      expect.objectContaining({
        level: 'warning',
        message: 'telemetry buffer full: dropped 5 records (oldest first)',
        fields: expect.objectContaining({ dropped: 5, droppedTotal: 5, capacity: 6 }),
      }),
    ]);

    expect(store.keys()).toEqual([]);

    // The store recovers: what is left is written, and the books balance.
    await buffer.flush();
    const stats = buffer.stats();
    expect(stats.written + stats.dropped + stats.buffered).toBe(added.length);
    expect(stats).toMatchObject({ written: 6, dropped: 5, buffered: 0 });
    // Survivors are the newest six, in order.
    expect((await stored(store)).map((o) => o.record)).toEqual(added.slice(5));
  });

  it('validates its options, naming them', () => {
    const store = new MemoryBlobStore();
    expect(() => new TelemetryBuffer({ store, instanceId: 'i', maxRecords: 0 })).toThrow(/maxRecords is 0/);
    expect(() => new TelemetryBuffer({ store, instanceId: 'i', maxRecords: 10, capacity: 5 })).toThrow(/capacity \(5\) must be at least maxRecords \(10\)/);
    expect(() => new TelemetryBuffer({ store, instanceId: 'i', maxAgeMs: -1 })).toThrow(/maxAgeMs is -1/);
  });
});

describe('installSigtermFlush', () => {
  it('flushes on SIGTERM before the other SIGTERM listeners run, including ones added later', async () => {
    const { store, buffer } = harness({ maxRecords: 100, capacity: 1000 });
    const emitter = new EventEmitter();
    const order: string[] = [];
    emitter.on('SIGTERM', () => order.push(`before:${store.keys().length}`));
    installSigtermFlush(buffer, { emitter });
    const done = new Promise<void>((resolve) => {
      // Like the Functions Framework, which registers after the module loads and then exits.
      emitter.on('SIGTERM', () => {
        order.push(`after:${store.keys().length}`);
        resolve();
      });
    });
    await Promise.resolve();
    [rec(), rec()].forEach((r) => buffer.add(r));

    emitter.emit('SIGTERM', 'SIGTERM');
    await done;
    expect(order).toEqual(['before:1', 'after:1']);
    expect(buffer.stats()).toMatchObject({ buffered: 0, written: 2 });
    expect(emitter.listenerCount('SIGTERM')).toBe(0);
  });

  it('runs onDone when nothing else listens, and gives up waiting after timeoutMs', async () => {
    jest.useFakeTimers();
    try {
      const emitter = new EventEmitter();
      const never = { flush: () => new Promise<void>(() => undefined) };
      const onDone = jest.fn();
      const logger = { warning: jest.fn(), error: jest.fn() };
      installSigtermFlush(never, { emitter, timeoutMs: 5000, onDone, logger });
      emitter.emit('SIGTERM');
      await jest.advanceTimersByTimeAsync(4999);
      expect(onDone).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1);
      expect(onDone).toHaveBeenCalledTimes(1);
      expect(logger.warning).toHaveBeenCalledWith('telemetry flush on SIGTERM did not finish within 5000 ms');
    } finally {
      jest.useRealTimers();
    }
  });

  it('can be uninstalled, restoring the listeners it held back', () => {
    const emitter = new EventEmitter();
    const framework = jest.fn();
    emitter.on('SIGTERM', framework);
    const uninstall = installSigtermFlush({ flush: () => Promise.resolve() }, { emitter });
    expect(emitter.listeners('SIGTERM')).not.toContain(framework);
    uninstall();
    expect(emitter.listeners('SIGTERM')).toEqual([framework]);
    emitter.emit('SIGTERM');
    expect(framework).toHaveBeenCalledTimes(1);
  });
});

describe('TelemetryBuffer with an unusable store', () => {
  const START = Date.parse('2024-05-21T10:15:00.000Z');
  afterEach(() => jest.useRealTimers());

  it('tries again after 1, 2, 4 … s up to the cap, on its own timer, logs once a minute and says why in health()', async () => {
    jest.useFakeTimers({ now: START });
    const store = new MemoryBlobStore();
    const attempts: number[] = [];
    let broken = true;
    const write = store.write.bind(store);
    store.write = (key, data, options) => {
      attempts.push(Date.now() - START);
      return broken ? Promise.reject(new Error("ENOENT: no such file or directory, mkdir '/proc/telemetry'")) : write(key, data, options);
    };
    const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const logger: TelemetryLogger = {
      warning: (message, fields) => logs.push({ message, ...(fields === undefined ? {} : { fields }) }),
      error: () => undefined,
    };
    const buffer = new TelemetryBuffer({
      store,
      instanceId: 'inst-a',
      maxRecords: 20,
      maxAgeMs: 2000,
      retryDelayMs: 1000,
      maxRetryDelayMs: 60_000,
      failureLogIntervalMs: 60_000,
      logger,
    });
    buffer.add(rec());
    expect(buffer.health()).toBeNull();

    // Ten minutes with no request at all.
    await jest.advanceTimersByTimeAsync(600_000);
    // Due at 2 s (T), then 1, 2, 4, 8, 16, 32 s after each failure, then every 60 s: 15 attempts, not a loop.
    expect(attempts.slice(0, 8)).toEqual([2000, 3000, 5000, 9000, 17_000, 33_000, 65_000, 125_000]);
    expect(attempts).toHaveLength(15);
    const failureLogs = logs.filter((log) => log.message === 'telemetry write failed; records kept for the next flush');
    expect(failureLogs.length).toBeLessThanOrEqual(10);
    expect(failureLogs.reduce((sum, log) => sum + (log.fields?.failures as number), 0)).toBe(attempts.length);
    expect(buffer.health()).toMatchObject({
      reason: expect.stringContaining('/proc/telemetry'),
      consecutiveFailures: 15,
      failingSinceMs: START + 2000,
      buffered: 1,
    });

    // Requests do not hurry a retry while the store is failing.
    for (let i = 0; i < 40; i += 1) buffer.add(rec());
    await buffer.maybeFlush();
    expect(attempts).toHaveLength(15);

    // The store comes back: the next attempt writes everything and health clears.
    broken = false;
    await jest.advanceTimersByTimeAsync(60_000);
    expect(buffer.health()).toBeNull();
    expect(buffer.stats()).toMatchObject({ written: 41, buffered: 0 });
    expect(logs.at(-1)?.message).toMatch(/work again after 15 failed attempts/);
    buffer.close();
  });

  it('writes within T on its own timer when no request comes', async () => {
    jest.useFakeTimers({ now: START });
    const store = new MemoryBlobStore();
    const buffer = new TelemetryBuffer({ store, instanceId: 'inst-a', maxRecords: 20, maxAgeMs: 2000 });
    buffer.add(rec());
    await jest.advanceTimersByTimeAsync(1999);
    expect(store.keys()).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.keys()).toHaveLength(1);
    buffer.close();
  });

  it('makes every record due at once after flushEveryRecord (shutdown)', async () => {
    const { store, buffer } = harness({ maxRecords: 100, capacity: 1000 });
    buffer.add(rec());
    await buffer.maybeFlush();
    expect(store.keys()).toEqual([]);
    buffer.flushEveryRecord();
    await buffer.maybeFlush();
    expect(store.keys()).toHaveLength(1);
  });
});
