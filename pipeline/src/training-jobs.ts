/**
 * The trainer's command line and the training jobs of a run (pure): the model's own stage, and the
 * pre-training stage of its recipe, with the options each is trained with.
 */
import * as path from 'node:path';
import type { TrainerJob, TrainerPaths } from './trainer/trainer-runner';
import type { PipelineOptions, TrainerSettings } from './steps/step-context';
import { UsageError } from './errors';
import { DEFAULT_THRESHOLDS } from './validate-dataset';

export function buildTrainerArgs(options: PipelineOptions, datasetRoot: string, outDir: string): string[] {
  const t = options.trainer;
  if ((options.appliedRecipe?.recipe.module ?? 'training.train') === 'training.train_patches') return buildPatchTrainerArgs(options, datasetRoot, outDir);
  const args = ['-m', 'training.train', '--dataset', datasetRoot, '--out', outDir, '--name', options.name, '--arch', t.arch];
  const optional: Array<[string, number | string | null]> = [
    ['--image-size', t.imageSize],
    ['--epochs', t.epochs],
    ['--batch-size', t.batchSize],
    ['--lr', t.lr],
    ['--max-steps', t.maxSteps],
    ['--seed', t.seed],
    ['--init-from', t.initFrom],
  ];
  for (const [flag, value] of optional) if (value !== null) args.push(flag, String(value));
  args.push('--val-fraction', String(t.valFraction), '--threads', String(t.threads), ...t.extraArgs);
  return args;
}

/**
 * python3 -m training.train_patches: the patch detector takes the schedule flags the pipeline knows
 * (epochs, batch size, learning rate, seed, threads) and the recipe's own; it has no architecture
 * choice, input size, step limit, carved validation split or --init-from, so those are refused.
 */
export function buildPatchTrainerArgs(options: PipelineOptions, datasetRoot: string, outDir: string): string[] {
  const t = options.trainer;
  const refused = (
    [
      ['--image-size', t.imageSize],
      ['--max-steps', t.maxSteps],
      ['--init-from', t.initFrom],
    ] as const
  ).filter(([, value]) => value !== null);
  if (refused.length > 0) {
    throw new UsageError(
      `the patch trainer (training.train_patches) takes no ${refused.map(([flag]) => flag).join(', ')}; leave them out of the recipe and the command line`,
    );
  }
  const args = ['-m', 'training.train_patches', '--dataset', datasetRoot, '--out', outDir, '--name', options.name];
  const optional: Array<[string, number | null]> = [
    ['--epochs', t.epochs],
    ['--batch-size', t.batchSize],
    ['--lr', t.lr],
    ['--seed', t.seed],
  ];
  for (const [flag, value] of optional) if (value !== null) args.push(flag, String(value));
  args.push('--threads', String(t.threads), ...t.extraArgs);
  return args;
}

export interface JobSpec {
  stage: TrainerJob['stage'];
  dataset: TrainerJob['dataset'];
  initFrom: string | null;
}

/** A stage trained with `options` (recipe applied), writing <workDir>/run or <workDir>/pretrain/run. */
export function trainerJob(options: PipelineOptions, spec: JobSpec): TrainerJob {
  const folder = spec.stage === 'train' ? options.workDir : path.join(options.workDir, 'pretrain');
  return {
    stage: spec.stage,
    buildArgs: (paths: TrainerPaths) => buildTrainerArgs({ ...options, trainer: { ...options.trainer, initFrom: paths.initFrom } }, paths.dataset, paths.out),
    dataset: spec.dataset,
    outDir: path.join(folder, 'run'),
    initFrom: spec.initFrom,
    logFile: path.join(folder, 'train.log'),
    compute: options.appliedRecipe?.recipe.compute ?? null,
  };
}

/** The trainer's own defaults: what a pre-training stage starts from before its recipe applies. */
export const DEFAULT_TRAINER: Readonly<TrainerSettings> = Object.freeze({
  arch: 'compact',
  imageSize: null,
  epochs: null,
  batchSize: null,
  lr: null,
  maxSteps: null,
  valFraction: DEFAULT_THRESHOLDS.valFraction,
  seed: null,
  threads: 2,
  initFrom: null,
  extraArgs: [],
});

/** Flags of the command line that reach a pre-training stage too: how to run, not what to train. */
const SHARED_WITH_PRETRAIN = ['threads', 'max-steps'] as const;

/** The options a recipe's pre-training stage starts from: trainer defaults, with --threads and --max-steps kept. */
export function pretrainBase(options: PipelineOptions): PipelineOptions {
  const given = options.givenFlags.filter((flag) => (SHARED_WITH_PRETRAIN as readonly string[]).includes(flag));
  return {
    ...options,
    trainer: {
      ...DEFAULT_TRAINER,
      extraArgs: [],
      ...(given.includes('threads') ? { threads: options.trainer.threads } : {}),
      ...(given.includes('max-steps') ? { maxSteps: options.trainer.maxSteps } : {}),
    },
    givenFlags: given,
    appliedRecipe: null,
  };
}
