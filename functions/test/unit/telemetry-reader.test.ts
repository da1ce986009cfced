import type { ImageFeatures } from '../../src/monitoring/features/image-features';
import { readTelemetry, telemetryPrefixesForWindow } from '../../src/monitoring/telemetry/telemetry-reader';
import { serializeRecords, telemetryObjectKey, type TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { MemoryBlobStore } from '../support/memory-blob-store';

const FEATURES: ImageFeatures = {
  width: 1000,
  height: 800,
  bytes: 1,
  format: 'jpeg',
  aspect_ratio: 1.25,
  megapixels: 0.8,
  brightness: 0.5,
  contrast: 0.2,
  saturation: 0.3,
  sharpness: 0.004,
};

function rec(time: string, i = 0, model = 'detector'): TelemetryRecord {
  return { time, model, model_version: '3', probability: 0.5, prediction: 'real', features: { ...FEATURES, bytes: i } };
}

async function put(store: MemoryBlobStore, records: TelemetryRecord[], seq: number, instance = 'inst'): Promise<string> {
  const first = records[0] as TelemetryRecord;
  const key = telemetryObjectKey(first.model, new Date(first.time), instance, seq);
  await store.write(key, serializeRecords(records));
  return key;
}

describe('telemetryPrefixesForWindow', () => {
  it('lists whole days by day and partial days by hour', () => {
    const prefixes = telemetryPrefixesForWindow('m', new Date('2024-05-20T21:30:00Z'), new Date('2024-05-23T02:00:00Z'));
    expect(prefixes).toEqual([
      'm/dt=2024-05-20/hour=21/',
      'm/dt=2024-05-20/hour=22/',
      'm/dt=2024-05-20/hour=23/',
      'm/dt=2024-05-21/',
      'm/dt=2024-05-22/',
      'm/dt=2024-05-23/hour=00/',
      'm/dt=2024-05-23/hour=01/',
    ]);
  });

  it('covers a 24 h window ending mid-hour with 25 hour prefixes', () => {
    const prefixes = telemetryPrefixesForWindow('m', new Date('2024-05-20T12:30:00Z'), new Date('2024-05-21T12:30:00Z'));
    expect(prefixes).toHaveLength(25);
    expect(prefixes[0]).toBe('m/dt=2024-05-20/hour=12/');
    expect(prefixes.at(-1)).toBe('m/dt=2024-05-21/hour=12/');
  });
});

describe('readTelemetry', () => {
  const start = new Date('2024-05-20T12:00:00Z');
  const end = new Date('2024-05-21T12:00:00Z');

  it('reads records inside [start, end) of the model only, listing only the window', async () => {
    const store = new MemoryBlobStore();
    await put(store, [rec('2024-05-20T11:59:59.999Z', 1)], 0);
    await put(store, [rec('2024-05-20T12:00:00.000Z', 2), rec('2024-05-20T12:30:00.000Z', 3)], 1);
    await put(store, [rec('2024-05-21T11:59:59.999Z', 4)], 2);
    await put(store, [rec('2024-05-21T12:00:00.000Z', 5)], 3);
    await put(store, [rec('2024-05-20T13:00:00.000Z', 6, 'other')], 4);
    const lists = jest.spyOn(store, 'list');

    const result = await readTelemetry(store, { model: 'detector', start, end });
    expect(result.records.map((r) => r.features.bytes).sort()).toEqual([2, 3, 4]);
    expect(result).toMatchObject({ totalRecords: 3, sampled: false, objectsRead: 2, corruptLines: 0, missingObjects: 0 });
    expect(lists.mock.calls.every(([prefix]) => prefix.startsWith('detector/dt='))).toBe(true);
    expect(lists).toHaveBeenCalledTimes(24);
  });

  it('skips and counts corrupt lines, naming object, line and field', async () => {
    const store = new MemoryBlobStore();
    const good = serializeRecords([rec('2024-05-20T13:00:00.000Z', 1)]);
    const key = telemetryObjectKey('detector', new Date('2024-05-20T13:00:00Z'), 'inst', 0);
    await store.write(key, `${good}{"truncated":\n\n${JSON.stringify({ ...rec('2024-05-20T13:01:00.000Z'), probability: 7 })}\n${good}`);
    const result = await readTelemetry(store, { model: 'detector', start, end });
    expect(result.records).toHaveLength(2);
    expect(result.corruptLines).toBe(2);
    expect(result.corruptExamples).toEqual([`${key}:2: line is not valid JSON`, `${key}:4: probability is 7; expected a number in [0, 1]`]);
  });

  it('counts an object that vanished between list and read, and rejects on store errors', async () => {
    const store = new MemoryBlobStore();
    const key = await put(store, [rec('2024-05-20T13:00:00.000Z')], 0);
    jest.spyOn(store, 'read').mockImplementationOnce(async () => {
      await store.delete(key);
      return store.read(key);
    });
    expect(await readTelemetry(store, { model: 'detector', start, end })).toMatchObject({ missingObjects: 1, objectsRead: 0 });

    await put(store, [rec('2024-05-20T13:00:00.000Z')], 1);
    store.failNextReads(1);
    await expect(readTelemetry(store, { model: 'detector', start, end })).rejects.toThrow(/injected read failure/);
    store.failNextLists(1);
    await expect(readTelemetry(store, { model: 'detector', start, end })).rejects.toThrow(/injected list failure/);
  });

  it('bounds memory with a reproducible uniform sample', async () => {
    const store = new MemoryBlobStore();
    for (let h = 0; h < 10; h += 1) {
      const hour = new Date(start.getTime() + h * 3_600_000);
      await put(
        store,
        Array.from({ length: 100 }, (_, i) => rec(new Date(hour.getTime() + i * 1000).toISOString(), h * 100 + i)),
        h,
      );
    }
    const a = await readTelemetry(store, { model: 'detector', start, end, limit: 200 });
    const b = await readTelemetry(store, { model: 'detector', start, end, limit: 200 });
    expect(a).toMatchObject({ totalRecords: 1000, sampled: true });
    expect(a.records).toHaveLength(200);
    expect(b.records).toEqual(a.records);
    // Uniform over the window: each of the ten hours is represented.
    const hours = new Set(a.records.map((r) => Math.floor(r.features.bytes / 100)));
    expect(hours.size).toBe(10);
  });
});
