/**
 * What every pipeline step gets: the run's options, its dependencies, and what the run opened once
 * (the model store, the serving decoder and image limits), plus the step logger.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { BlobStore, Logger, OpenBlobStoreOptions } from '../../../functions/src/platform';
import type { PipelineSettings } from '../pipeline-settings';
import type { ImageDecoder, ImageLimits } from '../../../functions/src/detector';
import type { GateDecision, GateThresholds } from '../gate';
import type { BinaryMetrics } from '../evaluation-metrics';
import type { SkewTolerances } from '../parity';
import type { ProgressStream } from '../progress';
import type { Recipe } from '../recipe';
import type { TrainerRunner } from '../trainer/trainer-runner';
import type { VertexSettings } from '../vertex/custom-job-request';
import type { DatasetReport, ValidationThresholds } from '../validate-dataset';

export interface TrainerSettings {
  arch: string;
  /** Default: the trainer's (32 for compact, 224 otherwise). */
  imageSize: number | null;
  epochs: number | null;
  batchSize: number | null;
  lr: number | null;
  maxSteps: number | null;
  valFraction: number;
  seed: number | null;
  threads: number;
  initFrom: string | null;
  /** Passed through verbatim after the other arguments. */
  extraArgs: string[];
}

export interface PipelineOptions {
  /** Dataset folder or gs:// prefix; with fromRun, null means the one recorded in training.json. */
  dataset: string | null;
  name: string;
  store: string;
  fromRun: string | null;
  dryRun: boolean;
  /** Where this run's trainer output, logs and reports go. */
  workDir: string;
  /** Where gs:// datasets are mirrored for the trainer. */
  cacheDir: string;
  python: string;
  trainer: TrainerSettings;
  validation: ValidationThresholds;
  skew: SkewTolerances;
  gate: GateThresholds;
  /** Compare with the production version (default true). */
  champion: boolean;
  /** JPEG quality for the robustness measurement; null skips it. */
  robustnessQuality: number | null;
  evalBatchSize: number;
  progressIntervalMs: number;
  /** The command line that started this run, for the model card. */
  invocation: string;
  /** --recipe (a name in training/recipes/ or a path); null: dataset.json's "recipe", if any. */
  recipe: string | null;
  /** Flags given on the command line (without --): they override the recipe's entries. */
  givenFlags: readonly string[];
  /** The recipe in effect once applied (pipeline/src/recipe.ts); null: none. */
  appliedRecipe: { name: string; file: string; recipe: Recipe } | null;
  /** --pretrain-dataset: where the recipe's pre-training stage reads its dataset (default: beside the dataset). */
  pretrainDataset: string | null;
  /** --runner: train on this machine, or as Vertex AI custom jobs (then `vertex` is set). */
  runner: 'local' | 'vertex';
  vertex: VertexSettings | null;
  /** --with-feedback: the functions' FEEDBACK_STORE, whose images for this model join train/ only. */
  feedback: string | null;
}

export interface PipelineDeps {
  /** The serving configuration: decoder, image limits, storage endpoint, onnxruntime threads. */
  config: Readonly<PipelineSettings>;
  logger: Logger;
  progressStream: ProgressStream;
  /** Folder holding the `training` package (the repository root). */
  repoRoot: string;
  now?: () => Date;
  signal?: AbortSignal;
  /** Runs the trainer; default: from options.runner (pipeline/src/trainer/choose-trainer-runner.ts). */
  trainerRunner?: TrainerRunner;
}

export type PipelineResult =
  | { status: 'planned'; plan: string[]; dataset: DatasetReport }
  | {
      status: 'published';
      name: string;
      version: string;
      location: string;
      previous_version: string | null;
      gate: GateDecision;
      metrics: Record<string, BinaryMetrics>;
    };

export const STEPS = ['dataset', 'train', 'evaluate', 'reference', 'gate', 'publish'] as const;
export type StepName = (typeof STEPS)[number];

export interface StepContext {
  options: PipelineOptions;
  deps: PipelineDeps;
  logger: Logger;
  /** Logs `message` under "[n/6 name]". */
  step: (name: StepName, message: string, fields?: Record<string, unknown>) => void;
  storeOptions: OpenBlobStoreOptions;
  modelStore: BlobStore;
  decoder: ImageDecoder;
  limits: ImageLimits;
  now: () => Date;
}

/** A report a run folder may hold (heldout.json, loso.json, …): null when it is absent; throws when it is not that report. */
export function readRunReport<T>(dir: string, file: string, guard: (value: unknown) => value is T): T | null {
  let text: string;
  try {
    text = readFileSync(path.join(dir, file), 'utf8');
  } catch {
    return null;
  }
  const value: unknown = JSON.parse(text);
  if (!guard(value)) throw new Error(`${path.join(dir, file)} is not a ${file} report`);
  return value;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
