/**
 * Train/serve skew. Two checks, each against a stated tolerance:
 *
 * 1. Numerical parity of the exported graph: the trainer saves PyTorch's inputs and logits for up to
 *    256 validation images (parity/); the same inputs go through onnxruntime via `createOnnxEngine`
 *    and the logits must agree to `maxLogitDiff` (absolute). This isolates the export.
 * 2. End-to-end agreement: PyTorch's P(AI) per validation (and test) image, from images decoded by
 *    Pillow, against the serving path's P(AI) from images decoded by the serving decoder. Mean |Δp|
 *    must stay within `maxMeanProbabilityDiff`, accuracy within `maxAccuracyDelta` (or one image,
 *    whichever is larger, so that a tiny split is not failed by a single borderline image) and
 *    ROC-AUC within `maxRocAucDelta`. Every image must be scorable by the service.
 *
 * The defaults hold with a wide margin for float32 models (see docs/models.md's table of measured
 * values); a quantized model needs looser ones (--skew-* options).
 */
import { createOnnxEngine, type ModelMetadata } from '../../functions/src/detector';
import type { SplitEvaluation } from './evaluate';
import type { ParityBundle, TorchSplitEval } from './run-dir';

export interface SkewTolerances {
  /** Largest |PyTorch logit − onnxruntime logit| on the parity bundle. */
  maxLogitDiff: number;
  /** Largest mean |P(AI) PyTorch − P(AI) serving| over a split. */
  maxMeanProbabilityDiff: number;
  /** Largest |accuracy difference| (fraction, 0.005 = 0.5 points); at least one image of the split is always allowed. */
  maxAccuracyDelta: number;
  /** Largest |ROC-AUC difference|. */
  maxRocAucDelta: number;
}

export const DEFAULT_SKEW_TOLERANCES: Readonly<SkewTolerances> = Object.freeze({
  maxLogitDiff: 1e-3,
  maxMeanProbabilityDiff: 0.01,
  maxAccuracyDelta: 0.005,
  maxRocAucDelta: 0.005,
});

export interface ParityResult {
  n: number;
  max_abs_logit_diff: number;
  mean_abs_logit_diff: number;
}

export interface SplitAgreement {
  split: 'val' | 'test';
  n: number;
  unscored: number;
  mean_abs_probability_diff: number;
  max_abs_probability_diff: number;
  /** Images on opposite sides of the threshold in PyTorch and serving. */
  decision_flips: number;
  torch: { accuracy: number; roc_auc: number | null };
  serving: { accuracy: number; roc_auc: number | null };
}

export interface SkewCheck {
  name: string;
  value: number;
  limit: number;
  passed: boolean;
}

export interface SkewReport {
  passed: boolean;
  tolerances: SkewTolerances;
  parity: ParityResult;
  splits: SplitAgreement[];
  checks: SkewCheck[];
}

/** Runs the parity bundle's inputs through onnxruntime and compares the logits with PyTorch's. */
export async function checkParityBundle(modelBytes: Uint8Array, metadata: ModelMetadata, bundle: ParityBundle, intraOpNumThreads = 1): Promise<ParityResult> {
  const engine = await createOnnxEngine(modelBytes, { intraOpNumThreads });
  try {
    const results = await engine.run(metadata.input.name, bundle.inputs, bundle.inputShape, [metadata.output.name]);
    return compareLogits(bundle.logits, results[metadata.output.name]!.data, bundle.n);
  } finally {
    await engine.release();
  }
}

export function compareLogits(expected: Float32Array, actual: Float32Array, n: number): ParityResult {
  if (expected.length !== actual.length) {
    throw new RangeError(
      `PyTorch gave ${expected.length} logits and onnxruntime ${actual.length}; the parity bundle and the model disagree on the output shape`,
    );
  }
  let max = 0;
  let sum = 0;
  for (let i = 0; i < expected.length; i += 1) {
    const diff = Math.abs((expected[i] as number) - (actual[i] as number));
    if (!(diff <= max)) max = diff;
    sum += diff;
  }
  return { n, max_abs_logit_diff: max, mean_abs_logit_diff: expected.length === 0 ? 0 : sum / expected.length };
}

