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
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { type BlobStore, buildReference, type Config, createDecoder, createOnnxEngine, type DriftReference, FileBlobStore, type ImageDecoder, type ImageLimits, type LoadedModel, type Logger, type ModelMetadata, ModelRegistry, openBlobStore, type OpenBlobStoreOptions, parseMetadata, parseReference, type ReferenceInput } from '../../functions/src/core';
import { cacheFolderFor, downloadDataset, listDataset, openDataset } from './dataset';
import { parseDatasetInfo } from './dataset-info';
import { DatasetInvalidError, GateRejectedError, SkewError, UsageError } from './errors';
import { evaluateItems, loadModelForEvaluation, summarizeSplit, type SplitEvaluation } from './evaluate';
import { decideGate, renderGateDecision, type ChampionResult, type GateDecision, type GateThresholds } from './gate';
import type { BinaryMetrics } from './metrics';
import { renderModelCard } from './model-card';
import { checkParityBundle, compareSplit, judgeSkew, renderSkewReport, type SkewReport, type SkewTolerances } from './parity';
import { Progress, type ProgressStream } from './progress';
import { keepCandidate, makeVersionId, publishVersion, readProductionPointer, type PointerState, type VersionFiles } from './publish';
import { measureRobustness } from './robustness';
import { reproductionCommands, shownPath } from './run-commands';
import { readRunDir, type RunDir, type SplitItem } from './run-dir';
import { quoteArgument, runTrainer } from './run-trainer';
import { scanDataset } from './scan-dataset';
import { renderDatasetReport, validateDataset, type DatasetReport, type ValidationThresholds } from './validate-dataset';

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
}

export interface PipelineDeps {
  /** The serving configuration: decoder, image limits, storage endpoint, onnxruntime threads. */
  config: Readonly<Config>;
  logger: Logger;
  progressStream: ProgressStream;
  /** Folder holding the `training` package (the repository root). */
  repoRoot: string;
  now?: () => Date;
  signal?: AbortSignal;
}

export type PipelineResult =
  | { status: 'planned'; plan: string[]; dataset: DatasetReport }
  | { status: 'published'; name: string; version: string; location: string; previous_version: string | null; gate: GateDecision; metrics: Record<string, BinaryMetrics> };

const STEPS = ['dataset', 'train', 'evaluate', 'reference', 'gate', 'publish'] as const;
type StepName = (typeof STEPS)[number];

