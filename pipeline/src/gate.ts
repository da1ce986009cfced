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
 *
 * A model that answers at an operating point (real below one threshold, ai_generated at or above
 * another, uncertain between) is judged on the answers it gives: its accuracy is the accuracy of
 * the images it decides, with the share it decides stated, since counting its uncertain answers
 * as `real` would grade a verdict it never gives. Production's accuracy is compared the same way
 * when it answers at an operating point too; a production version with a 90 %-accuracy band
 * decides other images by another rule, so the two accuracies are not compared (ROC-AUC still is).
 */
import type { BinaryMetrics } from './evaluation-metrics';
import type { SplitAnswers } from './sources';

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

/** The answers a model gives at its operating point on the gate split (gateAnswers). */
export interface GateAnswers {
  /** Images scored. */
  n: number;
  /** Images decided (real or ai_generated); the others are uncertain. */
  decided: number;
  /** Accuracy on the decided images; null when none is decided. */
  accuracy: number | null;
  real_threshold: number;
  ai_threshold: number;
}

/** A split's answers (sources.ts answersBySource) as the gate reads them: how many are decided, and how many of those rightly. */
export function gateAnswers(answers: SplitAnswers): GateAnswers {
  const { real, ai } = answers.byClass;
  const decided = real.real + real.ai + ai.real + ai.ai;
  return {
    n: real.n + ai.n,
    decided,
    accuracy: decided === 0 ? null : (real.real + ai.ai) / decided,
    real_threshold: answers.real_threshold,
    ai_threshold: answers.ai_threshold,
  };
}

export type ChampionResult = { version: string; metrics: BinaryMetrics; answers?: GateAnswers } | { version: string; error: string };

export interface GateInput {
  split: 'val' | 'test';
  challenger: BinaryMetrics;
  /** null: there is no production version (or the comparison was switched off, see `championSkipped`). */
  champion: ChampionResult | null;
  championSkipped?: boolean;
  robustness: { drop_points: number; quality: number } | null;
  /** Present when the challenger answers at an operating point: its accuracy is read on the images it decides. */
  answers?: GateAnswers;
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
  const answers = input.answers;
  if (answers === undefined) atLeast('accuracy', m.accuracy, thresholds.minAccuracy);
  else {
    const passed = answers.accuracy !== null && answers.accuracy >= thresholds.minAccuracy;
    checks.push({
      name: 'accuracy of its answers',
      passed,
      value: answers.accuracy,
      limit: thresholds.minAccuracy,
      detail:
        answers.accuracy === null
          ? `accuracy of its answers n/a < ${format(thresholds.minAccuracy)}: it decides none of the ${answers.n} images (all between its thresholds ${answers.real_threshold} and ${answers.ai_threshold})`
          : `accuracy of its answers ${format(answers.accuracy)} ${passed ? '≥' : '<'} ${format(thresholds.minAccuracy)} (it decides ${describeDecided(answers)}; the others are uncertain)`,
    });
  }
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
        if (metric === 'accuracy' && answers !== undefined) {
          checks.push(answerAccuracyCheck(answers, current.version, current.answers, thresholds.championTolerance));
          continue;
        }
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

const describeDecided = (answers: GateAnswers): string =>
  `${answers.decided} of ${answers.n} images, ${((100 * answers.decided) / Math.max(1, answers.n)).toFixed(1)} %, at P(AI) < ${answers.real_threshold} or ≥ ${answers.ai_threshold}`;

/** The champion comparison on accuracy for a challenger answering at an operating point. */
function answerAccuracyCheck(ours: GateAnswers, version: string, theirs: GateAnswers | undefined, tolerance: number): GateCheck {
  const name = `accuracy of its answers vs production ${version}`;
  if (theirs === undefined) {
    return {
      name,
      passed: true,
      value: ours.accuracy,
      limit: null,
      detail: `accuracy not compared with production ${version}: it answers with an uncertainty band, not at an operating point, so the two decide different images by different rules (ROC-AUC is compared)`,
    };
  }
  const limit = theirs.accuracy === null ? null : theirs.accuracy - tolerance;
  // Production deciding nothing cannot be done worse than.
  const passed = limit === null || (ours.accuracy !== null && ours.accuracy >= limit - 1e-12);
  return {
    name,
    passed,
    value: ours.accuracy,
    limit,
    detail:
      `accuracy of its answers ${format(ours.accuracy)} (it decides ${describeDecided(ours)}) vs production ${version}'s ${format(theirs.accuracy)} (${describeDecided(theirs)})` +
      (tolerance > 0 ? ` (tolerance ${tolerance})` : ''),
  };
}

export function renderGateDecision(decision: GateDecision): string {
  const lines = [`Gate on ${decision.split}: ${decision.passed ? 'PASSED' : 'REJECTED'}`];
  for (const check of decision.checks) lines.push(`  ${check.passed ? '✓' : '✗'} ${check.detail}`);
  return lines.join('\n');
}
