/**
 * The training pipeline, step by step, each step logged:
 *
 *   1. dataset   list (and for gs:// mirror into the cache), check dataset.json, decode every image
 *                with the serving decoder, count, find duplicates, leaks and corrupt files
 *   2. train     run the Python trainer with a progress bar (skipped with --from-run), then measure
 *                JPEG robustness
 *   3. evaluate  the exported ONNX model through the serving code on val (and test); check it
 *                against PyTorch (parity bundle and per-image P(AI)) for train/serve skew
 *   4. reference the drift reference from the same evaluation (models/reference.schema.json)
 *   5. gate      thresholds, and the current production version on the same images
 *   6. publish   immutable <store>/<name>/<version>/, then production.json by compare-and-swap;
 *                a rejected model goes to <store>/<name>/candidates/<version>/
 *
 * --dry-run stops after step 1 and prints the plan.
 */
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { type BlobStore, isBlobNotFound, openBlobStore, type OpenBlobStoreOptions, storeOptionsFrom } from '../../functions/src/platform';
import { createDecoder, type ImageLimits } from '../../functions/src/detector';
import { chooseTrainerRunner } from './trainer/choose-trainer-runner';
import { openDataset } from './dataset';
import { DATASET_INFO_FILE } from './dataset-info';
import { applyRecipe, loadRecipe } from './recipe';
import { trainerJob } from './training-jobs';
import { UsageError } from './errors';
import { makeVersionId, readProductionPointer, type PointerState } from './publish';
import { readRunDir, type RunDir } from './run-dir';
import { defaultImageSize } from './shared-constants';
import { datasetStep } from './steps/dataset-step';
import { evaluateStep } from './steps/evaluate-step';
import { gateStep } from './steps/gate-step';
import { publishStep } from './steps/publish-step';
import { referenceStep } from './steps/reference-step';
import { type PipelineDeps, type PipelineOptions, type PipelineResult, STEPS, type StepContext } from './steps/step-context';
import { trainStep } from './steps/train-step';

export type { PipelineDeps, PipelineOptions, PipelineResult, TrainerSettings } from './steps/step-context';
export { buildTrainerArgs } from './training-jobs';

export async function runPipeline(given: PipelineOptions, deps: PipelineDeps): Promise<PipelineResult> {
  const storeOptions = storeOptionsFrom(deps.config);
  await mkdir(given.workDir, { recursive: true });
  // A completed run tells us its dataset and image size before anything else happens.
  const existingRun = given.fromRun === null ? null : await readRunDir(given.fromRun);
  const datasetUri = given.dataset ?? datasetFromRun(existingRun, deps.repoRoot);
  // The recipe (--recipe, else dataset.json's) goes under the command line before anything reads the
  // options. A completed run was trained already: only a recipe named on the command line applies
  // to it (its evaluations, operating point and gate), never dataset.json's.
  const datasetInfo = await readDatasetNames(datasetUri, storeOptions);
  const recipeName = given.recipe ?? (existingRun === null ? (datasetInfo?.recipe ?? null) : null);
  const options = recipeName === null ? given : applyRecipe(given, await loadRecipe(recipeName, deps.repoRoot));
  if (options.appliedRecipe !== null) {
    deps.logger.info(`training recipe ${options.appliedRecipe.name} (${options.appliedRecipe.file})${given.recipe === null ? ', named by dataset.json' : ''}`);
  }
  const context = openContext(options, deps);
  const imageSize = existingRun?.metadata.preprocessing.width ?? options.trainer.imageSize ?? defaultImageSize(options.trainer.arch);

  const { localRoot, report, trainUri } = await datasetStep({ datasetUri, imageSize, existingRun }, context);
  const runner = deps.trainerRunner ?? chooseTrainerRunner(options, deps, context.storeOptions);
  const job = trainerJob(options, { stage: 'train', dataset: { uri: trainUri, local: localRoot }, initFrom: options.trainer.initFrom });
  if (options.dryRun) {
    const plan = describePlan(
      options,
      datasetUri,
      localRoot,
      runner.describe(job),
      context.modelStore,
      await readProductionPointer(context.modelStore, options.name),
    );
    deps.progressStream.write(`${plan.join('\n')}\n`);
    return { status: 'planned', plan, dataset: report };
  }
  const runDir = await trainStep(
    { existingRun, localRoot, datasetUri, trainUri, datasetInfo: datasetInfo ?? { name: options.name, version: '' }, runner },
    context,
  );
  const version = makeVersionId(context.now(), runDir.modelSha256);
  const { metadata, evaluations, metrics, perSource, answers, skew } = await evaluateStep({ runDir, localRoot, version }, context);
  const reference = referenceStep({ evaluations, metadata, version }, context);
  const { decision, pointer } = await gateStep({ evaluations, runDir, localRoot, ...(answers === undefined ? {} : { answers }) }, context);
  return publishStep(
    { version, metadata, runDir, datasetUri, report, metrics, perSource, ...(answers === undefined ? {} : { answers }), skew, decision, pointer, reference },
    context,
  );
}

