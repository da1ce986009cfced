/**
 * Pure maths of the patch path: how a patch model's per-patch logits become one probability, and
 * the out-of-distribution score of an image from its patches' embeddings.
 *
 * Aggregation (metadata.patches.aggregation "mean_logit"): P(AI) = sigmoid(s × mean of the patch
 * logits), with s the version's calibration factor (metadata.patches.logit_scale, fitted on
 * training images; 1 when absent): a geometric mean of the patch odds, so one confidently wrong patch cannot decide an
 * image alone. The spread of the patch logits (their standard deviation) says how much the patches
 * disagree. OOD: the image's embedding is the mean of its patch embeddings; its score is the
 * Mahalanobis distance ‖W (e − μ)‖ with the statistics stored in the model version's metadata.
 */
import type { OodSpec } from '../model/model-metadata';

export interface AggregatedPatches {
  probability: number;
  /** Population standard deviation of the patch logits. */
  logitStd: number;
  /** P(AI) of each patch. */
  probabilities: number[];
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function aggregatePatchLogits(logits: ArrayLike<number>, logitScale = 1): AggregatedPatches {
  const n = logits.length;
  if (n === 0) throw new RangeError('aggregatePatchLogits needs at least one patch');
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += logits[i]!;
  const mean = sum / n;
  let squares = 0;
  const probabilities: number[] = [];
  for (let i = 0; i < n; i += 1) {
    squares += (logits[i]! - mean) ** 2;
    probabilities.push(sigmoid(logits[i]!));
  }
  return { probability: sigmoid(logitScale * mean), logitStd: Math.sqrt(squares / n), probabilities };
}

/** Mean of rows [start, start + count) of a row-major [N × D] embedding matrix. */
export function meanEmbedding(embeddings: Float32Array, dimension: number, start: number, count: number): Float64Array {
  const out = new Float64Array(dimension);
  for (let row = start; row < start + count; row += 1) {
    for (let d = 0; d < dimension; d += 1) out[d]! += embeddings[row * dimension + d]!;
  }
  for (let d = 0; d < dimension; d += 1) out[d]! /= count;
  return out;
}

export function oodScore(embedding: ArrayLike<number>, ood: Pick<OodSpec, 'mean' | 'whitening'>): number {
  const dimension = ood.mean.length;
  if (embedding.length !== dimension) throw new RangeError(`embedding has ${embedding.length} values; the OOD statistics have ${dimension}`);
  let total = 0;
  for (const row of ood.whitening) {
    let projected = 0;
    for (let d = 0; d < dimension; d += 1) projected += row[d]! * (embedding[d]! - ood.mean[d]!);
    total += projected * projected;
  }
  return Math.sqrt(total);
}
