/**
 * Step 2, train: run the recipe's pre-training stage when it has one, then the trainer with a
 * progress bar, on this machine or as a Vertex AI custom job (skipped for a completed run); then
 * measure the model's accuracy after JPEG re-encoding when the run has not already.
 */
import { existsSync } from 'node:fs';
import { measureRobustness } from '../robustness';
import { runSourceEvaluations } from '../source-evaluations';
import { readRunDir, type RunDir } from '../run-dir';
import type { TrainerRunner } from '../trainer/trainer-runner';
import { trainerJob } from '../training-jobs';
import { pretrainStage } from './pretrain-stage';
import type { StepContext } from './step-context';
import * as path from 'node:path';

export interface TrainStepInput {
  existingRun: RunDir | null;
  /** The dataset's location (folder or gs://) and a local folder holding it (itself or its mirror). */
  datasetUri: string;
  localRoot: string;
  /** What the model stage trains on: datasetUri, or the local merge with --with-feedback. */
  trainUri: string;
  /** dataset.json's name and version (where a recipe finds its pre-training dataset). */
  datasetInfo: { name: string; version: string };
  runner: TrainerRunner;
}

export async function trainStep(input: TrainStepInput, context: StepContext): Promise<RunDir> {
  const { options, deps, step } = context;
  let runDir: RunDir;
  if (input.existingRun !== null) {
    step('train', `skipped: evaluating the completed run ${input.existingRun.dir}`);
    runDir = input.existingRun;
  } else {
    const pretrain = options.appliedRecipe?.recipe.pretrain;
    let initFrom = options.trainer.initFrom;
    if (pretrain !== undefined && initFrom === null) {
      const dataset = { uri: input.datasetUri, local: input.localRoot, ...input.datasetInfo };
      initFrom = (await pretrainStage({ pretrain, dataset, runner: input.runner }, context)).checkpoint;
    }
    const job = trainerJob(options, { stage: 'train', dataset: { uri: input.trainUri, local: input.localRoot }, initFrom });
    step('train', `running (${input.runner.name}) ${input.runner.describe(job)}`, { log: job.logFile });
    const result = await input.runner.run(job, deps.signal);
    step('train', `done in ${result.seconds.toFixed(1)}s`, { best_epoch: result.done.best_epoch, best_val: result.done.best_val });
    runDir = await readRunDir(job.outDir);
  }
  const evaluation = options.appliedRecipe?.recipe.evaluation;
  if (evaluation !== undefined) {
    const missing = {
      ...(evaluation.leave_one_source_out !== undefined && !existsSync(path.join(runDir.dir, 'loso.json'))
        ? { leave_one_source_out: evaluation.leave_one_source_out }
        : {}),
      ...(evaluation.shortcut_probes !== undefined && !existsSync(path.join(runDir.dir, 'probes.json')) ? { shortcut_probes: evaluation.shortcut_probes } : {}),
      ...(evaluation.held_out !== undefined && !existsSync(path.join(runDir.dir, 'heldout.json')) ? { held_out: evaluation.held_out } : {}),
    };
    await runSourceEvaluations(
      {
        python: options.python,
        cwd: deps.repoRoot,
        runDir: runDir.dir,
        datasetRoot: input.localRoot,
        trainer: options.appliedRecipe!.recipe.trainer,
        evaluation: missing,
        threads: options.trainer.threads,
        logFile: path.join(options.workDir, 'train.log'),
      },
      (what) => step('train', what),
    );
  }
  if (runDir.robustness === null && options.robustnessQuality !== null) {
    step('train', `measuring accuracy after JPEG re-encoding at quality ${options.robustnessQuality}`);
    runDir.robustness = await measureRobustness({
      python: options.python,
      cwd: deps.repoRoot,
      runDir: runDir.dir,
      datasetRoot: input.localRoot,
      quality: options.robustnessQuality,
      threads: options.trainer.threads,
      logFile: path.join(options.workDir, 'train.log'),
    });
    step('train', `JPEG q${runDir.robustness.quality}: accuracy drops ${runDir.robustness.drop_points.toFixed(2)} points`);
  }
  return runDir;
}
