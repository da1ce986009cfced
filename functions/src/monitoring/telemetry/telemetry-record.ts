/**
 * One compact record per scored image, and where records live in the telemetry store:
 *
 *   <model>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq>.ndjson      (UTC; seq zero-padded to 6 digits)
 *
 * Each object is NDJSON: one JSON record per line, every record of one model and one UTC hour.
 * Example line:
 *   {"time":"2024-05-21T10:15:00.123Z","model":"detector","model_version":"3","probability":0.91,
 *    "prediction":"ai_generated","features":{"width":1000,"height":800,"bytes":183342,"format":"jpeg",
 *    "aspect_ratio":1.25,"megapixels":0.8,"brightness":0.51234,"contrast":0.2101,"saturation":0.3312,"sharpness":0.00412}}
 * Feature values arrive already rounded to 6 significant digits by `computeImageFeatures`, so
 * records stay small and survive the JSON round trip unchanged.
 */
import { InternalError } from '../../platform/errors';
import { FEATURE_NAMES, type ImageFeatures } from '../features/image-features';
import { IMAGE_FORMATS, type ImageFormat } from '../../detector/image/image-decoder';

export interface TelemetryRecord {
  /** When the image was scored, ISO 8601 UTC. */
  time: string;
  model: string;
  model_version: string;
  /** P(ai_generated), 0..1. */
  probability: number;
  /** The label returned to the client, e.g. 'ai_generated' or 'real'. */
  prediction: string;
  features: ImageFeatures;
}

export interface TelemetryRecordInput {
  time: Date;
  model: { name: string; version: string };
  probability: number;
  prediction: string;
  features: ImageFeatures;
}

export class InvalidTelemetryRecordError extends InternalError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super('invalid_telemetry_record', message);
  }
}

export function makeTelemetryRecord(input: TelemetryRecordInput): TelemetryRecord {
  return {
    time: input.time.toISOString(),
    model: input.model.name,
    model_version: input.model.version,
    probability: input.probability,
    prediction: input.prediction,
    features: { ...input.features },
  };
}

/** NDJSON: one record per line, each line ending in '\n'. */
export function serializeRecords(records: readonly TelemetryRecord[]): string {
  let text = '';
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return text;
}

/** Parses and validates one NDJSON line; throws InvalidTelemetryRecordError naming the bad field. */
export function parseTelemetryLine(line: string): TelemetryRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new InvalidTelemetryRecordError('line is not valid JSON', '');
  }
  if (!isObject(value)) throw new InvalidTelemetryRecordError('record is not a JSON object', '');
  const { time, model, model_version: modelVersion, probability, prediction, features } = value;
  if (typeof time !== 'string' || !ISO_TIME.test(time) || Number.isNaN(Date.parse(time))) {
    throw new InvalidTelemetryRecordError(`time is ${JSON.stringify(time)}; expected an ISO 8601 UTC timestamp`, 'time');
  }
  if (typeof model !== 'string' || model.length === 0) throw new InvalidTelemetryRecordError('model must be a non-empty string', 'model');
  if (typeof modelVersion !== 'string') throw new InvalidTelemetryRecordError('model_version must be a string', 'model_version');
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) {
    throw new InvalidTelemetryRecordError(`probability is ${JSON.stringify(probability)}; expected a number in [0, 1]`, 'probability');
  }
  if (typeof prediction !== 'string') throw new InvalidTelemetryRecordError('prediction must be a string', 'prediction');
  if (!isObject(features)) throw new InvalidTelemetryRecordError('features must be an object', 'features');
  for (const name of FEATURE_NAMES) {
    const v = features[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new InvalidTelemetryRecordError(`features.${name} is ${JSON.stringify(v)}; expected a finite number`, `features.${name}`);
    }
  }
  if (!IMAGE_FORMATS.includes(features.format as ImageFormat)) {
    throw new InvalidTelemetryRecordError(
      `features.format is ${JSON.stringify(features.format)}; expected one of ${IMAGE_FORMATS.join(', ')}`,
      'features.format',
    );
  }
  return {
    time,
    model,
    model_version: modelVersion,
    probability,
    prediction,
    features: features as unknown as ImageFeatures,
  };
}

export interface TelemetryKeyParts {
  model: string;
  /** YYYY-MM-DD (UTC). */
  date: string;
  /** 0..23 (UTC). */
  hour: number;
  instanceId: string;
  seq: number;
}

/** `<model>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq>.ndjson` for the UTC hour containing `time`. */
export function telemetryObjectKey(model: string, time: Date, instanceId: string, seq: number): string {
  if (!Number.isInteger(seq) || seq < 0) throw new RangeError(`seq is ${seq}; it must be a non-negative integer`);
  return `${telemetryHourPrefix(model, time)}${sanitizeInstanceId(instanceId)}-${String(seq).padStart(6, '0')}.ndjson`;
}

/** `<model>/dt=YYYY-MM-DD/` for the UTC day containing `time`. */
export function telemetryDayPrefix(model: string, time: Date): string {
  assertModelSegment(model);
  return `${model}/dt=${time.toISOString().slice(0, 10)}/`;
}

/** `<model>/dt=YYYY-MM-DD/hour=HH/` for the UTC hour containing `time`. */
export function telemetryHourPrefix(model: string, time: Date): string {
  return `${telemetryDayPrefix(model, time)}hour=${time.toISOString().slice(11, 13)}/`;
}

const KEY_PATTERN = /^([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([A-Za-z0-9_.-]+)-(\d+)\.ndjson$/;

/** The parts of a telemetry object key, or null for any other key. */
export function parseTelemetryKey(key: string): TelemetryKeyParts | null {
  const match = KEY_PATTERN.exec(key);
  if (match === null) return null;
  const [, model, date, hour, instanceId, seq] = match as unknown as [string, string, string, string, string, string];
  const h = Number(hour);
  if (h > 23) return null;
  return { model, date, hour: h, instanceId, seq: Number(seq) };
}

/** Makes an instance id safe as the start of a file name: [A-Za-z0-9_.-] only, at most 64 characters. */
export function sanitizeInstanceId(instanceId: string): string {
  const safe = instanceId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  if (safe.length === 0 || safe === '.' || safe === '..') return 'instance';
  return safe;
}

function assertModelSegment(model: string): void {
  if (model.length === 0 || model.includes('/') || model.includes('\\') || model === '.' || model === '..') {
    throw new RangeError(`model name ${JSON.stringify(model)} cannot be a folder name; use letters, digits, '-', '_' or '.'`);
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
