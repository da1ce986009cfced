/**
 * The drift report: recent telemetry of one model compared with its training reference. Pure: the
 * drift function reads the records and the reference, calls `computeDriftReport`, then stores,
 * exports and logs the result.
 *
 * What is compared
 * - Features (FEATURE_NAMES present in the reference): every record of the model in the window,
 *   whatever its version; image features do not depend on the model.
 * - Score (P(AI)) and prediction mix: only records of the reference's model version, since another
 *   version's scores differ by construction. With fewer than `min_samples` of those, both are
 *   'insufficient_data' while the features are still judged.
 *
 * Status rules (DEFAULT_DRIFT_THRESHOLDS; a distribution takes the worse of its KS and PSI verdicts):
 * - PSI: warning at ≥ 0.10, drift at ≥ 0.25 (the usual credit-scoring rule of thumb), applied to
 *   the PSI above its sampling-noise floor (bins - 1)·(1/n + 1/N): without that correction a
 *   window of 200 records from the reference distribution itself scores PSI ≈ 0.07 on average
 *   and crosses 0.10 in a good share of runs.
 * - KS: drift when p < 0.01 and D ≥ 0.10; warning when p < 0.05 and D ≥ 0.05. The p-value says the
 *   difference is real, the minimum D that it is big enough to matter: with thousands of records a
 *   p-value alone flags differences nobody should act on. The alphas are family-wise: with k
 *   distributions compared (score + features, k = 10 today) each test uses alpha / k (Bonferroni),
 *   so a window with no drift raises a KS warning in at most 5% of runs, not in 40%.
 * - Prediction mix: |current share of ai_generated - reference share| ≥ 0.10 is a warning, ≥ 0.20
 *   drift.
 * - Overall: 'insufficient_data' when the window holds fewer than `min_samples` records of the
 *   model (default 200, DRIFT_MIN_SAMPLES); otherwise the worst of the parts (ok < warning < drift).
 *
 * Two inputs, one report
 * - `computeDriftReport`: the window's records (the file reader).
 * - `computeDriftReportFromAggregates`: the window already counted on each distribution's grid
 *   (`driftGrids`), as a query engine returns it (the BigQuery reader). PSI is identical and KS is
 *   exact on the default grids (cdf-grid.ts states the bound for any grid; the report carries it as
 *   `ks_grid_bound`); the mean may differ in the last digits, as sums in another order do.
 */
import { FEATURE_NAMES, type FeatureName } from '../features/image-features';
import { aggregateCount, binSharesFromGrid, driftGrid, type GridAggregate, ksFromGrid, ksGridBound } from './cdf-grid';
import { ksTwoSample, type KsMethod, type KsResult } from './ks';
import { binShares, edgesFromQuantileGrid, populationStabilityIndex, psiFromShares, PSI_DEFAULT_BINS, PSI_EPSILON } from './psi';
import { AI_GENERATED_LABEL, type DistributionSummary, type DriftReference } from './reference';

export const DRIFT_REPORT_SCHEMA_VERSION = 1;

export type DriftStatus = 'ok' | 'warning' | 'drift' | 'insufficient_data';

export interface KsThreshold {
  /** Family-wise significance level; each test uses alpha / k when `family_wise`. */
  alpha: number;
  /** Minimum KS statistic D (effect size). */
  min_statistic: number;
}

