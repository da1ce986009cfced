/**
 * The uncertainty band of a model: the range of P(AI) around the threshold in which its validation
 * accuracy falls below the target (90 %), so that serving answers `uncertain` there instead of a
 * confident wrong answer. Computed from validation predictions only, never from test.
 *
 * Method: sort the validation predictions by their distance to the threshold, |p − threshold|.
 * Slide a window of `window` consecutive predictions outward along that order; each window's
 * accuracy is the share of its predictions on the right side of the threshold. The band's
 * half-width D is the distance of the middle prediction of the farthest window whose accuracy is
 * below the target (every prediction nearer the threshold than D is inside; taking the middle
 * keeps a window that only straddles the band's edge from stretching it). The band is
 * [max(0, threshold − D), min(1, threshold + D)]; where no window falls below the target it is
 * [threshold, threshold] (only an exact tie is uncertain). The window is WINDOW_SHARE of the
 * predictions, at least MIN_WINDOW (all of them when fewer), so a single unlucky prediction far
 * from the threshold does not widen the band on its own.
 *
 * Pure: labels and probabilities in, the band and what it means for validation out.
 */
export const TARGET_ACCURACY = 0.9;
export const WINDOW_SHARE = 0.05;
export const MIN_WINDOW = 20;

export interface UncertaintyBand {
  band: [number, number];
  target_accuracy: number;
  split: 'val';
  images: number;
  /** Share of validation images inside the band. */
  share_in_band: number;
  /** Accuracy on the validation images outside the band (null when none are outside). */
  accuracy_outside: number | null;
  window: number;
  method: string;
}

const round = (value: number, places = 4) => Math.round(value * 10 ** places) / 10 ** places;

export function computeUncertaintyBand(
  labels: ReadonlyArray<0 | 1>,
  probabilities: readonly number[],
  threshold: number,
  targetAccuracy = TARGET_ACCURACY,
): UncertaintyBand {
  if (labels.length !== probabilities.length) throw new RangeError(`${labels.length} labels but ${probabilities.length} probabilities`);
  if (labels.length === 0) throw new RangeError('the uncertainty band needs at least one validation prediction');
  const n = labels.length;
  const order = probabilities
    .map((p, i) => ({ distance: Math.abs(p - threshold), correct: (p >= threshold ? 1 : 0) === labels[i] }))
    .sort((a, b) => a.distance - b.distance);
  const window = Math.min(n, Math.max(MIN_WINDOW, Math.round(n * WINDOW_SHARE)));
  let correct = 0;
  let halfWidth = 0;
  for (let i = 0; i < n; i++) {
    if (order[i]!.correct) correct += 1;
    if (i >= window) correct -= order[i - window]!.correct ? 1 : 0;
    if (i >= window - 1 && correct / window < targetAccuracy) halfWidth = Math.max(halfWidth, order[i - Math.floor(window / 2)]!.distance);
  }
  const band: [number, number] = [round(Math.max(0, threshold - halfWidth)), round(Math.min(1, threshold + halfWidth))];
  let inside = 0;
  let outside = 0;
  let outsideCorrect = 0;
  probabilities.forEach((p, i) => {
    if (p >= band[0] && p <= band[1]) {
      inside += 1;
      return;
    }
    outside += 1;
    if ((p >= threshold ? 1 : 0) === labels[i]) outsideCorrect += 1;
  });
  return {
    band,
    target_accuracy: targetAccuracy,
    split: 'val',
    images: n,
    share_in_band: round(inside / n),
    accuracy_outside: outside === 0 ? null : round(outsideCorrect / outside),
    window,
    method: `validation predictions sorted by |p - threshold|; band half-width = distance of the middle of the farthest ${window}-prediction window with accuracy < ${targetAccuracy}`,
  };
}
