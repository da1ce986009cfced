/**
 * Part of step 2: a recipe's pre-training stage. Loads the stage's own recipe, finds its dataset
 * (this run's, the one it names beside it, or --pretrain-dataset), mirrors a gs:// one when the
 * runner trains locally, and trains it into <workDir>/pretrain/run; its checkpoint is the model
 * stage's --init-from. The pre-training dataset is not validated again: it is the dataset of a model
 * that was validated when it was trained.
 */
import { cacheFolderFor, downloadDataset, listDataset, openDataset } from '../dataset';
import { Progress } from '../progress';
import { applyRecipe, loadRecipe, type RecipePretrain, siblingDataset } from '../recipe';
import type { TrainerRun, TrainerRunner } from '../trainer/trainer-runner';
import { pretrainBase, trainerJob } from '../training-jobs';
import type { StepContext } from './step-context';

export interface PretrainInput {
  pretrain: RecipePretrain;
  /** This run's dataset: its location, local copy, and dataset.json name and version. */
  dataset: { uri: string; local: string; name: string; version: string };
  runner: TrainerRunner;
}

export async function pretrainStage(input: PretrainInput, context: StepContext): Promise<TrainerRun> {
  const { options, deps, step } = context;
  const loaded = await loadRecipe(input.pretrain.recipe, deps.repoRoot);
  const wanted = input.pretrain.dataset;
  const uri = options.pretrainDataset ?? (wanted === undefined ? input.dataset.uri : siblingDataset(input.dataset.uri, input.dataset, wanted));
  let local: string | null = uri === input.dataset.uri ? input.dataset.local : null;
  if (local === null) {
    const opened = openDataset(uri, context.storeOptions);
    local = opened.localRoot;
    if (local === null && input.runner.needsLocalDataset) {
      const listing = await listDataset(opened.store);
      const folder = cacheFolderFor(uri, options.cacheDir);
      step('train', `pre-training: mirroring ${listing.files.length} images of ${uri} into ${folder}`);
      const progress = new Progress({ stream: deps.progressStream, label: 'download: images', intervalMs: options.progressIntervalMs });
      local = await downloadDataset(opened.store, listing, folder, { onProgress: (done, total) => progress.update(done, total) });
      progress.finish();
    }
  }
  const stageOptions = applyRecipe(pretrainBase(options), loaded);
  const job = trainerJob(stageOptions, { stage: 'pretrain', dataset: { uri, local }, initFrom: null });
  step('train', `pre-training with recipe ${loaded.recipe.name} on ${uri} (${input.runner.name}): ${input.runner.describe(job)}`, { log: job.logFile });
  const run = await input.runner.run(job, deps.signal);
  step('train', `pre-training done in ${run.seconds.toFixed(1)}s`, { best_epoch: run.done.best_epoch, checkpoint: run.checkpoint });
  return run;
}
