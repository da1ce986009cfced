/**
 * The operating point of a model that decides at a stated error rate (training/operating_point.py
 * is its twin on the Python side; the trainer asks for one with --target-fpr and this sets the
 * published one from the serving path's validation scores):
 *
 * - the threshold (`ai_generated` at or above it) is the lowest at which at most `targetFpr` of the
 *   validation REAL photos score at or above it;
 * - the real threshold (`real` below it) is the highest at which at most `targetFnr` of the
 *   validation fakes score below it, never above the threshold;
 * - between the two, serving answers `uncertain` (metadata `uncertainty.band` = [real, threshold]).
 *
 * The thresholds are set on validation (computeOperatingPoint) or, for a recipe whose held-out
 * folds set them, on the folds' held-out real photos and generator images (held-out-report.ts:
 * heldOutThresholds); measureOperatingPoint reads validation at either. Rates on validation carry a
 * 95 % Wilson interval. Pure: labels and probabilities in.
 */
export interface OperatingPointTargets {
  target_fpr: number;
  target_fnr: number;
}

export interface Thresholds {
  ai_threshold: number;
  real_threshold: number;
}

/** What a model deciding at `thresholds` answers for P(AI) `p`: ai_generated at or above the AI threshold, real below the real threshold, uncertain between. */
export function answerAt(p: number, thresholds: Thresholds): 'real' | 'uncertain' | 'ai' {
  return p >= thresholds.ai_threshold ? 'ai' : p < thresholds.real_threshold ? 'real' : 'uncertain';
}

/** Thresholds set on held-out folds, and what they do there read fold by fold (held-out-report.ts). */
export interface HeldOutOperatingPoint {
  /** The folds whose held-out images set the thresholds. */
  folds: string[];
  /** Held-out real photos (pooled over the folds) the AI threshold is set on. */
  real_images: number;
  /** Scores of the generator folders' validation images, which no fold trained on (pooled; an image scored by several folds counts once per fold), the real threshold is set on. */
  generator_images: number;
  /** Each fold at thresholds set the same way on the other folds' images, pooled: the estimate. */
  cross_fold: {
    /** Held-out real photos called AI, and its 95 % interval. */
    fpr: number;
    fpr_ci: [number, number];
    /** Generator images called AI. */
    tpr: number;
    tpr_ci: [number, number];
    /** Generator images called real. */
    fnr: number;
    /** Mean share of each fold's own validation images between the thresholds. */
    share_uncertain_in_source: number | null;
  };
}

export interface OperatingPoint extends OperatingPointTargets {
  split: 'val';
  /** Present when the thresholds were set on held-out folds rather than on validation. */
  held_out?: HeldOutOperatingPoint;
  ai_threshold: number;
  real_threshold: number;
  real_images: number;
  fake_images: number;
  /** Share of validation REAL photos called AI at the point, and its 95 % interval. */
  fpr: number;
  fpr_ci: [number, number];
  /** Share of validation fakes called AI. */
  tpr: number;
  tpr_ci: [number, number];
  /** Share of validation fakes called real. */
  fnr: number;
  /** Share of all validation images answered uncertain by the thresholds alone. */
  share_uncertain: number;
  /** Accuracy on the validation images decided (not between the thresholds); null when none are. */
  accuracy_decided: number | null;
}

const STEP = 1e-4;
/** Rounded to the four decimals thresholds and rates are stored with. */
export const round4 = (value: number) => Math.round(value * 1e4) / 1e4;

/** The lowest four-decimal value strictly above `score` (score / STEP is inexact: 0.6 / 1e-4 is 5999.999…, so the index is checked against the rounded value). */
function gridAbove(score: number): number {
  let k = Math.floor(score / STEP) + 1;
  while (k > 0 && round4((k - 1) * STEP) > score) k -= 1;
  while (round4(k * STEP) <= score) k += 1;
  return round4(k * STEP);
}

/** The highest four-decimal value at or below `score`. */
function gridAtOrBelow(score: number): number {
  let k = Math.floor(score / STEP);
  while (k > 0 && round4(k * STEP) > score) k -= 1;
  while (round4((k + 1) * STEP) <= score) k += 1;
  return round4(k * STEP);
}

/** 95 % Wilson score interval of `successes` in `n`. */
export function wilsonInterval(successes: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [round4(Math.max(0, centre - half)), round4(Math.min(1, centre + half))];
}

/**
 * The thresholds for `reals` (P(AI) of real photos) and `fakes`: the lowest AI threshold at which
 * at most `target_fpr` of the reals reach it, and the highest real threshold at which at most
 * `target_fnr` of the fakes fall below it, never above the AI threshold.
 */