/** Opens what every step shares: the model store, the serving decoder and limits, the step logger. */
function openContext(options: PipelineOptions, deps: PipelineDeps): StepContext {
  const storeOptions = storeOptionsFrom(deps.config);
  const limits: ImageLimits = { maxImageBytes: deps.config.maxImageBytes, maxPixels: deps.config.maxPixels, minImageSide: deps.config.minImageSide };
  return {
    options,
    deps,
    logger: deps.logger,
    step: (name, message, fields = {}) => deps.logger.info(`[${STEPS.indexOf(name) + 1}/${STEPS.length} ${name}] ${message}`, fields),
    storeOptions,
    modelStore: openBlobStore(options.store, storeOptions),
    decoder: createDecoder(deps.config),
    limits,
    now: deps.now ?? (() => new Date()),
  };
}

/** dataset.json's name, version and recipe, read ahead of the dataset step; null when unreadable (that step reports why). */
async function readDatasetNames(
  datasetUri: string,
  storeOptions: OpenBlobStoreOptions,
): Promise<{ name: string; version: string; recipe: string | null } | null> {
  let value: unknown;
  try {
    value = JSON.parse((await openDataset(datasetUri, storeOptions).store.read(DATASET_INFO_FILE)).toString());
  } catch (error) {
    if (isBlobNotFound(error) || error instanceof SyntaxError) return null;
    throw error;
  }
  if (typeof value !== 'object' || value === null) return null;
  const info = value as Record<string, unknown>;
  const text = (field: string): string | null => (typeof info[field] === 'string' ? info[field] : null);
  return { name: text('name') ?? '', version: text('version') ?? '', recipe: text('recipe') };
}

function datasetFromRun(run: RunDir | null, repoRoot: string): string {
  const recorded = run?.training.args.dataset;
  if (typeof recorded !== 'string' || recorded.length === 0) {
    throw new UsageError("--dataset is required (with --from-run, it defaults to the dataset recorded in the run's training.json, and this run has none)");
  }
  return path.isAbsolute(recorded) || /^gs:\/\//.test(recorded) ? recorded : path.resolve(repoRoot, recorded);
}

function describePlan(
  options: PipelineOptions,
  datasetUri: string,
  localRoot: string,
  trainCommand: string,
  store: BlobStore,
  pointer: PointerState,
): string[] {
  const g = options.gate;
  return [
    'Plan (dry run: nothing was trained or published):',
    `  dataset    ${datasetUri}${localRoot === datasetUri ? '' : ` (local copy ${localRoot})`}: valid`,
    options.fromRun === null
      ? `  train      ${options.appliedRecipe === null ? '' : `recipe ${options.appliedRecipe.name}${options.appliedRecipe.recipe.pretrain === undefined ? '' : ` (after pre-training with recipe ${options.appliedRecipe.recipe.pretrain.recipe})`}: `}${trainCommand}`
      : `  train      skipped: evaluate the completed run ${options.fromRun}`,
    `  robustness ${options.robustnessQuality === null ? 'skipped' : `JPEG quality ${options.robustnessQuality} on val`}`,
    `  evaluate   val (and test) through the serving code; skew limits: max |Δlogit| ${options.skew.maxLogitDiff}, mean |ΔP| ${options.skew.maxMeanProbabilityDiff}, |Δaccuracy| ${options.skew.maxAccuracyDelta}, |ΔROC-AUC| ${options.skew.maxRocAucDelta}`,
    `  gate       accuracy ≥ ${g.minAccuracy}, ROC-AUC ≥ ${g.minRocAuc}, ECE ≤ ${g.maxEce}, JPEG drop ≤ ${g.maxJpegDropPoints} points` +
      (g.minPrecision > 0 ? `, precision ≥ ${g.minPrecision}` : '') +
      (g.minRecall > 0 ? `, recall ≥ ${g.minRecall}` : ''),
    `  champion   ${!options.champion ? 'comparison switched off' : pointer.pointer === null ? 'none (no production.json yet)' : `${pointer.pointer.version}: ${g.championMetrics.join(', ')} must not drop by more than ${g.championTolerance}`}`,
    `  publish    ${store.location}/${options.name}/<version>/ then ${store.location}/${options.name}/production.json (if generation ${pointer.generation ?? '0 (absent)'})`,
    `  work dir   ${options.workDir}`,
  ];
}
