/**
 * A completed training run folder, as training/train.py writes it:
 *
 *   model.onnx        input "input" [N,3,S,S] → output "logits" [N,2] (softmax, index 1 = AI)
 *   metadata.json     models/metadata.schema.json with "version": null
 *   split.json        {"train"|"val"|"test": [{"path", "label", "sha256"}]}, paths relative to the dataset
 *   torch_eval.json   {"val"|"test": {accuracy, precision, recall, f1, roc_auc, n, probabilities}}
 *   parity/           inputs.f32, logits.f32 (little-endian float32) and meta.json {n, input_shape, output_shape}
 *   training.json     {seconds, epochs_run, best_epoch, images_per_s, arch, params, image_size, args, …}
 *   robustness.json   optional (python3 -m training.robustness): JPEG re-encoding accuracy drop
 *
 * `readRunDir` loads and checks all of it, and says exactly what is missing or inconsistent.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import parityMetaSchema from '../../models/run-parity-meta.schema.json';
import splitSchema from '../../models/run-split.schema.json';
import torchEvalSchema from '../../models/run-torch-eval.schema.json';
import trainingSchema from '../../models/run-training.schema.json';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describeAjvErrors } from '../../functions/src/platform';
import { type ModelMetadata, parseMetadata } from '../../functions/src/detector';
import { TrainingFailedError } from './errors';
import { quoteArgument } from './trainer/trainer-process';

export interface SplitItem {
  path: string;
  label: 0 | 1;
  sha256: string;
}

export interface SplitFile {
  train: SplitItem[];
  val: SplitItem[];
  test: SplitItem[];
}

export interface TorchSplitEval {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number | null;
  n: number;
  /** P(AI) per item, in split.json order. */
  probabilities: number[];
}

/** One member of an ensemble run, as training/ensemble.py records it in training.json. */
export interface EnsembleMember {
  run: string;
  arch: string | null;
  params: number | null;
  epochs_run: number | null;
  best_epoch: number | null;
  seconds: number | null;
  images_per_s: number | null;
  val_accuracy: number | null;
  val_roc_auc: number | null;
}

/** A run that ensemble members continue from, as training/ensemble.py records it. */
export interface PretrainingRun {
  run: string;
  seconds: number | null;
  epochs_run: number | null;
}

export interface TrainingRecord {
  /** The Python module that wrote the run: training.train unless stated. */
  module?: string;
  /** Ensembles only: the runs whose models it averages. */
  members?: EnsembleMember[];
  /** Ensembles only: how many views of each image the members see (image, mirror, shifts). */
  views?: number;
  /** Ensembles only: the runs its members continue from (--init-from), each once; part of `seconds`. */
  pretraining?: PretrainingRun[];
  seconds: number;
  epochs_run: number;
  best_epoch: number;
  images_per_s: number;
  arch: string;
  params: number;
  image_size: number;
  args: Record<string, unknown>;
  [field: string]: unknown;
}

export interface ParityBundle {
  n: number;
  inputShape: number[];
  outputShape: number[];
  inputs: Float32Array;
  logits: Float32Array;
}

export interface Robustness {
  drop_points: number;
  quality: number;
  n: number;
  split: string;
  [field: string]: unknown;
}

export interface RunDir {
  dir: string;
  modelBytes: Buffer;
  modelSha256: string;
  metadata: ModelMetadata;
  split: SplitFile;
  torchEval: { val: TorchSplitEval; test?: TorchSplitEval };
  training: TrainingRecord;
  parity: ParityBundle;
  robustness: Robustness | null;
}

async function readRequired(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TrainingFailedError(`run folder ${dir} is incomplete: ${file} is missing (did training finish?)`, { cause: error });
    }
    throw error;
  }
}

