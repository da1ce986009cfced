/**
 * Training recipes (training/recipes/<name>.json, models/recipe.schema.json): the trainer's flags,
 * the compute a Vertex AI job runs on, an optional pre-training stage and gate thresholds, named by
 * dataset.json's "recipe" or `--recipe <name|path>`. Loading checks the schema; applying one to the
 * pipeline's options is a pure function in which flags given on the command line always win.
 */
import Ajv from 'ajv';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import recipeSchema from '../../models/recipe.schema.json';
import { describeAjvErrors } from '../../functions/src/platform';
import { UsageError } from './errors';
import type { PipelineOptions } from './steps/step-context';

export type TrainerFlagValue = string | number | boolean;

export interface RecipeCompute {
  machine_type: string;
  accelerator_type?: string;
  accelerator_count?: number;
}

export interface RecipePretrain {
  recipe: string;
  dataset?: { name: string; version: string };
}

export type RecipeGateFlag = 'min-accuracy' | 'min-roc-auc' | 'min-precision' | 'min-recall' | 'max-ece' | 'max-jpeg-drop';

export type TrainerModule = 'training.train' | 'training.train_patches';

export interface RecipeEvaluation {
  leave_one_source_out?: { trainer?: Record<string, TrainerFlagValue>; 'max-test'?: number; sources?: string[] };
  shortcut_probes?: { 'per-source'?: number };
  held_out?: {
    trainer?: Record<string, TrainerFlagValue>;
    folds: string[];
    'max-test'?: number;
    'target-fpr'?: number;
    'target-fnr'?: number;
    /** The published thresholds come from the folds' held-out photos (held-out-report.ts), not from validation. */
    'set-operating-point'?: boolean;
  };
}

export interface Recipe {
  schema_version: 1;
  name: string;
  description: string;
  module?: TrainerModule;
  evaluation?: RecipeEvaluation;
  trainer: Record<string, TrainerFlagValue>;
  pretrain?: RecipePretrain;
  compute?: RecipeCompute;
  pipeline?: Partial<Record<RecipeGateFlag, number>>;
}

/** A recipe as loaded: its content and the file it came from. */
export interface LoadedRecipe {
  recipe: Recipe;
  file: string;
}

export const RECIPES_FOLDER = path.join('training', 'recipes');
const RECIPE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const ajv = new Ajv({ allErrors: true, strict: false });
const validateRecipe = ajv.compile<Recipe>(recipeSchema);

/** A bare name is training/recipes/<name>.json under the repository; anything else is a path. */
export function recipeFile(nameOrPath: string, repoRoot: string): string {
  return RECIPE_NAME.test(nameOrPath) ? path.join(repoRoot, RECIPES_FOLDER, `${nameOrPath}.json`) : path.resolve(nameOrPath);
}

/** Parses and schema-checks a recipe; throws UsageError naming the file and every problem. */
export function parseRecipe(text: string, source: string): Recipe {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`recipe ${source} is not valid JSON: ${(error as Error).message}`);
  }
  if (!validateRecipe(value)) {
    throw new UsageError(`recipe ${source} does not match models/recipe.schema.json: ${describeAjvErrors(validateRecipe.errors)}`);
  }
  const heldOut = value.evaluation?.held_out;
  if (heldOut?.['set-operating-point'] === true) {
    const overridden = Object.keys(heldOut.trainer ?? {});
    if (overridden.length > 0) {
      throw new UsageError(
        `recipe ${source}: evaluation.held_out sets the operating point, so its folds must train as the published model does (their scores become its thresholds); remove evaluation.held_out.trainer (${overridden.join(', ')})`,
      );
    }
    if (value.trainer['target-fpr'] === undefined) {
      throw new UsageError(
        `recipe ${source}: evaluation.held_out sets the operating point at the trainer's target-fpr, which is missing; add trainer["target-fpr"] (e.g. 0.02)`,
      );
    }
  }
  return value;
}

export async function loadRecipe(nameOrPath: string, repoRoot: string): Promise<LoadedRecipe> {
  const file = recipeFile(nameOrPath, repoRoot);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const known = RECIPE_NAME.test(nameOrPath) ? ` (a bare name means ${path.join(RECIPES_FOLDER, `${nameOrPath}.json`)})` : '';
    throw new UsageError(`cannot read recipe ${JSON.stringify(nameOrPath)} at ${file}${known}: ${(error as Error).message}`);
  }
  const recipe = parseRecipe(text, file);
  if (RECIPE_NAME.test(nameOrPath) && recipe.name !== nameOrPath) {
    throw new UsageError(`recipe ${file} is named ${JSON.stringify(recipe.name)}; a file training/recipes/<name>.json must be named <name>`);
  }
  return { recipe, file };
}

