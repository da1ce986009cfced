/**
 * MetricSink: the port through which serving and drift report numbers. Adapters:
 * CloudMonitoringMetricSink (custom metrics in Cloud Monitoring) and LogMetricSink (structured log
 * lines, the local default). Metric names, labels and buckets live in metric-names.ts.
 *
 * `MetricAggregator` is the pure core of the Cloud Monitoring adapter: it folds individual events
 * into per-series state (counters, explicit-bucket distributions, gauges) and, when asked with the
 * current time, returns the series that changed and may be written again, as plain data.
 */
import type { DriftReport } from '../drift/drift-report';
import { DRIFT_OVERALL, DRIFT_PREDICTION_MIX, DRIFT_SCORE, DRIFT_STATUS_VALUES, METRICS, type MetricDefinition } from './metric-names';

export interface PredictionMetric {
  model: string;
  modelVersion: string;
  /** Predicted label, e.g. 'ai_generated' or 'real'. */
  label: string;
  /** P(ai_generated). */
  probability: number;
}

export interface LatencyMetric {
  model: string;
  modelVersion: string;
  latencyMs: number;
}

export interface MetricSink {
  recordPrediction(prediction: PredictionMetric): void;
  recordLatency(latency: LatencyMetric): void;
  /** One error response with this stable code. */
  recordError(code: string): void;
  /** Exports a drift run's statistics as gauges. */
  recordDrift(report: DriftReport): void;
  recordDroppedTelemetry(count: number): void;
  /** Writes what is due; call from inside a request. Never rejects. */
  flush(): Promise<void>;
}

export interface DistributionValue {
  count: number;
  mean: number;
  sumOfSquaredDeviation: number;
  bounds: readonly number[];
  /** bounds.length + 1 counts: underflow, the finite buckets, overflow. */
  bucketCounts: number[];
}

export type PointValue = { type: 'int64'; value: number } | { type: 'double'; value: number } | { type: 'distribution'; value: DistributionValue };

/** One point of one time series, ready to be written. */
export interface SeriesPoint {
  /** Identity of the series: metric type plus labels. */
  key: string;
  metric: Readonly<MetricDefinition>;
  labels: Readonly<Record<string, string>>;
  /** CUMULATIVE: when this instance started counting; GAUGE: equals endMs. */
  startMs: number;
  endMs: number;
  value: PointValue;
  /** Change counter at collection time, for `markWritten`. */
  version: number;
}

interface SeriesState {
  key: string;
  metric: Readonly<MetricDefinition>;
  labels: Readonly<Record<string, string>>;
  value: PointValue;
  version: number;
  writtenVersion: number;
  lastAttemptMs: number;
}

export interface GaugeValue {
  metric: Readonly<MetricDefinition>;
  labels: Record<string, string>;
  value: number;
}

/** The gauges a drift report sets (pure): status per part, KS D, p-value and PSI per distribution. */
export function driftGauges(report: DriftReport): GaugeValue[] {
  const model = report.model.name;
  const gauges: GaugeValue[] = [
    { metric: METRICS.driftStatus, labels: { model, feature: DRIFT_OVERALL }, value: DRIFT_STATUS_VALUES[report.status] },
    { metric: METRICS.driftSampleCount, labels: { model }, value: report.n },
  ];
  const distributions = [...(report.score === null ? [] : [[DRIFT_SCORE, report.score] as const]), ...Object.entries(report.features)];
  for (const [feature, d] of distributions) {
    const labels = { model, feature };
    gauges.push({ metric: METRICS.driftStatus, labels, value: DRIFT_STATUS_VALUES[d.status] });
    if (d.ks !== null) gauges.push({ metric: METRICS.driftKsStatistic, labels, value: d.ks });
    if (d.p_value !== null) gauges.push({ metric: METRICS.driftKsPValue, labels, value: d.p_value });
    if (d.psi !== null) gauges.push({ metric: METRICS.driftPsi, labels, value: d.psi });
  }
  if (report.prediction_mix !== null) {
    gauges.push({
      metric: METRICS.driftStatus,
      labels: { model, feature: DRIFT_PREDICTION_MIX },
      value: DRIFT_STATUS_VALUES[report.prediction_mix.status],
    });
    if (report.prediction_mix.difference !== null) {
      gauges.push({ metric: METRICS.driftPredictionMixDifference, labels: { model }, value: report.prediction_mix.difference });
    }
  }
  return gauges;
}

/**
 * Per-instance aggregation of metric events. Counters and distributions are CUMULATIVE from
 * `startMs` (the instance's start), which is what Cloud Monitoring wants for custom metrics (it has
 * no DELTA kind for them). No I/O and no clock: times are passed in.
 */
export class MetricAggregator implements Omit<MetricSink, 'flush'> {
  private readonly series = new Map<string, SeriesState>();

  constructor(readonly startMs: number) {}

  recordPrediction(p: PredictionMetric): void {
    this.addCount(METRICS.predictions, { model: p.model, model_version: p.modelVersion, label: p.label }, 1);
    this.addToDistribution(METRICS.predictionScore, { model: p.model, model_version: p.modelVersion }, p.probability);
  }