function parseJson(dir: string, file: string, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new TrainingFailedError(`${path.join(dir, file)} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

// The run folder's JSON files have schemas beside the model schemas (models/run-*.schema.json);
// the trainer validates what it writes against the same files (training/run_files.py).
const ajv = new Ajv({ allErrors: true, strict: false });
const RUN_SCHEMAS: Record<string, ValidateFunction> = {
  'split.json': ajv.compile(splitSchema),
  'torch_eval.json': ajv.compile(torchEvalSchema),
  'training.json': ajv.compile(trainingSchema),
  'parity/meta.json': ajv.compile(parityMetaSchema),
};

/** Checks a run file against its schema; the semantic checks below then rely on its shape. */
function conform(dir: string, file: keyof typeof RUN_SCHEMAS, value: unknown): unknown {
  const validate = RUN_SCHEMAS[file]!;
  if (!validate(value))
    throw invalid(
      dir,
      file,
      `${describeAjvErrors(validate.errors)} (schema: models/run-${file === 'parity/meta.json' ? 'parity-meta' : file.replace('_', '-').replace('.json', '')}.schema.json)`,
    );
  return value;
}

function invalid(dir: string, file: string, detail: string): TrainingFailedError {
  return new TrainingFailedError(`${path.join(dir, file)} is invalid: ${detail}`);
}

function parseSplit(dir: string, value: unknown): SplitFile {
  const record = value as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null) throw invalid(dir, 'split.json', 'expected an object with train, val and test lists');
  const out: Partial<SplitFile> = {};
  for (const name of ['train', 'val', 'test'] as const) {
    const items = record[name] ?? [];
    if (!Array.isArray(items)) throw invalid(dir, 'split.json', `"${name}" is not a list`);
    out[name] = items.map((item: unknown, index) => {
      const entry = item as Record<string, unknown> | null;
      if (
        typeof entry !== 'object' ||
        entry === null ||
        typeof entry.path !== 'string' ||
        (entry.label !== 0 && entry.label !== 1) ||
        typeof entry.sha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(entry.sha256)
      ) {
        throw invalid(dir, 'split.json', `${name}[${index}] needs "path" (string), "label" (0 or 1) and "sha256" (64 hex digits)`);
      }
      const relative = entry.path;
      if (path.posix.isAbsolute(relative) || relative.split('/').some((part) => part === '..' || part === '')) {
        throw invalid(dir, 'split.json', `${name}[${index}].path ${JSON.stringify(relative)} must be a relative path inside the dataset`);
      }
      return { path: relative, label: entry.label, sha256: entry.sha256 };
    });
  }
  if ((out.val ?? []).length === 0) throw invalid(dir, 'split.json', 'the val list is empty; evaluation needs a validation split');
  return out as SplitFile;
}

function parseTorchSplit(dir: string, name: string, value: unknown, expected: number): TorchSplitEval {
  const record = value as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null) throw invalid(dir, 'torch_eval.json', `"${name}" is missing`);
  for (const key of ['accuracy', 'precision', 'recall', 'f1', 'n'] as const) {
    if (typeof record[key] !== 'number') throw invalid(dir, 'torch_eval.json', `${name}.${key} is not a number`);
  }
  if (record.roc_auc !== null && typeof record.roc_auc !== 'number') throw invalid(dir, 'torch_eval.json', `${name}.roc_auc is not a number or null`);
  const probabilities = record.probabilities;
  if (!Array.isArray(probabilities) || probabilities.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1))) {
    throw invalid(dir, 'torch_eval.json', `${name}.probabilities must be a list of P(AI) values in [0, 1]`);
  }
  if (probabilities.length !== expected) {
    throw invalid(dir, 'torch_eval.json', `${name}.probabilities has ${probabilities.length} values; split.json's ${name} list has ${expected}`);
  }
  return record as unknown as TorchSplitEval;
}

function parseTraining(dir: string, value: unknown): TrainingRecord {
  const record = value as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null) throw invalid(dir, 'training.json', 'expected an object');
  for (const key of ['seconds', 'epochs_run', 'best_epoch', 'image_size'] as const) {
    if (typeof record[key] !== 'number') throw invalid(dir, 'training.json', `"${key}" is not a number`);
  }
  if (typeof record.args !== 'object' || record.args === null) throw invalid(dir, 'training.json', '"args" (the trainer\'s arguments) is missing');
  if (record.module !== undefined && typeof record.module !== 'string') throw invalid(dir, 'training.json', '"module" is not a string');
  const members = record.members;
  if (members !== undefined && (!Array.isArray(members) || members.some((m: unknown) => typeof (m as { run?: unknown } | null)?.run !== 'string'))) {
    throw invalid(dir, 'training.json', '"members" must be a list of {"run": "<run folder>", …} records');
  }
  const pretraining = record.pretraining;
  if (
    pretraining !== undefined &&
    (!Array.isArray(pretraining) || pretraining.some((r: unknown) => typeof (r as { run?: unknown } | null)?.run !== 'string'))
  ) {
    throw invalid(dir, 'training.json', '"pretraining" must be a list of {"run": "<run folder>", …} records');
  }
  return record as TrainingRecord;
}