/** `{ epochs: 14, 'no-augment': true, flip: false }` → `['--epochs', '14', '--no-augment']`, in the recipe's order. */
export function recipeTrainerArgs(entries: Readonly<Record<string, TrainerFlagValue>>): string[] {
  const args: string[] = [];
  for (const [flag, value] of Object.entries(entries)) {
    if (value === false) continue;
    args.push(`--${flag}`);
    if (value !== true) args.push(String(value));
  }
  return args;
}

type NumericTrainerField = 'imageSize' | 'epochs' | 'batchSize' | 'lr' | 'maxSteps' | 'seed' | 'threads';

/** Trainer flags the pipeline itself reads (image size for the dataset scan, …), with the field holding them. */
const TYPED_TRAINER_FLAGS: Readonly<Record<string, NumericTrainerField>> = {
  'image-size': 'imageSize',
  epochs: 'epochs',
  'batch-size': 'batchSize',
  lr: 'lr',
  'max-steps': 'maxSteps',
  seed: 'seed',
  threads: 'threads',
};

const GATE_FIELDS: Readonly<Record<RecipeGateFlag, keyof PipelineOptions['gate']>> = {
  'min-accuracy': 'minAccuracy',
  'min-roc-auc': 'minRocAuc',
  'min-precision': 'minPrecision',
  'min-recall': 'minRecall',
  'max-ece': 'maxEce',
  'max-jpeg-drop': 'maxJpegDropPoints',
};

/**
 * The options with the recipe underneath them: every recipe entry applies unless the same flag was
 * given on the command line (`options.givenFlags`). Entries the pipeline reads go to their fields;
 * the rest become trainer arguments placed before `--trainer-arg`s, so those still win.
 */
export function applyRecipe(options: PipelineOptions, loaded: LoadedRecipe): PipelineOptions {
  const { recipe } = loaded;
  const given = new Set(options.givenFlags);
  const source = `recipe ${recipe.name} (${loaded.file})`;
  const trainer = { ...options.trainer };
  const validation = { ...options.validation };
  const gate = { ...options.gate };
  const passThrough: Record<string, TrainerFlagValue> = {};
  for (const [flag, value] of Object.entries(recipe.trainer)) {
    if (given.has(flag)) continue;
    const field = TYPED_TRAINER_FLAGS[flag];
    if (flag === 'arch') {
      if (typeof value !== 'string') throw new UsageError(`${source}: trainer.arch must be a string; got ${JSON.stringify(value)}`);
      trainer.arch = value;
    } else if (flag === 'val-fraction') {
      const fraction = numeric(value, flag, source, (v) => v >= 0 && v < 1, 'a number from 0 to below 1');
      trainer.valFraction = fraction;
      validation.valFraction = fraction;
    } else if (field !== undefined) {
      trainer[field] = numeric(
        value,
        flag,
        source,
        (v) => (field === 'lr' ? v > 0 : Number.isInteger(v) && v >= (field === 'seed' ? 0 : 1)),
        'a positive number',
      );
    } else {
      passThrough[flag] = value;
    }
  }
  trainer.extraArgs = [...recipeTrainerArgs(passThrough), ...options.trainer.extraArgs];
  for (const [flag, value] of Object.entries(recipe.pipeline ?? {}) as Array<[RecipeGateFlag, number]>) {
    if (!given.has(flag)) gate[GATE_FIELDS[flag]] = value as never;
  }
  return { ...options, trainer, validation, gate, appliedRecipe: { name: recipe.name, file: loaded.file, recipe } };
}

function numeric(value: TrainerFlagValue, flag: string, source: string, check: (value: number) => boolean, rule: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(number) || !check(number)) throw new UsageError(`${source}: trainer.${flag} must be ${rule}; got ${JSON.stringify(value)}`);
  return number;
}

/**
 * Where a pre-training dataset named by a recipe lives, beside the run's own dataset: an uploaded
 * dataset is <root>/<name>/<version> (gs://bucket/datasets/shoes/v3 → gs://bucket/datasets/cifake/
 * train-cleaned-1), a local folder <parent>/<name> (data/shoes → data/cifake).
 */
export function siblingDataset(datasetUri: string, own: { name: string; version: string }, wanted: { name: string; version: string }): string {
  const gs = /^gs:\/\//i.test(datasetUri);
  const trimmed = datasetUri.replace(/\/+$/, '');
  const parts = trimmed.split('/');
  const versioned = parts.length >= 2 && parts[parts.length - 1] === own.version && parts[parts.length - 2] === own.name;
  if (gs || versioned) {
    if (!versioned) {
      throw new UsageError(
        `the recipe pre-trains on dataset ${wanted.name} ${wanted.version}, found beside ${datasetUri} only when that is …/${own.name}/${own.version}; give --pretrain-dataset`,
      );
    }
    return [...parts.slice(0, -2), wanted.name, wanted.version].join('/');
  }
  return path.join(path.dirname(trimmed), wanted.name);
}
