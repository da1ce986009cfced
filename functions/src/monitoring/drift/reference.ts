/**
 * The drift reference: what a model version's training data looked like, in a form the drift
 * function can compare live traffic with. The training pipeline builds it with `buildReference`
 * from the same records serving writes (P(AI), prediction, `computeImageFeatures` output) and
 * stores it next to the model as `<store>/<name>/<version>/reference.json`; drift reads it with
 * `parseReference`, which validates against models/reference.schema.json.
 *
 * Each distribution keeps 101 quantiles (p0..p100, type 7: PSI bins come from them), a sample of at
 * most 2000 values for the KS test, and the mean and population standard deviation. The sample is
 * deterministic: every value when n ≤ 2000, else the order statistics at evenly spaced ranks
 * ((k + ½)·n/2000 for k = 0..1999), which represents the distribution at least as well as a random
 * subsample (KS p-values computed against it are, if anything, slightly conservative).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { AppError } from '../../platform/errors';
import { FEATURE_NAMES, type FeatureName } from '../features/image-features';
import { quantileSorted } from './psi';
import referenceSchema from '../../../../models/reference.schema.json';

export const REFERENCE_SCHEMA_VERSION = 1;
export const REFERENCE_SAMPLE_SIZE = 2000;
export const REFERENCE_QUANTILE_COUNT = 101;
export const AI_GENERATED_LABEL = 'ai_generated';

export interface DistributionSummary {
  /** p0, p1, ..., p100. */
  quantiles: number[];
  /** At most 2000 values, ascending. */
  sample: number[];
  mean: number;
  std: number;
}

export interface DriftReference {
  schema_version: 1;
  model: { name: string; version: string };
  created_at: string;
  n: number;
  score: DistributionSummary;
  prediction_mix: { ai_generated_share: number };
  features: Record<string, DistributionSummary>;
}

/** What the pipeline knows about each reference image: exactly what serving records per request. */
export interface ReferenceInput {
  probability: number;
  prediction: string;
  features: Readonly<Record<FeatureName, number>>;
}

export interface BuildReferenceOptions {
  /** When the reference was built; passed in so that building stays a pure function. */
  createdAt: Date;
  /** Values kept per distribution for the KS test (default and maximum 2000). */
  sampleSize?: number;
}

/** Where the pipeline writes, and drift reads, a model version's reference. */
export function referenceKey(name: string, version: string): string {
  return `${name}/${version}/reference.json`;
}

export function buildReference(records: readonly ReferenceInput[], model: { name: string; version: string }, options: BuildReferenceOptions): DriftReference {
  if (records.length === 0) throw new RangeError('records is empty; a drift reference needs at least one scored image');
  const sampleSize = options.sampleSize ?? REFERENCE_SAMPLE_SIZE;
  if (!Number.isInteger(sampleSize) || sampleSize < 1 || sampleSize > REFERENCE_SAMPLE_SIZE) {
    throw new RangeError(`options.sampleSize is ${sampleSize}; it must be an integer from 1 to ${REFERENCE_SAMPLE_SIZE}`);
  }
  if (Number.isNaN(options.createdAt.getTime())) throw new RangeError('options.createdAt is an invalid date');

  const n = records.length;
  const scores = new Float64Array(n);
  const columns = new Map<FeatureName, Float64Array>(FEATURE_NAMES.map((name) => [name, new Float64Array(n)]));
  let aiGenerated = 0;
  records.forEach((record, i) => {
    scores[i] = finite(record.probability, `records[${i}].probability`);
    if (record.prediction === AI_GENERATED_LABEL) aiGenerated += 1;
    for (const name of FEATURE_NAMES) {
      (columns.get(name) as Float64Array)[i] = finite(record.features[name], `records[${i}].features.${name}`);
    }
  });

  const features: Record<string, DistributionSummary> = {};
  for (const name of FEATURE_NAMES) features[name] = summarize(columns.get(name) as Float64Array, sampleSize);
  return {
    schema_version: REFERENCE_SCHEMA_VERSION,
    model: { name: model.name, version: model.version },
    created_at: options.createdAt.toISOString(),
    n,
    score: summarize(scores, sampleSize),
    prediction_mix: { ai_generated_share: aiGenerated / n },
    features,
  };
}

