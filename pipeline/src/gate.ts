/**
 * The publication gate, a pure decision with reasons. A model is published only if, on the gate
 * split (test/ when the dataset has one, else val — the split the serving-path evaluation scored):
 *
 * - it clears every absolute threshold (accuracy, ROC-AUC, precision, recall, ECE), and the JPEG
 *   re-encoding accuracy drop when robustness was measured;
 * - it is not worse than the current production version of the same model (champion/challenger),
 *   evaluated on the same images through the same code, by more than `championTolerance` on each
 *   of `championMetrics`. With no production version yet, this check passes; a production version
 *   that cannot be evaluated fails it (the decision would otherwise be blind).
 */
import type { BinaryMetrics } from './evaluation-metrics';

export const GATE_METRICS = ['accuracy', 'roc_auc', 'f1', 'precision', 'recall'] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

export interface GateThresholds {
  minAccuracy: number;
  minRocAuc: number;
  minPrecision: number;
  minRecall: number;
  maxEce: number;
  /** Largest accuracy drop, in points, when the images are re-encoded as JPEG (when measured). */
  maxJpegDropPoints: number;
  championMetrics: GateMetric[];
  /** How much worse than production the challenger may be on each champion metric (fraction). */
  championTolerance: number;
}

export const DEFAULT_GATE: Readonly<GateThresholds> = Object.freeze({
  minAccuracy: 0.8,
  minRocAuc: 0.85,
  minPrecision: 0,
  minRecall: 0,
  maxEce: 0.1,
  maxJpegDropPoints: 10,
  championMetrics: ['accuracy', 'roc_auc'] as GateMetric[],
  championTolerance: 0,
});

export type ChampionResult = { version: string; metrics: BinaryMetrics } | { version: string; error: string };

export interface GateInput {
  split: 'val' | 'test';
  challenger: BinaryMetrics;
  /** null: there is no production version (or the comparison was switched off, see `championSkipped`). */
  champion: ChampionResult | null;
  championSkipped?: boolean;
  robustness: { drop_points: number; quality: number } | null;
}

export interface GateCheck {
  name: string;
  passed: boolean;
  value: number | null;
  limit: number | null;
  detail: string;
}

export interface GateDecision {
  passed: boolean;
  split: 'val' | 'test';
  checks: GateCheck[];
  /** One sentence per failed check. */
  reasons: string[];
  champion: { version: string; metrics: BinaryMetrics | null; error: string | null } | null;
}

const LABELS: Record<GateMetric, string> = { accuracy: 'accuracy', roc_auc: 'ROC-AUC', f1: 'F1', precision: 'precision', recall: 'recall' };

const format = (value: number | null): string => (value === null ? 'n/a' : value.toFixed(4));

export function checkGateThresholds(thresholds: GateThresholds): void {
  const problems: string[] = [];
  for (const key of ['minAccuracy', 'minRocAuc', 'minPrecision', 'minRecall', 'maxEce', 'championTolerance'] as const) {
    if (!(thresholds[key] >= 0 && thresholds[key] <= 1)) problems.push(`${key} is ${thresholds[key]}; it must be between 0 and 1`);
  }
  if (!(thresholds.maxJpegDropPoints >= 0 && thresholds.maxJpegDropPoints <= 100)) {
    problems.push(`maxJpegDropPoints is ${thresholds.maxJpegDropPoints}; it must be between 0 and 100`);
  }
  const unknown = thresholds.championMetrics.filter((metric) => !(GATE_METRICS as readonly string[]).includes(metric));
  if (unknown.length > 0) problems.push(`championMetrics has unknown metric(s) ${unknown.join(', ')}; use ${GATE_METRICS.join(', ')}`);
  if (problems.length > 0) throw new RangeError(`invalid gate thresholds: ${problems.join('; ')}`);
}

export function decideGate(input: GateInput, thresholds: GateThresholds = DEFAULT_GATE): GateDecision {
  checkGateThresholds(thresholds);
  const m = input.challenger;
  const checks: GateCheck[] = [];
  const atLeast = (name: string, value: number | null, limit: number): void => {
    const passed = value !== null && value >= limit;
    checks.push({
      name,
      passed,
      value,
      limit,
      detail: `${name} ${format(value)} ${passed ? '≥' : '<'} ${format(limit)}${value === null ? ' (undefined: one class only)' : ''}`,
    });
  };
  atLeast('accuracy', m.accuracy, thresholds.minAccuracy);
  atLeast('ROC-AUC', m.roc_auc, thresholds.minRocAuc);
  if (thresholds.minPrecision > 0) atLeast('precision', m.precision, thresholds.minPrecision);
  if (thresholds.minRecall > 0) atLeast('recall', m.recall, thresholds.minRecall);
  const ecePassed = m.ece <= thresholds.maxEce;
  checks.push({
    name: 'ECE',
    passed: ecePassed,
    value: m.ece,
    limit: thresholds.maxEce,
    detail: `ECE ${format(m.ece)} ${ecePassed ? '≤' : '>'} ${format(thresholds.maxEce)}`,
  });
  if (input.robustness !== null) {
    const drop = input.robustness.drop_points;
    const passed = drop <= thresholds.maxJpegDropPoints;
    checks.push({
      name: `JPEG q${input.robustness.quality} accuracy drop (points)`,
      passed,
      value: drop,
      limit: thresholds.maxJpegDropPoints,
      detail: `accuracy drops ${drop.toFixed(2)} points when re-encoded as JPEG q${input.robustness.quality} (${passed ? '≤' : '>'} ${thresholds.maxJpegDropPoints})`,
    });
  }

  let champion: GateDecision['champion'] = null;
  if (input.champion !== null) {
    const current = input.champion;
    if ('error' in current) {
      champion = { version: current.version, metrics: null, error: current.error };
      checks.push({
        name: `not worse than production ${current.version}`,
        passed: false,
        value: null,
        limit: null,
        detail: `production version ${current.version} could not be evaluated (${current.error}); fix it, or pass --no-champion to publish without the comparison`,
      });
    } else {
      champion = { version: current.version, metrics: current.metrics, error: null };
      for (const metric of thresholds.championMetrics) {
        const ours = input.challenger[metric];
        const theirs = current.metrics[metric];
        const limit = theirs === null ? null : theirs - thresholds.championTolerance;
        const passed = ours !== null && limit !== null && ours >= limit - 1e-12;
        checks.push({
          name: `${LABELS[metric]} vs production ${current.version}`,
          passed,
          value: ours,
          limit,
          detail:
            `${LABELS[metric]} ${format(ours)} vs production ${current.version}'s ${format(theirs)} on the same ${m.n} images` +
            (thresholds.championTolerance > 0 ? ` (tolerance ${thresholds.championTolerance})` : ''),
        });
      }
    }
  } else {
    checks.push({
      name: 'champion/challenger',
      passed: true,
      value: null,
      limit: null,
      detail: input.championSkipped === true ? 'comparison with production switched off (--no-champion)' : 'no production version yet: nothing to compare with',
    });
  }
  const failed = checks.filter((check) => !check.passed);
  return { passed: failed.length === 0, split: input.split, checks, reasons: failed.map((check) => check.detail), champion };
}

export function renderGateDecision(decision: GateDecision): string {
  const lines = [`Gate on ${decision.split}: ${decision.passed ? 'PASSED' : 'REJECTED'}`];
  for (const check of decision.checks) lines.push(`  ${check.passed ? '✓' : '✗'} ${check.detail}`);
  return lines.join('\n');
}