export function thresholdsFor(realScores: readonly number[], fakeScores: readonly number[], targets: OperatingPointTargets): Thresholds {
  if (realScores.length === 0 || fakeScores.length === 0) throw new RangeError('the operating point needs scores of both classes');
  const reals = [...realScores].sort((a, b) => b - a);
  const fakes = [...fakeScores].sort((a, b) => a - b);
  const allowedReal = Math.floor(targets.target_fpr * reals.length + 1e-9);
  const aiThreshold = allowedReal >= reals.length ? STEP : Math.min(1, gridAbove(reals[allowedReal]!));
  const allowedFake = Math.floor(targets.target_fnr * fakes.length + 1e-9);
  const realEdge = allowedFake >= fakes.length ? 1 : gridAtOrBelow(fakes[allowedFake]!);
  return { ai_threshold: aiThreshold, real_threshold: Math.min(realEdge, aiThreshold) };
}

interface ScoresByClass {
  probabilities: readonly number[];
  reals: number[];
  fakes: number[];
}

/** Validation scores split by label; both classes must be there. */
function byClass(labels: ReadonlyArray<0 | 1>, probabilities: readonly number[]): ScoresByClass {
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels but ${probabilities.length} probabilities`);
  const reals = probabilities.filter((_, i) => labels[i] === 0);
  const fakes = probabilities.filter((_, i) => labels[i] === 1);
  if (reals.length === 0 || fakes.length === 0) throw new RangeError('the operating point needs validation images of both classes');
  return { probabilities, reals, fakes };
}

/** The operating point set on validation: thresholds from the validation scores, read there. */
export function computeOperatingPoint(labels: ReadonlyArray<0 | 1>, probabilities: readonly number[], targets: OperatingPointTargets): OperatingPoint {
  const scores = byClass(labels, probabilities);
  return pointAt(scores, targets, thresholdsFor(scores.reals, scores.fakes, targets));
}

/** What `thresholds` do on the validation images: rates with their intervals, the uncertain share. */
export function measureOperatingPoint(
  labels: ReadonlyArray<0 | 1>,
  probabilities: readonly number[],
  targets: OperatingPointTargets,
  thresholds: Thresholds,
  heldOut?: HeldOutOperatingPoint,
): OperatingPoint {
  return pointAt(byClass(labels, probabilities), targets, thresholds, heldOut);
}

function pointAt(scores: ScoresByClass, targets: OperatingPointTargets, thresholds: Thresholds, heldOut?: HeldOutOperatingPoint): OperatingPoint {
  const { probabilities, reals, fakes } = scores;
  const { ai_threshold: aiThreshold, real_threshold: realThreshold } = thresholds;
  const calledAi = (p: number) => answerAt(p, thresholds) === 'ai';
  const calledReal = (p: number) => answerAt(p, thresholds) === 'real';
  const falsePositives = reals.filter(calledAi).length;
  const truePositives = fakes.filter(calledAi).length;
  const uncertain = probabilities.filter((p) => answerAt(p, thresholds) === 'uncertain').length;
  const decided = probabilities.length - uncertain;
  const rightlyDecided = truePositives + reals.filter(calledReal).length;
  return {
    ...targets,
    split: 'val',
    ai_threshold: aiThreshold,
    real_threshold: realThreshold,
    real_images: reals.length,
    fake_images: fakes.length,
    fpr: round4(falsePositives / reals.length),
    fpr_ci: wilsonInterval(falsePositives, reals.length),
    tpr: round4(truePositives / fakes.length),
    tpr_ci: wilsonInterval(truePositives, fakes.length),
    fnr: round4(fakes.filter(calledReal).length / fakes.length),
    share_uncertain: round4(uncertain / probabilities.length),
    accuracy_decided: decided === 0 ? null : round4(rightlyDecided / decided),
    ...(heldOut === undefined ? {} : { held_out: heldOut }),
  };
}

/** metadata.json's `uncertainty` block for a model deciding at `point`: the band between its thresholds. */
export function operatingPointBand(point: OperatingPoint, images: number) {
  return {
    band: [point.real_threshold, point.ai_threshold] as [number, number],
    target_fpr: point.target_fpr,
    split: 'val',
    images,
    share_in_band: point.share_uncertain,
    accuracy_outside: point.accuracy_decided,
    method:
      point.held_out === undefined
        ? `operating point (pipeline/src/operating-point.ts): at most ${100 * point.target_fpr} % of validation real photos called AI, at most ${100 * point.target_fnr} % of validation fakes called real; uncertain between`
        : `operating point set on held-out collections (pipeline/src/held-out-report.ts): at most ${100 * point.target_fpr} % of the held-out folds' real photos called AI, at most ${100 * point.target_fnr} % of the generator folders' validation images they scored (which no fold trained on) called real; uncertain between`,
  };
}
