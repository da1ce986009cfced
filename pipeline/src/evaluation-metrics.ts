/**
 * Binary classification metrics over plain arrays. The positive class is AI-generated (label 1) and
 * scores are P(AI), as the service returns them. Pure; the same definitions as training/metrics.py,
 * so the PyTorch-side and serving-side numbers are comparable:
 *
 * - prediction: AI when P(AI) >= threshold (the model's `threshold`, 0.5 by default);
 * - precision, recall, F1: 0 where the denominator is 0;
 * - ROC-AUC: the rank-sum (Mann-Whitney) formula, tied scores get the mean of their ranks, so a tie
 *   between a positive and a negative counts one half; null when only one class is present;
 * - ECE (expected calibration error): 10 equal-width bins over P(AI), [0, 0.1), [0.1, 0.2), …,
 *   [0.9, 1.0] (1.0 falls in the last bin); ECE = Σ_b (n_b / n) · |share of AI in b − mean P(AI) in b|.
 *   This is the reliability diagram of the served probability itself, not of the top-label
 *   confidence;
 * - Brier score: mean of (P(AI) − label)².
 */
export interface ConfusionMatrix {
  /** AI images predicted AI. */
  tp: number;
  /** Real images predicted AI. */
  fp: number;
  /** Real images predicted real. */
  tn: number;
  /** AI images predicted real. */
  fn: number;
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean P(AI) of the bin's images; null when the bin is empty. */
  mean_probability: number | null;
  /** Share of AI images in the bin; null when the bin is empty. */
  positive_rate: number | null;
}

export interface BinaryMetrics {
  n: number;
  positives: number;
  negatives: number;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number | null;
  ece: number;
  brier: number;
  confusion: ConfusionMatrix;
  reliability: ReliabilityBin[];
}

export const ECE_BINS = 10;

function checkInputs(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`labels has ${labels.length} items and scores ${scores.length}; they must be the same length`);
  }
  for (let i = 0; i < labels.length; i += 1) {
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new RangeError(`labels[${i}] is ${String(label)}; labels must be 0 (real) or 1 (AI)`);
    const score = scores[i] as number;
    if (!Number.isFinite(score) || score < 0 || score > 1) {
      throw new RangeError(`scores[${i}] is ${String(score)}; scores must be probabilities in [0, 1]`);
    }
  }
}

export function confusionMatrix(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkInputs(labels, scores);
  const matrix: ConfusionMatrix = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i += 1) {
    const predictedAi = (scores[i] as number) >= threshold;
    if (labels[i] === 1) {
      if (predictedAi) matrix.tp += 1;
      else matrix.fn += 1;
    } else if (predictedAi) matrix.fp += 1;
    else matrix.tn += 1;
  }
  return matrix;
}

/** Area under the ROC curve with ties averaged; null when labels hold only one class. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  checkInputs(labels, scores);
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i += 1) positives += labels[i] as number;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positiveRankSum = 0;
  let start = 0;
  while (start < n) {
    let end = start;
    const value = scores[order[start] as number] as number;
    while (end + 1 < n && scores[order[end + 1] as number] === value) end += 1;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k += 1) if (labels[order[k] as number] === 1) positiveRankSum += rank;
    start = end + 1;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Reliability diagram of P(AI) in `bins` equal-width bins. */
export function reliabilityBins(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = ECE_BINS): ReliabilityBin[] {
  checkInputs(labels, scores);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins is ${bins}; it must be a positive integer`);
  const counts = new Array<number>(bins).fill(0);
  const scoreSums = new Array<number>(bins).fill(0);
  const positiveCounts = new Array<number>(bins).fill(0);
  for (let i = 0; i < labels.length; i += 1) {
    const score = scores[i] as number;
    const bin = Math.min(Math.floor(score * bins), bins - 1);
    counts[bin] = (counts[bin] as number) + 1;
    scoreSums[bin] = (scoreSums[bin] as number) + score;
    positiveCounts[bin] = (positiveCounts[bin] as number) + (labels[i] as number);
  }
  return counts.map((count, bin) => ({
    lower: bin / bins,
    upper: (bin + 1) / bins,
    count,
    mean_probability: count === 0 ? null : (scoreSums[bin] as number) / count,
    positive_rate: count === 0 ? null : (positiveCounts[bin] as number) / count,
  }));
}

export function expectedCalibrationError(labels: ArrayLike<number>, scores: ArrayLike<number>, bins = ECE_BINS): number {
  const n = labels.length;
  if (n === 0) return 0;
  return reliabilityBins(labels, scores, bins).reduce(
    (sum, bin) => (bin.count === 0 ? sum : sum + (bin.count / n) * Math.abs((bin.positive_rate as number) - (bin.mean_probability as number))),
    0,
  );
}

export function binaryMetrics(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`threshold is ${threshold}; it must be between 0 and 1`);
  const confusion = confusionMatrix(labels, scores, threshold);
  const { tp, fp, tn, fn } = confusion;
  const n = labels.length;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  let brier = 0;
  for (let i = 0; i < n; i += 1) brier += ((scores[i] as number) - (labels[i] as number)) ** 2;
  return {
    n,
    positives: tp + fn,
    negatives: tn + fp,
    threshold,
    accuracy: n === 0 ? 0 : (tp + tn) / n,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    roc_auc: rocAuc(labels, scores),
    ece: expectedCalibrationError(labels, scores),
    brier: n === 0 ? 0 : brier / n,
    confusion,
    reliability: reliabilityBins(labels, scores),
  };
}
