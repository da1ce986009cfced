/**
 * Step 3, evaluate: the exported ONNX model, loaded as the registry loads models, scores val (and
 * test) through the serving core; the parity bundle and PyTorch's own per-image P(AI) check it for
 * train/serve skew, which ends the run when it passes the tolerances.
 */
import * as path from 'node:path';
import type { LoadedModel, ModelMetadata } from '../../../functions/src/detector';
import { SkewError } from '../errors';
import { evaluateItems, loadModelForEvaluation, summarizeSplit, type SplitEvaluation } from '../evaluate';
import type { BinaryMetrics } from '../evaluation-metrics';
import { checkParityBundle, compareSplit, judgeSkew, renderSkewReport, type SkewReport } from '../parity';
import { Progress } from '../progress';
import { heldOutThresholds, isHeldOutReport } from '../held-out-report';
import { computeOperatingPoint, measureOperatingPoint, operatingPointBand, type OperatingPoint, type OperatingPointTargets } from '../operating-point';
import { answersBySource, type SplitAnswers } from '../sources';
import { computeUncertaintyBand } from '../uncertainty-band';
import type { RunDir, SplitItem } from '../run-dir';
import { readRunReport, type StepContext, writeJson } from './step-context';

export interface EvaluateStepInput {
  runDir: RunDir;
  localRoot: string;
  version: string;
}

export interface EvaluateStepResult {
  /** The run's metadata under the published name and version. */
  metadata: ModelMetadata;
  evaluations: SplitEvaluation[];
  metrics: Record<string, BinaryMetrics>;
  /** Per split, the metrics of each source (empty objects for a dataset without a source level). */
  perSource: Record<string, Record<string, BinaryMetrics>>;
  /** Per split, what a model deciding at an operating point answers (real, uncertain, AI), per class and source; absent for other models. */
  answers?: Record<string, SplitAnswers>;
  skew: SkewReport;
}