export function compareSplit(torch: TorchSplitEval, serving: SplitEvaluation, threshold: number): SplitAgreement {
  if (torch.probabilities.length !== serving.items.length) {
    throw new RangeError(
      `PyTorch scored ${torch.probabilities.length} ${serving.split} images and the service ${serving.items.length}; both must use split.json's list`,
    );
  }
  let sum = 0;
  let max = 0;
  let flips = 0;
  let compared = 0;
  serving.items.forEach((item, index) => {
    if (item.probability === null) return;
    const torchP = torch.probabilities[index] as number;
    const diff = Math.abs(torchP - item.probability);
    sum += diff;
    if (diff > max) max = diff;
    if (torchP >= threshold !== item.probability >= threshold) flips += 1;
    compared += 1;
  });
  return {
    split: serving.split,
    n: serving.items.length,
    unscored: serving.failures,
    mean_abs_probability_diff: compared === 0 ? 0 : sum / compared,
    max_abs_probability_diff: max,
    decision_flips: flips,
    torch: { accuracy: torch.accuracy, roc_auc: torch.roc_auc },
    serving: { accuracy: serving.metrics.accuracy, roc_auc: serving.metrics.roc_auc },
  };
}

export function judgeSkew(parity: ParityResult, splits: readonly SplitAgreement[], tolerances: SkewTolerances = DEFAULT_SKEW_TOLERANCES): SkewReport {
  const checks: SkewCheck[] = [
    {
      name: `parity: max |Δlogit| over ${parity.n} images`,
      value: parity.max_abs_logit_diff,
      limit: tolerances.maxLogitDiff,
      passed: parity.max_abs_logit_diff <= tolerances.maxLogitDiff,
    },
  ];
  for (const split of splits) {
    checks.push({ name: `${split.split}: images the service could not score`, value: split.unscored, limit: 0, passed: split.unscored === 0 });
    checks.push({
      name: `${split.split}: mean |ΔP(AI)|`,
      value: split.mean_abs_probability_diff,
      limit: tolerances.maxMeanProbabilityDiff,
      passed: split.mean_abs_probability_diff <= tolerances.maxMeanProbabilityDiff,
    });
    const accuracyLimit = Math.max(tolerances.maxAccuracyDelta, split.n === 0 ? 0 : 1 / split.n);
    const accuracyDelta = Math.abs(split.torch.accuracy - split.serving.accuracy);
    checks.push({ name: `${split.split}: |Δaccuracy|`, value: accuracyDelta, limit: accuracyLimit, passed: accuracyDelta <= accuracyLimit + 1e-12 });
    if (split.torch.roc_auc !== null || split.serving.roc_auc !== null) {
      const aucDelta =
        split.torch.roc_auc === null || split.serving.roc_auc === null ? Number.POSITIVE_INFINITY : Math.abs(split.torch.roc_auc - split.serving.roc_auc);
      checks.push({
        name: `${split.split}: |ΔROC-AUC|`,
        value: aucDelta,
        limit: tolerances.maxRocAucDelta,
        passed: aucDelta <= tolerances.maxRocAucDelta + 1e-12,
      });
    }
  }
  return { passed: checks.every((check) => check.passed), tolerances: { ...tolerances }, parity, splits: [...splits], checks };
}

export function renderSkewReport(report: SkewReport): string {
  const lines = [`Train/serve agreement: ${report.passed ? 'OK' : 'SKEW'}`];
  for (const check of report.checks) {
    lines.push(`  ${check.passed ? '✓' : '✗'} ${check.name} = ${formatNumber(check.value)} (limit ${formatNumber(check.limit)})`);
  }
  for (const split of report.splits) {
    lines.push(
      `  ${split.split}: accuracy PyTorch ${split.torch.accuracy.toFixed(4)} / serving ${split.serving.accuracy.toFixed(4)}, ` +
        `max |ΔP(AI)| ${formatNumber(split.max_abs_probability_diff)}, ${split.decision_flips} decision(s) flipped of ${split.n}`,
    );
  }
  return lines.join('\n');
}

/** A tolerance-sized number: exponent notation below 0.001, four decimals otherwise. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  return Math.abs(value) < 1e-3 ? value.toExponential(2) : value.toFixed(4);
}