function toFloat32(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i += 1) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

async function readParity(dir: string): Promise<ParityBundle> {
  const meta = conform(dir, 'parity/meta.json', parseJson(dir, 'parity/meta.json', await readRequired(dir, 'parity/meta.json'))) as Record<string, unknown>;
  const n = meta.n;
  const inputShape = meta.input_shape;
  const outputShape = meta.output_shape;
  const isShape = (shape: unknown): shape is number[] => Array.isArray(shape) && shape.every((dim) => Number.isInteger(dim) && (dim as number) > 0);
  if (typeof n !== 'number' || !isShape(inputShape) || !isShape(outputShape) || inputShape[0] !== n || outputShape[0] !== n) {
    throw invalid(dir, 'parity/meta.json', 'needs "n" and "input_shape" / "output_shape" lists whose first dimension is n');
  }
  const inputs = await readRequired(dir, 'parity/inputs.f32');
  const logits = await readRequired(dir, 'parity/logits.f32');
  const size = (shape: number[]): number => shape.reduce((product, dim) => product * dim, 1) * 4;
  if (inputs.length !== size(inputShape))
    throw invalid(dir, 'parity/inputs.f32', `has ${inputs.length} bytes; shape ${JSON.stringify(inputShape)} needs ${size(inputShape)}`);
  if (logits.length !== size(outputShape))
    throw invalid(dir, 'parity/logits.f32', `has ${logits.length} bytes; shape ${JSON.stringify(outputShape)} needs ${size(outputShape)}`);
  return { n, inputShape, outputShape, inputs: toFloat32(inputs), logits: toFloat32(logits) };
}

async function readOptionalJson(dir: string, file: string): Promise<unknown> {
  try {
    return parseJson(dir, file, await readFile(path.join(dir, file)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function readRunDir(dirInput: string): Promise<RunDir> {
  const dir = path.resolve(dirInput);
  const modelBytes = await readRequired(dir, 'model.onnx');
  let metadata: ModelMetadata;
  try {
    metadata = parseMetadata(path.join(dir, 'metadata.json'), await readRequired(dir, 'metadata.json'));
  } catch (error) {
    if (error instanceof TrainingFailedError) throw error;
    throw new TrainingFailedError((error as Error).message, { cause: error });
  }
  const split = parseSplit(dir, conform(dir, 'split.json', parseJson(dir, 'split.json', await readRequired(dir, 'split.json'))));
  const torchRaw = conform(dir, 'torch_eval.json', parseJson(dir, 'torch_eval.json', await readRequired(dir, 'torch_eval.json'))) as Record<string, unknown>;
  const torchEval: RunDir['torchEval'] = { val: parseTorchSplit(dir, 'val', torchRaw.val, split.val.length) };
  if (split.test.length > 0) torchEval.test = parseTorchSplit(dir, 'test', torchRaw.test, split.test.length);
  const training = parseTraining(dir, conform(dir, 'training.json', parseJson(dir, 'training.json', await readRequired(dir, 'training.json'))));
  const parity = await readParity(dir);
  const robustnessRaw = (await readOptionalJson(dir, 'robustness.json')) as Robustness | null;
  const robustness = robustnessRaw !== null && typeof robustnessRaw.drop_points === 'number' ? robustnessRaw : null;
  return {
    dir,
    modelBytes,
    modelSha256: createHash('sha256').update(modelBytes).digest('hex'),
    metadata,
    split,
    torchEval,
    training,
    parity,
    robustness,
  };
}

/**
 * The command that reproduces a run, from training.json's `args` (every argument it ran with,
 * defaults included): `--flag value` for values, `--flag v1 v2` for lists, a bare `--flag` for
 * true, nothing for false, null or an empty list (an option never given). `module` is training.json's "module" (training.train by default;
 * training.ensemble for ensembles).
 */
export function trainerCommand(args: Readonly<Record<string, unknown>>, python = 'python3', module = 'training.train'): string {
  const parts = [python, '-m', module];
  for (const [key, value] of Object.entries(args)) {
    if (value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
    const flag = `--${key.replace(/_/g, '-')}`;
    if (value === true) parts.push(flag);
    else if (Array.isArray(value)) parts.push(flag, ...value.map((item) => quoteArgument(String(item))));
    else parts.push(flag, quoteArgument(typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value as string | number | boolean)));
  }
  return parts.join(' ');
}