export async function runPipeline(options: PipelineOptions, deps: PipelineDeps): Promise<PipelineResult> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger;
  const step = (name: StepName, message: string, fields: Record<string, unknown> = {}): void => {
    logger.info(`[${STEPS.indexOf(name) + 1}/${STEPS.length} ${name}] ${message}`, fields);
  };
  const storeOptions: OpenBlobStoreOptions = {
    ...(deps.config.storageApiEndpoint === null ? {} : { gcsApiEndpoint: deps.config.storageApiEndpoint }),
    ...(deps.config.projectId === null ? {} : { projectId: deps.config.projectId }),
  };
  const modelStore = openBlobStore(options.store, storeOptions);
  const decoder = createDecoder(deps.config);
  const limits: ImageLimits = { maxImageBytes: deps.config.maxImageBytes, maxPixels: deps.config.maxPixels, minImageSide: deps.config.minImageSide };
  await mkdir(options.workDir, { recursive: true });

  // A completed run tells us its dataset and image size before anything else happens.
  const existingRun = options.fromRun === null ? null : await readRunDir(options.fromRun);
  const datasetUri = options.dataset ?? datasetFromRun(existingRun, deps.repoRoot);
  const imageSize = existingRun?.metadata.preprocessing.width ?? options.trainer.imageSize ?? (options.trainer.arch === 'compact' ? 32 : 224);

  // 1. dataset
  step('dataset', `listing ${datasetUri}`);
  const dataset = openDataset(datasetUri, storeOptions);
  const listing = await listDataset(dataset.store);
  let localRoot = dataset.localRoot;
  if (localRoot === null) {
    const folder = cacheFolderFor(datasetUri, options.cacheDir);
    step('dataset', `mirroring ${listing.files.length} images into ${folder}`);
    const progress = new Progress({ stream: deps.progressStream, label: 'download: images', intervalMs: options.progressIntervalMs });
    localRoot = await downloadDataset(dataset.store, listing, folder, { onProgress: (done, total) => progress.update(done, total) });
    progress.finish();
  }
  const localStore = new FileBlobStore(localRoot);
  step('dataset', `decoding ${listing.files.length} images with the serving decoder (${decoder.name})`);
  const scanProgress = new Progress({ stream: deps.progressStream, label: 'validate: images', intervalMs: options.progressIntervalMs });
  const scanned = await scanDataset(listing.files, (key) => localStore.read(key), {
    decoder,
    limits,
    decodeSize: imageSize,
    onProgress: (done, total) => scanProgress.update(done, total),
  });
  scanProgress.finish();
  const info = parseDatasetInfo(listing.infoBytes);
  // A completed run carved its val split with its own --val-fraction; predict the same split.
  const runValFraction = existingRun?.training.args.val_fraction;
  const validation = typeof runValFraction === 'number' ? { ...options.validation, valFraction: runValFraction } : options.validation;
  const report = validateDataset({ listing: { ...listing, location: shownPath(listing.location, deps.repoRoot) }, info, scanned }, validation);
  await writeJson(path.join(options.workDir, 'dataset-report.json'), report);
  const rendered = renderDatasetReport(report);
  deps.progressStream.write(`${rendered}\n`);
  if (!report.ok) {
    throw new DatasetInvalidError(
      `dataset ${datasetUri} failed validation with ${report.errors.length} error(s); full report: ${path.join(options.workDir, 'dataset-report.json')}`,
      rendered,
    );
  }
  step('dataset', 'dataset is valid', { images: report.images, warnings: report.warnings.length });

  const pointerAtStart = await readProductionPointer(modelStore, options.name);
  const trainerArgs = buildTrainerArgs(options, localRoot, path.join(options.workDir, 'run'));
  if (options.dryRun) {
    const plan = describePlan(options, datasetUri, localRoot, trainerArgs, modelStore, pointerAtStart);
    deps.progressStream.write(`${plan.join('\n')}\n`);
    return { status: 'planned', plan, dataset: report };
  }

  // 2. train
  let runDir: RunDir;
  if (existingRun !== null) {
    step('train', `skipped: evaluating the completed run ${existingRun.dir}`);
    runDir = existingRun;
  } else {
    const logFile = path.join(options.workDir, 'train.log');
    step('train', `running ${[options.python, ...trainerArgs].map(quoteArgument).join(' ')}`, { log: logFile });
    const result = await runTrainer({
      command: options.python,
      args: trainerArgs,
      cwd: deps.repoRoot,
      logFile,
      progressStream: deps.progressStream,
      progressIntervalMs: options.progressIntervalMs,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    step('train', `done in ${result.seconds.toFixed(1)}s`, { best_epoch: result.done.best_epoch, best_val: result.done.best_val });
    runDir = await readRunDir(path.join(options.workDir, 'run'));
  }
  if (runDir.robustness === null && options.robustnessQuality !== null) {
    step('train', `measuring accuracy after JPEG re-encoding at quality ${options.robustnessQuality}`);
    runDir.robustness = await measureRobustness({
      python: options.python,
      cwd: deps.repoRoot,
      runDir: runDir.dir,
      datasetRoot: localRoot,
      quality: options.robustnessQuality,
      threads: options.trainer.threads,
      logFile: path.join(options.workDir, 'train.log'),
    });
    step('train', `JPEG q${runDir.robustness.quality}: accuracy drops ${runDir.robustness.drop_points.toFixed(2)} points`);
  }

  // 3. evaluate
  const version = makeVersionId(now(), runDir.modelSha256);
  const metadata: ModelMetadata = { ...runDir.metadata, name: options.name, version };
  step('evaluate', `checking the exported graph against PyTorch on ${runDir.parity.n} parity inputs`, { version });
  const parity = await checkParityBundle(runDir.modelBytes, metadata, runDir.parity, deps.config.ortIntraOpThreads);
  const challenger = await loadModelForEvaluation(options.name, version, runDir.modelBytes, metadata, {
    intraOpNumThreads: deps.config.ortIntraOpThreads,
    logger,
  });
  const evaluations: SplitEvaluation[] = [];
  try {
    for (const split of ['val', 'test'] as const) {
      const items = runDir.split[split];
      if (items.length === 0) continue;
      step('evaluate', `scoring ${items.length} ${split} images through the serving code`);
      evaluations.push(summarizeSplit(split, await evaluateWithProgress(challenger, localRoot, items, decoder, limits, options, deps, split), metadata.threshold));
    }
  } finally {
    challenger.retire();
  }
  const agreements = evaluations.map((evaluation) => {
    const torch = runDir.torchEval[evaluation.split];
    if (torch === undefined) throw new Error(`torch_eval.json has no ${evaluation.split} entry`);
    return compareSplit(torch, evaluation, metadata.threshold);
  });
  const skew = judgeSkew(parity, agreements, options.skew);
  deps.progressStream.write(`${renderSkewReport(skew)}\n`);
  const metrics: Record<string, BinaryMetrics> = Object.fromEntries(evaluations.map((evaluation) => [evaluation.split, evaluation.metrics]));
  await writeJson(path.join(options.workDir, 'evaluation.json'), { version, metrics, skew });
  if (!skew.passed) {
    const failed = skew.checks.filter((check) => !check.passed).map((check) => `${check.name} = ${check.value} > ${check.limit}`);
    throw new SkewError(`the serving path disagrees with PyTorch beyond the tolerances: ${failed.join('; ')}; details: ${path.join(options.workDir, 'evaluation.json')}`);
  }
  for (const evaluation of evaluations) {
    const m = evaluation.metrics;
    step('evaluate', `${evaluation.split}: accuracy ${m.accuracy.toFixed(4)}, ROC-AUC ${m.roc_auc?.toFixed(4) ?? 'n/a'}, F1 ${m.f1.toFixed(4)}, ECE ${m.ece.toFixed(4)}`, { n: m.n });
  }

  // 4. reference
  const records: ReferenceInput[] = evaluations.flatMap((evaluation) =>
    evaluation.items.flatMap((item) =>
      item.probability === null || item.features === null
        ? []
        : [{ probability: item.probability, prediction: item.probability >= metadata.threshold ? 'ai_generated' : 'real', features: item.features }],
    ),
  );
  const reference: DriftReference = parseReference(buildReference(records, { name: options.name, version }, { createdAt: now() }), 'the new drift reference');
  step('reference', `built from ${reference.n} evaluated images`, { ai_generated_share: reference.prediction_mix.ai_generated_share });

  // 5. gate
  const gateEvaluation = evaluations.find((evaluation) => evaluation.split === 'test') ?? (evaluations[0] as SplitEvaluation);
  const pointer = await readProductionPointer(modelStore, options.name);
  let champion: ChampionResult | null = null;
  if (options.champion && pointer.pointer !== null) {
    step('gate', `evaluating production version ${pointer.pointer.version} on the same ${gateEvaluation.items.length} ${gateEvaluation.split} images`);
    champion = await evaluateChampion(modelStore, options.name, pointer, runDir.split[gateEvaluation.split], localRoot, decoder, limits, options, deps);
  }
  const decision = decideGate(
    {
      split: gateEvaluation.split,
      challenger: gateEvaluation.metrics,
      champion,
      championSkipped: !options.champion && pointer.pointer !== null,
      robustness: runDir.robustness === null ? null : { drop_points: runDir.robustness.drop_points, quality: runDir.robustness.quality },
    },
    options.gate,
  );
  deps.progressStream.write(`${renderGateDecision(decision)}\n`);
  step('gate', decision.passed ? `passed on ${decision.split}` : `rejected on ${decision.split}: ${decision.reasons.join('; ')}`);

  // 6. publish
  const commands = [
    `# training (from ${shownPath(path.join(runDir.dir, 'training.json'), deps.repoRoot)})`,
    ...reproductionCommands(runDir.dir, runDir.training, deps.repoRoot),
    '# evaluation, gate and publication',
    options.invocation,
  ];
  const files = buildVersionFiles(
    { options, version, metadata, runDir, datasetUri: shownPath(datasetUri, deps.repoRoot), report, metrics, skew, decision, reference, commands, createdAt: now() },
    decision.passed ? 'production' : 'candidate',
  );
  await writeJson(path.join(options.workDir, 'report.json'), JSON.parse(files['report.json'] as string));
  if (!decision.passed) {
    const location = await keepCandidate(modelStore, options.name, version, files);
    step('publish', `rejected by the gate; kept as a candidate at ${location}`);
    throw new GateRejectedError(`model ${options.name} ${version} was rejected by the gate: ${decision.reasons.join('; ')}; kept at ${location}`, location);
  }
  const result = await publishVersion({
    store: modelStore,
    name: options.name,
    version,
    sha256: runDir.modelSha256,
    files,
    expected: pointer,
    reason: describeReason(decision),
    now: now(),
  });
  step('publish', `production.json of ${options.name} now names ${version}`, { location: result.location, previous_version: result.pointer.previous_version ?? null });
  return {
    status: 'published',
    name: options.name,
    version,
    location: result.location,
    previous_version: result.pointer.previous_version ?? null,
    gate: decision,
    metrics,
  };
}

function datasetFromRun(run: RunDir | null, repoRoot: string): string {
  const recorded = run?.training.args.dataset;
  if (typeof recorded !== 'string' || recorded.length === 0) {
    throw new UsageError('--dataset is required (with --from-run, it defaults to the dataset recorded in the run\'s training.json, and this run has none)');
  }
  return path.isAbsolute(recorded) || /^gs:\/\//.test(recorded) ? recorded : path.resolve(repoRoot, recorded);
}

export function buildTrainerArgs(options: PipelineOptions, datasetRoot: string, outDir: string): string[] {
  const t = options.trainer;
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

function describePlan(options: PipelineOptions, datasetUri: string, localRoot: string, trainerArgs: string[], store: BlobStore, pointer: PointerState): string[] {
  const g = options.gate;
  return [
    'Plan (dry run: nothing was trained or published):',
    `  dataset    ${datasetUri}${localRoot === datasetUri ? '' : ` (local copy ${localRoot})`}: valid`,
    options.fromRun === null
      ? `  train      ${[options.python, ...trainerArgs].map(quoteArgument).join(' ')}`
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

async function evaluateWithProgress(
  model: LoadedModel,
  root: string,
  items: readonly SplitItem[],
  decoder: ImageDecoder,
  limits: ImageLimits,
  options: PipelineOptions,
  deps: PipelineDeps,
  label: string,
): Promise<SplitEvaluation['items']> {
  const progress = new Progress({ stream: deps.progressStream, label: `evaluate ${model.version} on ${label}: images`, intervalMs: options.progressIntervalMs });
  const items_ = await evaluateItems(model, root, items, { decoder, limits, batchSize: options.evalBatchSize, onProgress: (done, total) => progress.update(done, total) });
  progress.finish();
  return items_;
}

/** Loads the production version exactly as serving does (ModelRegistry) and scores the same images. */
async function evaluateChampion(
  store: BlobStore,
  name: string,
  pointer: PointerState,
  items: readonly SplitItem[],
  root: string,
  decoder: ImageDecoder,
  limits: ImageLimits,
  options: PipelineOptions,
  deps: PipelineDeps,
): Promise<ChampionResult> {
  const version = pointer.pointer?.version ?? '(none)';
  const registry = new ModelRegistry({
    store,
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: deps.config.ortIntraOpThreads }),
    refreshMs: 3_600_000,
    logger: deps.logger,
  });
  let model: LoadedModel;
  try {
    model = await registry.get(name);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return { version, error: [messageOf(error), cause === undefined ? null : messageOf(cause)].filter((part) => part !== null).join(': ') };
  }
  try {
    if (model.version !== version) {
      return { version, error: `production.json moved to ${model.version} while the pipeline was reading it; run again` };
    }
    const scored = await evaluateWithProgress(model, root, items, decoder, limits, options, deps, 'the gate split');
    const summary = summarizeSplit('val', scored, model.metadata.threshold);
    if (summary.failures > 0) {
      const first = scored.find((item) => item.error !== null);
      return { version, error: `it could not score ${summary.failures} of the images (first: ${first?.path}: ${first?.error})` };
    }
    return { version, metrics: summary.metrics };
  } finally {
    model.retire();
  }
}

function describeReason(decision: GateDecision): string {
  const passed = decision.checks.filter((check) => check.value !== null).map((check) => check.detail);
  return `training pipeline: gate passed on ${decision.split} (${passed.join('; ')})`;
}

interface VersionFileInput {
  options: PipelineOptions;
  version: string;
  metadata: ModelMetadata;
  runDir: RunDir;
  datasetUri: string;
  report: DatasetReport;
  metrics: Record<string, BinaryMetrics>;
  skew: SkewReport;
  decision: GateDecision;
  reference: DriftReference;
  commands: string[];
  createdAt: Date;
}

function buildVersionFiles(input: VersionFileInput, status: 'production' | 'candidate'): VersionFiles {
  const { options, version, runDir, report, metrics, skew, decision } = input;
  const metadata: ModelMetadata = {
    ...input.metadata,
    training: {
      ...(input.metadata.training ?? {}),
      dataset: { name: report.dataset?.name ?? null, version: report.dataset?.version ?? null, uri: input.datasetUri },
      published_by: 'training pipeline',
      gate_split: decision.split,
    },
  };
  const metadataText = `${JSON.stringify(metadata, null, 2)}\n`;
  parseMetadata(`${options.name}/${version}/metadata.json`, metadataText);
  const torch = Object.fromEntries(
    Object.entries(runDir.torchEval).map(([split, value]) => {
      const { probabilities: _probabilities, ...rest } = value as { probabilities: number[] };
      return [split, rest];
    }),
  );
  const metricsDoc = {
    model: { name: options.name, version, sha256: runDir.modelSha256 },
    evaluated_at: input.createdAt.toISOString(),
    threshold: input.metadata.threshold,
    gate_split: decision.split,
    serving: metrics,
    pytorch: torch,
    skew: { passed: skew.passed, tolerances: skew.tolerances, checks: skew.checks, parity: skew.parity },
    robustness: runDir.robustness,
    champion: decision.champion,
  };
  const reportDoc = {
    status,
    model: { name: options.name, version, sha256: runDir.modelSha256 },
    created_at: input.createdAt.toISOString(),
    gate: decision,
    skew,
    dataset: report,
    training: runDir.training,
    commands: input.commands,
  };
  const readme = renderModelCard({
    name: options.name,
    version,
    status,
    createdAt: input.createdAt,
    metadata,
    modelSha256: runDir.modelSha256,
    modelBytes: runDir.modelBytes.length,
    dataset: { uri: input.datasetUri, info: report.dataset, report },
    training: runDir.training,
    commands: input.commands,
    metrics: { val: metrics.val as BinaryMetrics, ...(metrics.test === undefined ? {} : { test: metrics.test }) },
    skew,
    gate: decision,
    reference: input.reference,
    robustness: runDir.robustness,
  });
  return {
    'model.onnx': runDir.modelBytes,
    'metadata.json': metadataText,
    'reference.json': `${JSON.stringify(input.reference)}\n`,
    'metrics.json': `${JSON.stringify(metricsDoc, null, 2)}\n`,
    'README.md': readme,
    'report.json': `${JSON.stringify(reportDoc, null, 2)}\n`,
  };
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A path as published files show it: relative to the repository when inside it (a model card must
 * not depend on the machine it was made on), unchanged otherwise (gs:// URIs, other folders).
 */