export interface DriftThresholds {
  psi: { warning: number; drift: number; bins: number; epsilon: number };
  ks: { warning: KsThreshold; drift: KsThreshold; family_wise: boolean };
  prediction_mix: { warning: number; drift: number };
  /** Fewer records than this in the window: 'insufficient_data' (DRIFT_MIN_SAMPLES). */
  min_samples: number;
  /**
   * Features that are compared and reported but do not decide the overall status. By default the
   * size features: training sets are usually of one fixed size (CIFAKE 32×32, shoes 240×240)
   * while shoppers upload photos of any size, so these would alarm from the first day. The
   * content features (brightness, contrast, saturation, sharpness: measured on the model-input
   * pixels) and the score decide.
   */
  informational: readonly string[];
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = Object.freeze({
  psi: Object.freeze({ warning: 0.1, drift: 0.25, bins: PSI_DEFAULT_BINS, epsilon: PSI_EPSILON }),
  ks: Object.freeze({
    warning: Object.freeze({ alpha: 0.05, min_statistic: 0.05 }),
    drift: Object.freeze({ alpha: 0.01, min_statistic: 0.1 }),
    family_wise: true,
  }),
  prediction_mix: Object.freeze({ warning: 0.1, drift: 0.2 }),
  min_samples: 200,
  informational: Object.freeze(['width', 'height', 'bytes', 'aspect_ratio', 'megapixels']),
});

/** The fields of a telemetry record that drift reads. */
export interface DriftInputRecord {
  time: string;
  model: string;
  model_version: string;
  probability: number;
  prediction: string;
  features: Readonly<Partial<Record<FeatureName, number>>>;
}

export interface DistributionDrift {
  status: DriftStatus;
  /** Current values compared. */
  n: number;
  /** Reference sample size the KS test used. */
  reference_n: number;
  /** KS statistic D. */
  ks: number | null;
  p_value: number | null;
  ks_method: KsMethod | null;
  psi: number | null;
  /** PSI expected from sampling noise alone, (bins - 1)·(1/n + 1/N); statuses judge psi minus this. */
  psi_noise_floor: number | null;
  mean: number | null;
  reference_mean: number;
  /**
   * Only in reports computed from aggregates: the most the KS statistic on the grid can fall short
   * of the one on the values (0 on the default grids, which hold every reference sample value).
   */
  ks_grid_bound?: number;
}

export interface PredictionMixDrift {
  status: DriftStatus;
  n: number;
  reference_share: number;
  current_share: number | null;
  /** current_share - reference_share. */
  difference: number | null;
}

export interface DriftReport {
  schema_version: 1;
  generated_at: string;
  model: {
    name: string;
    /** The version whose reference this report compares with. */
    reference_version: string;
    /** Records in the window per model version. */
    versions_seen: Record<string, number>;
  };
  window: { start: string; end: string };
  /** Records of the model in the window. */
  n: number;
  status: DriftStatus;
  score: DistributionDrift | null;
  features: Record<string, DistributionDrift>;
  prediction_mix: PredictionMixDrift | null;
  /** One line per part that is not ok, worst first, for logs and humans. */
  reasons: string[];
  /** Number of KS tests the family-wise alpha was divided by. */
  ks_tests: number;
  thresholds: DriftThresholds;
}

export interface DriftReportInput {
  reference: DriftReference;
  records: readonly DriftInputRecord[];
  /** When the report is made. */
  now: Date;
  /** Records with start ≤ time < end are compared. */
  window: { start: Date; end: Date };
  thresholds?: DriftThresholds;
}

const SEVERITY: Record<DriftStatus, number> = { insufficient_data: -1, ok: 0, warning: 1, drift: 2 };

/** The window of one model counted on the grids of its reference, as `computeDriftReportFromAggregates` takes it. */
export interface WindowAggregates {
  /** Records of the model in the window, per model version. */
  versions_seen: Readonly<Record<string, number>>;
  /** Each feature of the reference over records of every version, on `driftGrids(...).features[name]`. */
  features: Readonly<Record<string, GridAggregate>>;
  /** P(AI) of records of the reference's version, on `driftGrids(...).score`. */
  score: GridAggregate;
  /** Records of the reference's version whose prediction is ai_generated. */
  ai_generated: number;
}

export interface DriftAggregatesInput {
  reference: DriftReference;
  aggregates: WindowAggregates;
  now: Date;
  window: { start: Date; end: Date };
  thresholds?: DriftThresholds;
}

/** The grid each distribution of a reference is counted on (see cdf-grid.ts): KS sample ∪ PSI edges. */
export interface DriftGrids {
  score: number[];
  features: Record<string, number[]>;
}

/** What one distribution of the window is: raw values, or counts on its grid. */
type Observed = { values: number[] } | { aggregate: GridAggregate };

interface WindowObservations {
  n: number;
  versionsSeen: Record<string, number>;
  feature: (name: FeatureName) => Observed;
  sameVersion: number;
  score: () => Observed;
  aiGenerated: () => number;
}

export function computeDriftReport(input: DriftReportInput): DriftReport {
  const { reference, window } = input;
  const start = window.start.getTime();
  const end = window.end.getTime();
  assertWindow(window);
  const name = reference.model.name;
  const version = reference.model.version;
  const inWindow = input.records.filter((record) => {
    if (record.model !== name) return false;
    const t = Date.parse(record.time);
    return t >= start && t < end;
  });
  const versionsSeen: Record<string, number> = {};
  for (const record of inWindow) versionsSeen[record.model_version] = (versionsSeen[record.model_version] ?? 0) + 1;
  const sameVersion = inWindow.filter((record) => record.model_version === version);
  return reportFrom(input.reference, input.now, window, input.thresholds ?? DEFAULT_DRIFT_THRESHOLDS, {
    n: inWindow.length,
    versionsSeen,
    feature: (feature) => ({ values: inWindow.map((record) => record.features[feature]).filter(isFiniteNumber) }),
    sameVersion: sameVersion.length,
    score: () => ({ values: sameVersion.map((record) => record.probability) }),
    aiGenerated: () => sameVersion.filter((record) => record.prediction === AI_GENERATED_LABEL).length,
  });
}

/** The same report from the window counted on the reference's grids (`driftGrids`), e.g. by BigQuery. */
export function computeDriftReportFromAggregates(input: DriftAggregatesInput): DriftReport {
  const { reference, aggregates, window } = input;
  assertWindow(window);
  const versionsSeen = { ...aggregates.versions_seen };
  const n = Object.values(versionsSeen).reduce((total, count) => total + count, 0);
  const sameVersion = versionsSeen[reference.model.version] ?? 0;
  const scoreCount = aggregateCount(aggregates.score);
  if (scoreCount !== sameVersion) {
    throw new RangeError(`the score aggregate holds ${scoreCount} values but versions_seen has ${sameVersion} records of version ${reference.model.version}`);
  }
  if (!(Number.isInteger(aggregates.ai_generated) && aggregates.ai_generated >= 0 && aggregates.ai_generated <= sameVersion)) {
    throw new RangeError(`ai_generated is ${aggregates.ai_generated}; it must be an integer from 0 to ${sameVersion}`);
  }
  return reportFrom(reference, input.now, window, input.thresholds ?? DEFAULT_DRIFT_THRESHOLDS, {
    n,
    versionsSeen,
    feature: (feature) => {
      const aggregate = aggregates.features[feature];
      if (aggregate === undefined) throw new RangeError(`the aggregates have no feature ${feature}, which the reference has`);
      return { aggregate };
    },
    sameVersion,
    score: () => ({ aggregate: aggregates.score }),
    aiGenerated: () => aggregates.ai_generated,
  });
}

/** The grids a query engine counts the window on, one per distribution the report compares. */
export function driftGrids(reference: DriftReference, thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS): DriftGrids {
  const gridOf = (summary: DistributionSummary) => driftGrid(summary.sample, edgesFromQuantileGrid(summary.quantiles, thresholds.psi.bins));
  const features: Record<string, number[]> = {};
  for (const feature of comparedFeatures(reference)) features[feature] = gridOf(reference.features[feature] as DistributionSummary);
  return { score: gridOf(reference.score), features };
}

/** The features of FEATURE_NAMES that the reference describes, in FEATURE_NAMES order. */
export function comparedFeatures(reference: DriftReference): FeatureName[] {
  return FEATURE_NAMES.filter((feature) => reference.features[feature] !== undefined);
}

function reportFrom(
  reference: DriftReference,
  now: Date,
  window: { start: Date; end: Date },
  thresholds: DriftThresholds,
  observed: WindowObservations,
): DriftReport {
  validateThresholds(thresholds);
  const name = reference.model.name;
  const version = reference.model.version;
  const features = comparedFeatures(reference);
  const ksTests = 1 + features.length;
  const report: DriftReport = {
    schema_version: DRIFT_REPORT_SCHEMA_VERSION,
    generated_at: now.toISOString(),
    model: { name, reference_version: version, versions_seen: observed.versionsSeen },
    window: { start: window.start.toISOString(), end: window.end.toISOString() },
    n: observed.n,
    status: 'insufficient_data',
    score: null,
    features: {},
    prediction_mix: null,
    reasons: [],
    ks_tests: ksTests,
    thresholds,
  };
  if (observed.n < thresholds.min_samples) {
    report.reasons.push(`only ${observed.n} records of ${name} in the window; at least ${thresholds.min_samples} are needed`);
    return report;
  }

  const judged: Array<[string, DriftStatus, string]> = [];
  for (const feature of features) {
    const result = compareDistribution(reference.features[feature] as DistributionSummary, observed.feature(feature), thresholds, ksTests);
    report.features[feature] = result;
    if (thresholds.informational.includes(feature)) {
      if (result.status === 'warning' || result.status === 'drift')
        report.reasons.push(`${feature}: ${result.status}, informational only (${describe(result)})`);
    } else {
      judged.push([feature, result.status, describe(result)]);
    }
  }

  const sameVersion = observed.sameVersion;
  const referenceShare = reference.prediction_mix.ai_generated_share;
  if (sameVersion < thresholds.min_samples) {
    const why = `only ${sameVersion} records of version ${version}; at least ${thresholds.min_samples} are needed`;
    report.score = { ...emptyDistribution(reference.score), n: sameVersion, status: 'insufficient_data' };
    report.prediction_mix = { status: 'insufficient_data', n: sameVersion, reference_share: referenceShare, current_share: null, difference: null };
    report.reasons.push(`score and prediction mix not judged: ${why}`);
  } else {
    report.score = compareDistribution(reference.score, observed.score(), thresholds, ksTests);
    judged.push(['score', report.score.status, describe(report.score)]);
    const share = observed.aiGenerated() / sameVersion;
    const difference = share - referenceShare;
    const magnitude = Math.abs(difference);
    const status: DriftStatus = magnitude >= thresholds.prediction_mix.drift ? 'drift' : magnitude >= thresholds.prediction_mix.warning ? 'warning' : 'ok';
    report.prediction_mix = { status, n: sameVersion, reference_share: referenceShare, current_share: share, difference };
    judged.push([
      'prediction_mix',
      status,
      `ai_generated share ${share.toFixed(3)} vs reference ${referenceShare.toFixed(3)} (Δ ${difference >= 0 ? '+' : ''}${difference.toFixed(3)})`,
    ]);
  }

  report.status = judged.reduce<DriftStatus>((worst, [, status]) => worseOf(worst, status), 'ok');
  const flagged = judged.filter(([, status]) => status === 'warning' || status === 'drift');
  flagged.sort((x, y) => SEVERITY[y[1]] - SEVERITY[x[1]]);
  report.reasons.unshift(...flagged.map(([part, status, detail]) => `${part}: ${status} (${detail})`));
  return report;
}

function compareDistribution(summary: DistributionSummary, observed: Observed, thresholds: DriftThresholds, ksTests: number): DistributionDrift {
  const edges = edgesFromQuantileGrid(summary.quantiles, thresholds.psi.bins);
  let n: number;
  let ks: KsResult;
  let psi: number;
  let bins: number;
  let sum: number;
  let gridBound: number | undefined;
  if ('values' in observed) {
    const values = observed.values;
    if (values.length === 0) return { ...emptyDistribution(summary), status: 'insufficient_data' };
    n = values.length;
    ks = ksTwoSample(summary.sample, values);
    const result = populationStabilityIndex(summary.sample, values, { edges, epsilon: thresholds.psi.epsilon });
    psi = result.psi;
    bins = result.expected.length;
    sum = 0;
    for (const v of values) sum += v;
  } else {
    const aggregate = observed.aggregate;
    n = aggregateCount(aggregate);
    if (n === 0) return { ...emptyDistribution(summary), status: 'insufficient_data' };
    const sorted = [...summary.sample].sort((x, y) => x - y);
    ks = ksFromGrid(sorted, aggregate);
    gridBound = ksGridBound(sorted, aggregate);
    const expected = binShares(sorted, edges);
    psi = psiFromShares(expected, binSharesFromGrid(aggregate, edges), thresholds.psi.epsilon);
    bins = expected.length;
    sum = aggregate.sum;
  }
  // Two samples from one distribution still differ: PSI's expected value under no drift is about
  // (bins - 1)·(1/n + 1/N) (PSI is a symmetrised chi-square divergence). The thresholds apply to
  // the PSI above that floor, so small windows do not raise warnings on sampling noise alone.
  const noiseFloor = Math.max(0, bins - 1) * (1 / n + 1 / summary.sample.length);
  const excessPsi = Math.max(0, psi - noiseFloor);
  const divisor = thresholds.ks.family_wise ? ksTests : 1;
  const ksStatus: DriftStatus =
    ks.pValue < thresholds.ks.drift.alpha / divisor && ks.statistic >= thresholds.ks.drift.min_statistic
      ? 'drift'
      : ks.pValue < thresholds.ks.warning.alpha / divisor && ks.statistic >= thresholds.ks.warning.min_statistic
        ? 'warning'
        : 'ok';
  const psiStatus: DriftStatus = excessPsi >= thresholds.psi.drift ? 'drift' : excessPsi >= thresholds.psi.warning ? 'warning' : 'ok';
  return {
    status: worseOf(ksStatus, psiStatus),
    n,
    reference_n: summary.sample.length,
    ks: ks.statistic,
    p_value: ks.pValue,
    ks_method: ks.method,
    psi,
    psi_noise_floor: noiseFloor,
    mean: sum / n,
    reference_mean: summary.mean,
    ...(gridBound === undefined ? {} : { ks_grid_bound: gridBound }),
  };
}

function assertWindow(window: { start: Date; end: Date }): void {
  if (!(window.start.getTime() < window.end.getTime())) {
    throw new RangeError(`window.start (${window.start.toISOString()}) must be before window.end (${window.end.toISOString()})`);
  }
}

function emptyDistribution(summary: DistributionSummary): DistributionDrift {
  return {
    status: 'insufficient_data',
    n: 0,
    reference_n: summary.sample.length,
    ks: null,
    p_value: null,
    ks_method: null,
    psi: null,
    psi_noise_floor: null,
    mean: null,
    reference_mean: summary.mean,
  };
}

function describe(result: DistributionDrift): string {
  const p = result.p_value === null ? 'n/a' : result.p_value.toPrecision(2);
  return `PSI ${fmt(result.psi)}, KS D ${fmt(result.ks)} p ${p}, mean ${fmt(result.mean)} vs reference ${fmt(result.reference_mean)}`;
}

function fmt(value: number | null): string {
  return value === null ? 'n/a' : value.toPrecision(3);
}

export function worseOf(a: DriftStatus, b: DriftStatus): DriftStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function validateThresholds(t: DriftThresholds): void {
  const problems: string[] = [];
  if (!(t.psi.warning > 0 && t.psi.warning <= t.psi.drift)) problems.push(`psi.warning ${t.psi.warning} must be > 0 and ≤ psi.drift ${t.psi.drift}`);
  for (const level of ['warning', 'drift'] as const) {
    const k = t.ks[level];
    if (!(k.alpha > 0 && k.alpha < 1)) problems.push(`ks.${level}.alpha ${k.alpha} must be in (0, 1)`);
    if (!(k.min_statistic >= 0 && k.min_statistic <= 1)) problems.push(`ks.${level}.min_statistic ${k.min_statistic} must be in [0, 1]`);
  }
  if (!(t.prediction_mix.warning > 0 && t.prediction_mix.warning <= t.prediction_mix.drift)) {
    problems.push(`prediction_mix.warning ${t.prediction_mix.warning} must be > 0 and ≤ prediction_mix.drift ${t.prediction_mix.drift}`);
  }
  if (!Number.isInteger(t.min_samples) || t.min_samples < 1) problems.push(`min_samples ${t.min_samples} must be a positive integer`);
  if (!Array.isArray(t.informational)) problems.push('informational must be a list of feature names');
  if (problems.length > 0) throw new RangeError(`invalid drift thresholds: ${problems.join('; ')}`);
}

/** Severity for the log line of a drift run: a log-based alert can match ERROR (drift) or WARNING. */
export function driftLogSeverity(status: DriftStatus): 'INFO' | 'WARNING' | 'ERROR' {
  return status === 'drift' ? 'ERROR' : status === 'warning' ? 'WARNING' : 'INFO';
}

/** `<model>/drift/<YYYYMMDDTHHMMSS.sssZ>.json`: reports sort by time, and `latest.json` after them. */
export function driftReportKey(model: string, generatedAt: Date): string {
  const stamp = generatedAt.toISOString().replace(/[-:]/g, '');
  return `${model}/drift/${stamp}.json`;
}

export function latestDriftReportKey(model: string): string {
  return `${model}/drift/latest.json`;
}
