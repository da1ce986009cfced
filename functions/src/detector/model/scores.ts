/** Pure maths that turns a model's raw output into P(AI-generated) per image. */
export function probabilitiesOfAi(
  output: Float32Array,
  dims: readonly number[],
  activation: 'softmax' | 'sigmoid' | 'none',
  aiIndex: number,
  count: number,
): Float32Array {
  const rows = dims[0];
  const columns = dims.length === 1 ? 1 : dims.slice(1).reduce((product, dim) => product * dim, 1);
  if (rows !== count || output.length !== count * columns) {
    throw new Error(`model output has dims [${dims.join(', ')}]; expected ${count} rows`);
  }
  const probabilities = new Float32Array(count);
  for (let row = 0; row < count; row += 1) {
    const offset = row * columns;
    if (activation === 'sigmoid') {
      probabilities[row] = 1 / (1 + Math.exp(-output[offset]!));
      continue;
    }
    if (aiIndex >= columns) throw new Error(`ai_index ${aiIndex} is outside the model's ${columns} outputs`);
    if (activation === 'none') {
      probabilities[row] = output[offset + aiIndex]!;
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let column = 0; column < columns; column += 1) max = Math.max(max, output[offset + column]!);
    let sum = 0;
    for (let column = 0; column < columns; column += 1) sum += Math.exp(output[offset + column]! - max);
    probabilities[row] = Math.exp(output[offset + aiIndex]! - max) / sum;
  }
  return probabilities;
}

export type Confidence = 'low' | 'medium' | 'high';

/**
 * Confidence bands from the distance between P(AI) and the decision threshold, measured as a
 * fraction of the room on that side of the threshold (so a threshold other than 0.5 keeps the
 * bands symmetric in meaning): below 0.4 of the way to 0 or 1 → low; below 0.8 → medium; else high.
 * With threshold 0.5: low for 0.30 < p < 0.70, medium for 0.10 < p ≤ 0.30 or 0.70 ≤ p < 0.90, high otherwise.
 */
export const CONFIDENCE_BANDS = { medium: 0.4, high: 0.8 } as const;

export function confidenceOf(probability: number, threshold: number): Confidence {
  const room = probability >= threshold ? 1 - threshold : threshold;
  const margin = room === 0 ? 1 : Math.abs(probability - threshold) / room;
  if (margin >= CONFIDENCE_BANDS.high - 1e-9) return 'high';
  if (margin >= CONFIDENCE_BANDS.medium - 1e-9) return 'medium';
  return 'low';
}

/**
 * The confidence a response reports: it describes the verdict, so it never reads "high" beside
 * "uncertain".
 * - `uncertain`: `low` (the detector's answer is not to be relied on; the reasons say why).
 * - decided by the pixels (`ai_generated` or `real`): `confidenceOf(probability, threshold)`.
 * - decided by a C2PA manifest, metadata or an exactly matched watermark: `high` (a declaration in
 *   the file, not a score).
 */
export function verdictConfidence(
  verdict: 'ai_generated' | 'real' | 'uncertain',
  decidedBy: 'c2pa' | 'metadata' | 'watermark' | 'pixels',
  probability: number,
  threshold: number,
): Confidence {
  if (verdict === 'uncertain') return 'low';
  if (decidedBy !== 'pixels') return 'high';
  return confidenceOf(probability, threshold);
}