  recordLatency(l: LatencyMetric): void {
    this.addToDistribution(METRICS.predictionLatency, { model: l.model, model_version: l.modelVersion }, l.latencyMs);
  }

  recordError(code: string): void {
    this.addCount(METRICS.errors, { code }, 1);
  }

  recordDrift(report: DriftReport): void {
    for (const gauge of driftGauges(report)) this.setGauge(gauge.metric, gauge.labels, gauge.value);
  }

  recordDroppedTelemetry(count: number): void {
    this.addCount(METRICS.telemetryDropped, {}, count);
  }

  addCount(metric: Readonly<MetricDefinition>, labels: Record<string, string>, n: number): void {
    if (!Number.isFinite(n) || n <= 0) return;
    const state = this.state(metric, labels, () => ({ type: 'int64', value: 0 }));
    if (state.value.type !== 'int64') return;
    state.value.value += Math.round(n);
    state.version += 1;
  }

  addToDistribution(metric: Readonly<MetricDefinition>, labels: Record<string, string>, x: number): void {
    if (!Number.isFinite(x)) return;
    const bounds = metric.bounds ?? [];
    const state = this.state(metric, labels, () => ({
      type: 'distribution',
      value: { count: 0, mean: 0, sumOfSquaredDeviation: 0, bounds, bucketCounts: new Array<number>(bounds.length + 1).fill(0) },
    }));
    if (state.value.type !== 'distribution') return;
    const d = state.value.value;
    // Welford's update keeps mean and Σ(x - mean)² exact enough for any count.
    d.count += 1;
    const delta = x - d.mean;
    d.mean += delta / d.count;
    d.sumOfSquaredDeviation += delta * (x - d.mean);
    const bucket = bucketIndex(bounds, x);
    d.bucketCounts[bucket] = (d.bucketCounts[bucket] as number) + 1;
    state.version += 1;
  }

  setGauge(metric: Readonly<MetricDefinition>, labels: Record<string, string>, value: number): void {
    if (!Number.isFinite(value)) return;
    const type = metric.valueType === 'INT64' ? 'int64' : 'double';
    const state = this.state(metric, labels, () => ({ type, value: 0 }));
    if (state.value.type !== 'int64' && state.value.type !== 'double') return;
    state.value.value = type === 'int64' ? Math.round(value) : value;
    state.version += 1;
  }

  /**
   * Series that changed since they were last written and were last attempted at least
   * `minIntervalMs` ago, as points stamped `nowMs`. Values are copies.
   */
  collect(nowMs: number, minIntervalMs: number): SeriesPoint[] {
    const points: SeriesPoint[] = [];
    for (const state of this.series.values()) {
      if (state.version === state.writtenVersion || nowMs - state.lastAttemptMs < minIntervalMs) continue;
      const cumulative = state.metric.kind === 'CUMULATIVE';
      // A cumulative point's interval must not be empty.
      const endMs = cumulative ? Math.max(nowMs, this.startMs + 1) : nowMs;
      points.push({
        key: state.key,
        metric: state.metric,
        labels: state.labels,
        startMs: cumulative ? this.startMs : endMs,
        endMs,
        value: copyValue(state.value),
        version: state.version,
      });
    }
    return points;
  }

  /** Records an attempt to write `points` at `atMs`; successful ones are clean until they change again. */
  markAttempted(points: readonly SeriesPoint[], atMs: number, succeeded: boolean): void {
    for (const point of points) {
      const state = this.series.get(point.key);
      if (state === undefined) continue;
      state.lastAttemptMs = atMs;
      if (succeeded) state.writtenVersion = Math.max(state.writtenVersion, point.version);
    }
  }

  private state(metric: Readonly<MetricDefinition>, labels: Record<string, string>, initial: () => PointValue): SeriesState {
    const key = seriesKey(metric, labels);
    let state = this.series.get(key);
    if (state === undefined) {
      for (const label of metric.labels) {
        if (typeof labels[label] !== 'string') throw new RangeError(`metric ${metric.type} needs label ${label}`);
      }
      state = {
        key,
        metric,
        labels: Object.freeze({ ...labels }),
        value: initial(),
        version: 0,
        writtenVersion: 0,
        lastAttemptMs: Number.NEGATIVE_INFINITY,
      };
      this.series.set(key, state);
    }
    return state;
  }
}

export function seriesKey(metric: Readonly<MetricDefinition>, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return `${metric.type}{${parts.join(',')}}`;
}

/** Cloud Monitoring's explicit buckets: 0 is (-∞, b0), i is [b(i-1), b(i)), the last [b(n-1), ∞). */
export function bucketIndex(bounds: readonly number[], x: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function copyValue(value: PointValue): PointValue {
  if (value.type !== 'distribution') return { ...value };
  return { type: 'distribution', value: { ...value.value, bucketCounts: [...value.value.bucketCounts] } };
}