/** Quantile grid, deterministic sample, mean and population std of one column (sorted in place). */
export function summarize(values: Float64Array, sampleSize = REFERENCE_SAMPLE_SIZE): DistributionSummary {
  const n = values.length;
  if (n === 0) throw new RangeError('cannot summarize an empty column');
  values.sort();
  const quantiles: number[] = [];
  for (let k = 0; k < REFERENCE_QUANTILE_COUNT; k += 1) quantiles.push(quantileSorted(values, k / (REFERENCE_QUANTILE_COUNT - 1)));
  let sample: number[];
  if (n <= sampleSize) {
    sample = Array.from(values);
  } else {
    sample = [];
    for (let k = 0; k < sampleSize; k += 1) sample.push(values[Math.floor(((k + 0.5) * n) / sampleSize)] as number);
  }
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += values[i] as number;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i += 1) {
    const d = (values[i] as number) - mean;
    squares += d * d;
  }
  return { quantiles, sample, mean, std: Math.sqrt(squares / n) };
}

/** A stored reference that does not match models/reference.schema.json. */
export class InvalidReferenceError extends AppError {
  constructor(
    message: string,
    /** JSON pointer of the offending field ('' for the whole document). */
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(500, 'invalid_reference', message, options);
  }
}

/**
 * Parses and validates a reference (raw bytes, text or an already parsed value). Throws
 * InvalidReferenceError whose message names the first bad field, e.g.
 * "drift reference m/1/reference.json is invalid: /features/brightness/quantiles must NOT have fewer than 101 items".
 */
export function parseReference(input: unknown, source = 'drift reference'): DriftReference {
  let value: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      value = JSON.parse(input.toString());
    } catch (error) {
      throw new InvalidReferenceError(`${source} is not valid JSON: ${(error as Error).message}`, '', { cause: error });
    }
  }
  const validate = referenceValidator();
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    const first = errors[0];
    const field = first === undefined ? '' : fieldOf(first);
    const details = errors.slice(0, 3).map(describe).join('; ');
    throw new InvalidReferenceError(`${source} is invalid: ${details}`, field);
  }
  const reference = value as DriftReference;
  const distributions: Array<[string, DistributionSummary]> = [
    ['/score', reference.score],
    ...Object.entries(reference.features).map(([name, d]): [string, DistributionSummary] => [`/features/${name}`, d]),
  ];
  for (const [path, distribution] of distributions) {
    const q = distribution.quantiles;
    for (let k = 1; k < q.length; k += 1) {
      if ((q[k] as number) < (q[k - 1] as number)) {
        throw new InvalidReferenceError(
          `${source} is invalid: ${path}/quantiles/${k} is ${q[k]}, below the previous quantile ${q[k - 1]}; quantiles must ascend`,
          `${path}/quantiles/${k}`,
        );
      }
    }
    if (distribution.sample.length > reference.n) {
      throw new InvalidReferenceError(
        `${source} is invalid: ${path}/sample has ${distribution.sample.length} values but n is ${reference.n}`,
        `${path}/sample`,
      );
    }
  }
  return reference;
}

let validator: ValidateFunction | undefined;

function referenceValidator(): ValidateFunction {
  if (validator === undefined) {
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      formats: { 'date-time': (text: string) => ISO_DATE_TIME.test(text) && !Number.isNaN(Date.parse(text)) },
    });
    validator = ajv.compile(referenceSchema);
  }
  return validator;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function fieldOf(error: ErrorObject): string {
  if (error.keyword === 'required') return `${error.instancePath}/${(error.params as { missingProperty: string }).missingProperty}`;
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath}/${(error.params as { additionalProperty: string }).additionalProperty}`;
  }
  return error.instancePath;
}

function describe(error: ErrorObject): string {
  const field = fieldOf(error) || '(document)';
  if (error.keyword === 'required') return `${field} is missing`;
  if (error.keyword === 'additionalProperties') return `${field} is not a known field`;
  return `${field} ${error.message ?? 'is invalid'}`;
}

function finite(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`${name} is ${value}; it must be a finite number`);
  return value;
}