export async function evaluateStep(input: EvaluateStepInput, context: StepContext): Promise<EvaluateStepResult> {
  const { options, deps, step, logger } = context;
  const { runDir, version } = input;
  let metadata: ModelMetadata = { ...runDir.metadata, name: options.name, version };
  step('evaluate', `checking the exported graph against PyTorch on ${runDir.parity.n} parity inputs`, { version });
  const parity = await checkParityBundle(runDir.modelBytes, metadata, runDir.parity, deps.config.ortIntraOpThreads);
  const challenger = await loadModelForEvaluation(options.name, version, runDir.modelBytes, metadata, {
    intraOpNumThreads: deps.config.ortIntraOpThreads,
    logger,
  });
  const scoredSplits: Array<{ split: 'val' | 'test'; items: SplitEvaluation['items'] }> = [];
  try {
    for (const split of ['val', 'test'] as const) {
      const items = runDir.split[split];
      if (items.length === 0) continue;
      step('evaluate', `scoring ${items.length} ${split} images through the serving code`);
      scoredSplits.push({ split, items: await evaluateWithProgress(challenger, input.localRoot, items, context, split) });
    }
  } finally {
    challenger.retire();
  }
  // A model that decides at an operating point gets its thresholds before anything is measured at
  // them: from the held-out folds' photos when its recipe says so (held-out-report.ts), else from the
  // serving path's validation scores (operating-point.ts).
  const requested = runDir.metadata.operating_point as OperatingPointTargets | undefined;
  const valScored = (scoredSplits.find((entry) => entry.split === 'val')?.items ?? []).filter((item) => item.probability !== null);
  let point: OperatingPoint | null = null;
  if (requested !== undefined && valScored.length > 0) {
    const targets = { target_fpr: requested.target_fpr, target_fnr: requested.target_fnr };
    const labels = valScored.map((item) => item.label);
    const probabilities = valScored.map((item) => item.probability as number);
    if (options.appliedRecipe?.recipe.evaluation?.held_out?.['set-operating-point'] === true) {
      const report = readRunReport(runDir.dir, 'heldout.json', isHeldOutReport);
      if (report === null)
        throw new Error(`the recipe sets the operating point on its held-out folds, but ${path.join(runDir.dir, 'heldout.json')} is missing`);
      const { thresholds, heldOut } = heldOutThresholds(report, targets);
      point = measureOperatingPoint(labels, probabilities, targets, thresholds, heldOut);
      const cross = heldOut.cross_fold;
      step(
        'evaluate',
        `operating point set on ${heldOut.real_images} held-out real photos and ${heldOut.generator_images} generator-image scores of ${heldOut.folds.length} folds: P(AI) ≥ ${point.ai_threshold} is ai_generated, below ${point.real_threshold} real; fold by fold at the other folds' thresholds, held-out real photos called AI ${cross.fpr} (95 % CI [${cross.fpr_ci.join(', ')}]), generator images ${cross.tpr}; on val: FPR ${point.fpr}, TPR ${point.tpr}, ${(100 * point.share_uncertain).toFixed(2)} % between`,
      );
    } else {
      point = computeOperatingPoint(labels, probabilities, targets);
      step(
        'evaluate',
        `operating point: P(AI) ≥ ${point.ai_threshold} is ai_generated (val FPR ${point.fpr}, 95 % CI [${point.fpr_ci.join(', ')}]; TPR ${point.tpr}), below ${point.real_threshold} real; ${(100 * point.share_uncertain).toFixed(2)} % of val between`,
      );
    }
    metadata = { ...metadata, threshold: point.ai_threshold, operating_point: point };
  }
  const evaluations = scoredSplits.map((entry) => summarizeSplit(entry.split, entry.items, metadata.threshold));
  // Train/serve agreement is judged at the run's own threshold, the one PyTorch's accuracy in
  // torch_eval.json was measured at: a published threshold set elsewhere moves both paths alike.
  const agreements = scoredSplits.map((entry) => {
    const torch = runDir.torchEval[entry.split];
    if (torch === undefined) throw new Error(`torch_eval.json has no ${entry.split} entry`);
    return compareSplit(torch, summarizeSplit(entry.split, entry.items, runDir.metadata.threshold), runDir.metadata.threshold);
  });
  const skew = judgeSkew(parity, agreements, options.skew);
  deps.progressStream.write(`${renderSkewReport(skew)}\n`);
  const metrics: Record<string, BinaryMetrics> = Object.fromEntries(evaluations.map((evaluation) => [evaluation.split, evaluation.metrics]));
  const perSource = Object.fromEntries(evaluations.map((evaluation) => [evaluation.split, evaluation.perSource]));
  await writeJson(path.join(options.workDir, 'evaluation.json'), { version, metrics, per_source: perSource, skew });
  if (!skew.passed) {
    const failed = skew.checks.filter((check) => !check.passed).map((check) => `${check.name} = ${check.value} > ${check.limit}`);
    throw new SkewError(
      `the serving path disagrees with PyTorch beyond the tolerances: ${failed.join('; ')}; details: ${path.join(options.workDir, 'evaluation.json')}`,
    );
  }
  for (const evaluation of evaluations) {
    const m = evaluation.metrics;
    step(
      'evaluate',
      `${evaluation.split}: accuracy ${m.accuracy.toFixed(4)}, ROC-AUC ${m.roc_auc?.toFixed(4) ?? 'n/a'}, F1 ${m.f1.toFixed(4)}, ECE ${m.ece.toFixed(4)}`,
      { n: m.n },
    );
  }
  // The uncertainty band comes from validation predictions only: the operating point's two
  // thresholds, or where the model has none, the 90 %-accuracy band (pipeline/src/uncertainty-band.ts).
  if (point !== null) {
    metadata = { ...metadata, uncertainty: operatingPointBand(point, valScored.length) };
  } else if (valScored.length > 0) {
    const uncertainty = computeUncertaintyBand(
      valScored.map((item) => item.label),
      valScored.map((item) => item.probability as number),
      metadata.threshold,
    );
    metadata = { ...metadata, uncertainty };
    step(
      'evaluate',
      `uncertainty band [${uncertainty.band.join(', ')}]: ${(100 * uncertainty.share_in_band).toFixed(2)} % of val inside, accuracy outside ${uncertainty.accuracy_outside ?? 'n/a'}`,
    );
  }
  const answers =
    point === null
      ? undefined
      : Object.fromEntries(scoredSplits.map((entry) => [entry.split, answersBySource(entry.items, point.real_threshold, point.ai_threshold)]));
  return { metadata, evaluations, metrics, perSource, ...(answers === undefined ? {} : { answers }), skew };
}

/** Scores `items` with `model` through the serving core, with a progress bar. */
export async function evaluateWithProgress(
  model: LoadedModel,
  root: string,
  items: readonly SplitItem[],
  context: StepContext,
  label: string,
): Promise<SplitEvaluation['items']> {
  const { options, deps, decoder, limits } = context;
  const progress = new Progress({
    stream: deps.progressStream,
    label: `evaluate ${model.version} on ${label}: images`,
    intervalMs: options.progressIntervalMs,
  });
  const scored = await evaluateItems(model, root, items, {
    decoder,
    limits,
    batchSize: options.evalBatchSize,
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.finish();
  return scored;
}
