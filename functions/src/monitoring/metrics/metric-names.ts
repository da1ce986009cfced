/**
 * The one place that defines the service's custom metrics: type, kind, value type, unit, labels and
 * bucket bounds. Sinks, alert policies and dashboards all refer to these names; README.md in this
 * folder has the same table for the infrastructure code.
 *
 * Every series is written against the monitored resource `generic_task` with
 * task_id = the serving instance's id (see cloud-monitoring-metric-sink.ts for why), so CUMULATIVE
 * series are per instance: sum across task_id (and use rate/delta aligners) in alerts and charts.
 */
import type { DriftStatus } from '../drift/drift-report';

export const METRIC_PREFIX = 'custom.googleapis.com/ai_photo_detector';

export type MetricKind = 'GAUGE' | 'CUMULATIVE';
export type MetricValueType = 'INT64' | 'DOUBLE' | 'DISTRIBUTION';

export interface MetricDefinition {
  type: string;
  kind: MetricKind;
  valueType: MetricValueType;
  /** UCUM unit as Cloud Monitoring expects it: '1' for counts and ratios. */
  unit: string;
  labels: readonly string[];
  description: string;
  /** Explicit bucket bounds of a DISTRIBUTION (bucket i holds bounds[i-1] ≤ x < bounds[i]). */
  bounds?: readonly number[];
}

/** Prediction latency buckets, ms. */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000,
]);

/** P(AI) buckets: 0.05 wide. */
export const SCORE_BOUNDS: readonly number[] = Object.freeze(Array.from({ length: 19 }, (_, i) => Number(((i + 1) * 0.05).toFixed(2))));

const define = (definition: MetricDefinition): Readonly<MetricDefinition> => Object.freeze(definition);

export const METRICS = Object.freeze({
  predictions: define({
    type: `${METRIC_PREFIX}/predictions`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: ['model', 'model_version', 'label'],
    description: 'Images scored, by model, model version and predicted label.',
  }),
  predictionLatency: define({
    type: `${METRIC_PREFIX}/prediction_latency`,
    kind: 'CUMULATIVE',
    valueType: 'DISTRIBUTION',
    unit: 'ms',
    labels: ['model', 'model_version'],
    description: 'Time to score one image, from request to response, in milliseconds.',
    bounds: LATENCY_BOUNDS_MS,
  }),
  predictionScore: define({
    type: `${METRIC_PREFIX}/prediction_score`,
    kind: 'CUMULATIVE',
    valueType: 'DISTRIBUTION',
    unit: '1',
    labels: ['model', 'model_version'],
    description: 'Distribution of P(ai_generated) returned to clients.',
    bounds: SCORE_BOUNDS,
  }),
  errors: define({
    type: `${METRIC_PREFIX}/errors`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: ['code'],
    description: 'Error responses, by stable error code (e.g. undecodable_image, rate_limited, internal).',
  }),
  telemetryDropped: define({
    type: `${METRIC_PREFIX}/telemetry_dropped`,
    kind: 'CUMULATIVE',
    valueType: 'INT64',
    unit: '1',
    labels: [],
    description: 'Telemetry records dropped because the per-instance buffer was full.',
  }),
  driftStatus: define({
    type: `${METRIC_PREFIX}/drift/status`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: ['model', 'feature'],
    description:
      'Drift verdict of the latest run: -1 insufficient_data, 0 ok, 1 warning, 2 drift. feature is "overall", "score", "prediction_mix" or a feature name.',
  }),
  driftKsStatistic: define({
    type: `${METRIC_PREFIX}/drift/ks_statistic`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: '1',
    labels: ['model', 'feature'],
    description: 'Two-sample Kolmogorov-Smirnov statistic D against the training reference; feature is "score" or a feature name.',
  }),
  driftKsPValue: define({
    type: `${METRIC_PREFIX}/drift/ks_p_value`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: '1',
    labels: ['model', 'feature'],
    description: 'p-value of the KS test (not yet divided by the number of tests).',
  }),
  driftPsi: define({
    type: `${METRIC_PREFIX}/drift/psi`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: '1',
    labels: ['model', 'feature'],
    description: 'Population Stability Index against the training reference (0.1 warning, 0.25 drift).',
  }),
  driftPredictionMixDifference: define({
    type: `${METRIC_PREFIX}/drift/prediction_mix_difference`,
    kind: 'GAUGE',
    valueType: 'DOUBLE',
    unit: '1',
    labels: ['model'],
    description: 'Share of ai_generated predictions in the window minus the reference share.',
  }),
  driftSampleCount: define({
    type: `${METRIC_PREFIX}/drift/sample_count`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    labels: ['model'],
    description: 'Telemetry records of the model in the drift window.',
  }),
});

export type MetricId = keyof typeof METRICS;

export const ALL_METRICS: readonly Readonly<MetricDefinition>[] = Object.freeze(Object.values(METRICS));

/** Gauge value of `drift/status`. */
export const DRIFT_STATUS_VALUES: Readonly<Record<DriftStatus, number>> = Object.freeze({
  insufficient_data: -1,
  ok: 0,
  warning: 1,
  drift: 2,
});

/** `feature` label values besides feature names. */
export const DRIFT_OVERALL = 'overall';
export const DRIFT_SCORE = 'score';
export const DRIFT_PREDICTION_MIX = 'prediction_mix';
