/**
 * metadata.json and production.json: parsed and checked against the JSON Schemas in models/,
 * so that a model trained with different preprocessing can never be served silently.
 */
import { InternalError } from '../../platform/errors';
import Ajv from 'ajv';
import { describeAjvErrors } from '../../platform/ajv-errors';
import metadataSchema from '../../../../models/metadata.schema.json';
import productionSchema from '../../../../models/production.schema.json';

export interface Preprocessing {
  width: number;
  height: number;
  resize: 'cover' | 'fill';
  interpolation: 'bilinear';
  channel_order: 'RGB' | 'BGR';
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** How a patch model is applied: `count` patches of `size` px on a grid (image/patch-grid.ts). */
export interface PatchSpec {
  mode: 'grid';
  size: number;
  count: number;
  align: number;
  aggregation: 'mean_logit';
  /** Calibration: P(AI) = sigmoid(logit_scale × mean patch logit); 1 when absent. */
  logit_scale?: number;
}

/**
 * Out-of-distribution statistics of a model version, from its training images' pooled patch
 * embeddings: score = ‖W (e − mean)‖ (a Mahalanobis distance), out of distribution above `threshold`.
 */
export interface OodSpec {
  output: string;
  method: 'mahalanobis';
  mean: number[];
  /** D rows of D values. */
  whitening: number[][];
  threshold: number;
  /** The share (%) of in-source validation images at or below the threshold when it was set. */
  percentile: number;
}

/** metadata.json's `uncertainty` block (pipeline/src/uncertainty-band.ts writes it). */
export interface ModelUncertainty {
  band: [number, number];
  /** The 90 %-accuracy band's target (pipeline/src/uncertainty-band.ts). */
  target_accuracy?: number;
  /** A model deciding at an operating point (metadata `operating_point`): the band is [real threshold, threshold]. */
  target_fpr?: number;
  split?: string;
  images?: number;
  share_in_band?: number;
  accuracy_outside?: number | null;
  window?: number;
  method?: string;
  patch_logit_std_max?: number;
}

export interface ModelMetadata {
  schema_version: 1;
  name: string;
  version: string | null;
  created_at?: string;
  architecture: string;
  parameters?: number;
  input: { name: string; shape: [number, 3, number, number]; dtype: 'float32'; layout: 'NCHW' };
  output: { name: string; activation: 'softmax' | 'sigmoid' | 'none'; ai_index: number };
  preprocessing: Preprocessing;
  labels: string[];
  threshold: number;
  patches?: PatchSpec;
  ood?: OodSpec;
  training?: Record<string, unknown>;
  uncertainty?: ModelUncertainty;
  [extra: string]: unknown;
}

export interface ProductionPointer {
  version: string;
  sha256: string;
  updated_at?: string;
  previous_version?: string | null;
  reason?: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateMetadata = ajv.compile<ModelMetadata>(metadataSchema);
const validateProduction = ajv.compile<ProductionPointer>(productionSchema);

export class InvalidModelFileError extends InternalError {
  constructor(
    readonly file: string,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super('invalid_model_file', `${file} is invalid: ${detail}`, options);
  }
}

function parseJson(file: string, bytes: Buffer | string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch (error) {
    throw new InvalidModelFileError(file, 'not valid JSON', { cause: error });
  }
}

export function parseMetadata(file: string, bytes: Buffer | string): ModelMetadata {
  const value = parseJson(file, bytes);
  if (!validateMetadata(value)) throw new InvalidModelFileError(file, describeAjvErrors(validateMetadata.errors));
  const metadata = value;
  if (metadata.output.activation !== 'sigmoid' && metadata.output.ai_index >= metadata.labels.length) {
    throw new InvalidModelFileError(file, `output.ai_index ${metadata.output.ai_index} is outside labels (${metadata.labels.length})`);
  }
  if (metadata.input.shape[2] !== metadata.preprocessing.height || metadata.input.shape[3] !== metadata.preprocessing.width) {
    throw new InvalidModelFileError(
      file,
      `input.shape ${JSON.stringify(metadata.input.shape)} does not match preprocessing ${metadata.preprocessing.width}×${metadata.preprocessing.height}`,
    );
  }
  const band = metadata.uncertainty?.band;
  if (band !== undefined && !(band[0] <= metadata.threshold && metadata.threshold <= band[1])) {
    throw new InvalidModelFileError(file, `uncertainty.band [${band.join(', ')}] does not contain the threshold ${metadata.threshold}`);
  }
  return metadata;
}

export function parseProductionPointer(file: string, bytes: Buffer | string): ProductionPointer {
  const value = parseJson(file, bytes);
  if (!validateProduction(value)) throw new InvalidModelFileError(file, describeAjvErrors(validateProduction.errors));
  return value;
}
