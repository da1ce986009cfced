/**
 * Reads the telemetry records of one model over a time window. Lists only the prefixes the window
 * touches: a whole UTC day inside the window as `<model>/dt=YYYY-MM-DD/`, a partly covered day hour
 * by hour as `<model>/dt=YYYY-MM-DD/hour=HH/`. Then keeps records with start ≤ time < end.
 *
 * Damaged data does not stop a drift run: a line that is not a valid record is skipped and counted
 * (`corruptLines`, with a few examples naming object, line and field), as is an object that
 * disappears between listing and reading. Errors of the store itself (outage, permissions) do
 * reject, so a run never reports on data it could not see.
 *
 * Memory is bounded by `limit` (default 50 000 records): beyond it a uniform reservoir sample
 * (Algorithm R, seeded, so a rerun over the same data picks the same records) stands in for the
 * window, and `sampled` says so.
 */
import { isBlobNotFound, type BlobStore } from '../../platform/storage/blob-store';
import { parseTelemetryKey, parseTelemetryLine, telemetryDayPrefix, telemetryHourPrefix, type TelemetryRecord } from './telemetry-record';
import { mulberry32 } from '../../platform/seeded-random';

export interface ReadTelemetryOptions {
  model: string;
  /** Inclusive. */
  start: Date;
  /** Exclusive. */
  end: Date;
  /** Most records returned (default 50 000); more in the window are reservoir-sampled. */
  limit?: number;
  /** Objects read at once (default 8). */
  concurrency?: number;
  /** Seed of the reservoir sample (default 1). */
  seed?: number;
}

export interface TelemetryReadResult {
  records: TelemetryRecord[];
  /** Valid records of the model inside the window, before any sampling. */
  totalRecords: number;
  sampled: boolean;
  prefixesListed: number;
  objectsRead: number;
  /** Listed objects gone before they could be read. */
  missingObjects: number;
  corruptLines: number;
  /** Up to 5 examples: "<key>:<line>: <problem>". */
  corruptExamples: string[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_EXAMPLES = 5;

/** The listing prefixes for a window (pure): whole days as day prefixes, partial days per hour. */
export function telemetryPrefixesForWindow(model: string, start: Date, end: Date): string[] {
  const startMs = start.getTime();
  const endMs = end.getTime();
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new RangeError('start and end must be valid dates');
  const prefixes: string[] = [];
  for (let day = Math.floor(startMs / DAY_MS) * DAY_MS; day < endMs; day += DAY_MS) {
    if (day >= startMs && day + DAY_MS <= endMs) {
      prefixes.push(telemetryDayPrefix(model, new Date(day)));
      continue;
    }
    for (let hour = day; hour < day + DAY_MS && hour < endMs; hour += HOUR_MS) {
      if (hour + HOUR_MS > startMs) prefixes.push(telemetryHourPrefix(model, new Date(hour)));
    }
  }
  return prefixes;
}

export async function readTelemetry(store: BlobStore, options: ReadTelemetryOptions): Promise<TelemetryReadResult> {
  const { model, start, end } = options;
  const limit = options.limit ?? 50_000;
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit is ${limit}; it must be a positive integer`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency is ${concurrency}; it must be a positive integer`);
  const startMs = start.getTime();
  const endMs = end.getTime();
  if (!(startMs < endMs)) throw new RangeError('start must be before end');

  const prefixes = telemetryPrefixesForWindow(model, start, end);
  const listings = await mapLimit(prefixes, concurrency, (prefix) => store.list(prefix));
  const keys = listings
    .flat()
    .map((info) => info.key)
    .filter((key) => {
      const parts = parseTelemetryKey(key);
      if (parts === null || parts.model !== model) return false;
      const hourStart = Date.parse(`${parts.date}T${String(parts.hour).padStart(2, '0')}:00:00Z`);
      return hourStart < endMs && hourStart + HOUR_MS > startMs;
    });

  const result: TelemetryReadResult = {
    records: [],
    totalRecords: 0,
    sampled: false,
    prefixesListed: prefixes.length,
    objectsRead: 0,
    missingObjects: 0,
    corruptLines: 0,
    corruptExamples: [],
  };
  const random = mulberry32(options.seed ?? 1);
  const accept = (record: TelemetryRecord): void => {
    result.totalRecords += 1;
    if (result.records.length < limit) {
      result.records.push(record);
      return;
    }
    result.sampled = true;
    const slot = Math.floor(random() * result.totalRecords);
    if (slot < limit) result.records[slot] = record;
  };
  const corrupt = (key: string, line: number, problem: string): void => {
    result.corruptLines += 1;
    if (result.corruptExamples.length < MAX_EXAMPLES) result.corruptExamples.push(`${key}:${line}: ${problem}`);
  };

  // Objects are read concurrently but parsed in key order, so sampling is reproducible.
  const batches = chunk(keys, concurrency);
  for (const batch of batches) {
    const bodies = await Promise.all(
      batch.map(async (key) => {
        try {
          return await store.read(key);
        } catch (error) {
          if (isBlobNotFound(error)) return null;
          throw error;
        }
      }),
    );
    batch.forEach((key, k) => {
      const body = bodies[k];
      if (body === null || body === undefined) {
        result.missingObjects += 1;
        return;
      }
      result.objectsRead += 1;
      const lines = body.toString('utf8').split('\n');
      lines.forEach((line, index) => {
        if (line.trim().length === 0) return;
        let record: TelemetryRecord;
        try {
          record = parseTelemetryLine(line);
        } catch (error) {
          corrupt(key, index + 1, error instanceof Error ? error.message : String(error));
          return;
        }
        if (record.model !== model) {
          corrupt(key, index + 1, `record of model ${JSON.stringify(record.model)} under ${model}/`);
          return;
        }
        const t = Date.parse(record.time);
        if (t >= startMs && t < endMs) accept(record);
      });
    });
  }
  return result;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const part of chunk(items, limit)) results.push(...(await Promise.all(part.map(fn))));
  return results;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  return parts;
}
