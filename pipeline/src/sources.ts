/**
 * The dataset contract's optional source level: an image at `<split>/<CLASS>/<source>/<file>`
 * belongs to `<source>` (a camera collection, a generator); one directly in the class folder
 * belongs to `default`. Validation counts images per source and evaluation reports every metric
 * per source, because a detector can learn which collection a photo came from instead of whether
 * it was generated, and only per-source numbers show it.
 */
import { binaryMetrics, type BinaryMetrics } from './evaluation-metrics';
import { answerAt } from './operating-point';

export const DEFAULT_SOURCE = 'default';

/** `train/FAKE/sd/x.jpg` → `sd`; `train/REAL/x.jpg` → `default`. */
export function sourceOf(key: string): string {
  const parts = key.split('/');
  return parts.length > 3 ? parts[2]! : DEFAULT_SOURCE;
}

/** `REAL/<source>` or `FAKE/<source>`: the key per-source tables use. */
export function sourceKey(key: string, label: 0 | 1): string {
  return `${label === 1 ? 'FAKE' : 'REAL'}/${sourceOf(key)}`;
}

/**
 * Metrics of each source's scored items, keyed `CLASS/source` in sorted order; empty when every
 * image is in the default source (a dataset without the source level). A single-class source has
 * no ROC-AUC of its own (null): its accuracy is the share of it that was labelled correctly.
 */
export function metricsBySource(
  items: ReadonlyArray<{ path: string; label: 0 | 1; probability: number | null }>,
  threshold: number,
): Record<string, BinaryMetrics> {
  const groups = new Map<string, { labels: Array<0 | 1>; probabilities: number[] }>();
  for (const item of items) {
    if (item.probability === null) continue;
    const key = sourceKey(item.path, item.label);
    const group = groups.get(key) ?? { labels: [], probabilities: [] };
    group.labels.push(item.label);
    group.probabilities.push(item.probability);
    groups.set(key, group);
  }
  if ([...groups.keys()].every((key) => key.endsWith(`/${DEFAULT_SOURCE}`))) return {};
  return Object.fromEntries(
    [...groups.keys()].sort().map((key) => {
      const group = groups.get(key)!;
      return [key, binaryMetrics(group.labels, group.probabilities, threshold)];
    }),
  );
}

/** What a model answering at an operating point says of a group of images. */
export interface Answers {
  n: number;
  real: number;
  uncertain: number;
  ai: number;
}

/** A split's answers at an operating point (`real` below `realThreshold`, `ai_generated` at or above `aiThreshold`): per class, and per source as metricsBySource keys them. */
export interface SplitAnswers {
  real_threshold: number;
  ai_threshold: number;
  byClass: { real: Answers; ai: Answers };
  bySource: Record<string, Answers>;
}

export function answersBySource(
  items: ReadonlyArray<{ path: string; label: 0 | 1; probability: number | null }>,
  realThreshold: number,
  aiThreshold: number,
): SplitAnswers {
  if (!(realThreshold <= aiThreshold)) throw new RangeError(`the real threshold ${realThreshold} is above the AI threshold ${aiThreshold}`);
  const empty = (): Answers => ({ n: 0, real: 0, uncertain: 0, ai: 0 });
  const byClass = { real: empty(), ai: empty() };
  const bySource = new Map<string, Answers>();
  for (const item of items) {
    if (item.probability === null) continue;
    const answer = answerAt(item.probability, { real_threshold: realThreshold, ai_threshold: aiThreshold });
    const key = sourceKey(item.path, item.label);
    const source = bySource.get(key) ?? empty();
    for (const group of [source, item.label === 1 ? byClass.ai : byClass.real]) {
      group.n += 1;
      group[answer] += 1;
    }
    bySource.set(key, source);
  }
  const keys = [...bySource.keys()].sort();
  return {
    real_threshold: realThreshold,
    ai_threshold: aiThreshold,
    byClass,
    bySource: keys.every((key) => key.endsWith(`/${DEFAULT_SOURCE}`)) ? {} : Object.fromEntries(keys.map((key) => [key, bySource.get(key)!])),
  };
}
