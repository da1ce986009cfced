import type { DriftReport } from '../../src/monitoring/drift/drift-report';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/monitoring/drift/drift-report';
import type { LogEntry } from '../../src/platform/logger';
import { LogMetricSink } from '../../src/serving/metrics/log-metric-sink';
import { ALL_METRICS, LATENCY_BOUNDS_MS, METRIC_PREFIX, METRICS, SCORE_BOUNDS } from '../../src/monitoring/metrics/metric-names';
import { bucketIndex, driftGauges, MetricAggregator } from '../../src/monitoring/metrics/metric-sink';

function sampleDriftReport(): DriftReport {
  const distribution = { n: 500, reference_n: 2000, ks_method: 'exact' as const, psi_noise_floor: 0.02, reference_mean: 0.44 };
  return {
    schema_version: 1,
    generated_at: '2024-05-21T12:00:00.000Z',
    model: { name: 'detector', reference_version: '3', versions_seen: { '3': 500 } },
    window: { start: '2024-05-20T12:00:00.000Z', end: '2024-05-21T12:00:00.000Z' },
    n: 500,
    status: 'drift',
    score: { ...distribution, status: 'ok', ks: 0.03, p_value: 0.8, psi: 0.01, mean: 0.2, reference_mean: 0.21 },
    features: {
      brightness: { ...distribution, status: 'drift', ks: 0.44, p_value: 2e-71, psi: 1.19, mean: 0.61 },
      width: { ...distribution, status: 'ok', ks: 0.02, p_value: 0.99, psi: 0.004, mean: 1000 },
    },
    prediction_mix: { status: 'ok', n: 500, reference_share: 0.2, current_share: 0.22, difference: 0.02 },
    reasons: ['brightness: drift (...)'],
    ks_tests: 3,
    thresholds: DEFAULT_DRIFT_THRESHOLDS,
  };
}

describe('metric definitions', () => {
  it('are unique, under one prefix, with lower-case names and labels', () => {
    const types = ALL_METRICS.map((m) => m.type);
    expect(new Set(types).size).toBe(types.length);
    for (const metric of ALL_METRICS) {
      expect(metric.type.startsWith(`${METRIC_PREFIX}/`)).toBe(true);
      expect(metric.type.slice(METRIC_PREFIX.length + 1)).toMatch(/^[a-z_/]+$/);
      for (const label of metric.labels) expect(label).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(metric.valueType === 'DISTRIBUTION').toBe(metric.bounds !== undefined);
    }
  });

  it('have strictly increasing bucket bounds', () => {
    for (const bounds of [LATENCY_BOUNDS_MS, SCORE_BOUNDS]) {
      bounds.forEach((b, i) => i > 0 && expect(b).toBeGreaterThan(bounds[i - 1] as number));
    }
    expect(SCORE_BOUNDS).toEqual([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
  });
});

describe('bucketIndex (Cloud Monitoring explicit buckets)', () => {
  it.each([
    [-1, 0],
    [0.99, 0],
    [1, 1],
    [4.99, 2],
    [5, 3],
    [100, 3],
  ])('puts %p in bucket %p of bounds [1, 2, 5]', (x, index) => {
    expect(bucketIndex([1, 2, 5], x)).toBe(index);
  });
});

describe('MetricAggregator', () => {
  it('folds events into cumulative counters and distributions from the instance start', () => {
    const aggregator = new MetricAggregator(1_000);
    aggregator.recordPrediction({ model: 'm', modelVersion: '3', label: 'real', probability: 0.1 });
    aggregator.recordPrediction({ model: 'm', modelVersion: '3', label: 'real', probability: 0.3 });
    aggregator.recordPrediction({ model: 'm', modelVersion: '3', label: 'ai_generated', probability: 0.98 });
    aggregator.recordError('rate_limited');
    aggregator.recordError('rate_limited');
    aggregator.recordDroppedTelemetry(7);

    const points = aggregator.collect(61_000, 60_000);
    const byKey = Object.fromEntries(points.map((p) => [`${p.metric.type.slice(METRIC_PREFIX.length + 1)} ${JSON.stringify(p.labels)}`, p]));
    expect(byKey['predictions {"model":"m","model_version":"3","label":"real"}']?.value).toEqual({ type: 'int64', value: 2 });
    expect(byKey['predictions {"model":"m","model_version":"3","label":"ai_generated"}']?.value).toEqual({ type: 'int64', value: 1 });
    expect(byKey['errors {"code":"rate_limited"}']?.value).toEqual({ type: 'int64', value: 2 });
    expect(byKey['telemetry_dropped {}']?.value).toEqual({ type: 'int64', value: 7 });
    const score = byKey['prediction_score {"model":"m","model_version":"3"}'];
    expect(score).toMatchObject({ startMs: 1_000, endMs: 61_000 });
    if (score?.value.type !== 'distribution') throw new Error('expected a distribution');
    const d = score.value.value;
    expect(d.count).toBe(3);
    expect(d.mean).toBeCloseTo((0.1 + 0.3 + 0.98) / 3, 12);
    const mean = (0.1 + 0.3 + 0.98) / 3;
    expect(d.sumOfSquaredDeviation).toBeCloseTo((0.1 - mean) ** 2 + (0.3 - mean) ** 2 + (0.98 - mean) ** 2, 12);
    expect(d.bucketCounts).toHaveLength(20);
    expect(d.bucketCounts[2]).toBe(1); // 0.1 is in [0.1, 0.15)
    expect(d.bucketCounts[6]).toBe(1); // 0.3 in [0.3, 0.35)
    expect(d.bucketCounts[19]).toBe(1); // 0.98 in [0.95, ∞)
  });

  it('returns a series again only when it changed and the interval has passed', () => {
    const aggregator = new MetricAggregator(0);
    aggregator.recordError('x');
    const first = aggregator.collect(60_000, 60_000);
    expect(first).toHaveLength(1);
    aggregator.markAttempted(first, 60_000, true);
    expect(aggregator.collect(200_000, 60_000)).toEqual([]); // unchanged
    aggregator.recordError('x');
    expect(aggregator.collect(119_999, 60_000)).toEqual([]); // too soon
    const second = aggregator.collect(120_000, 60_000);
    expect(second.map((p) => p.value)).toEqual([{ type: 'int64', value: 2 }]);
    // A failed attempt keeps the series due, after the interval.
    aggregator.markAttempted(second, 120_000, false);
    expect(aggregator.collect(150_000, 60_000)).toEqual([]);
    expect(aggregator.collect(180_000, 60_000)).toHaveLength(1);
  });

  it('never gives a cumulative point an empty interval', () => {
    const aggregator = new MetricAggregator(5_000);
    aggregator.recordError('x');
    expect(aggregator.collect(5_000, 0)[0]).toMatchObject({ startMs: 5_000, endMs: 5_001 });
  });

  it('ignores non-finite observations instead of corrupting a distribution', () => {
    const aggregator = new MetricAggregator(0);
    aggregator.recordLatency({ model: 'm', modelVersion: '1', latencyMs: Number.NaN });
    expect(aggregator.collect(60_000, 0)).toEqual([]);
  });
});

describe('driftGauges', () => {
  it('exports status, KS D, p-value and PSI per part, plus sample count and mix difference', () => {
    const gauges = driftGauges(sampleDriftReport()).map((g) => [g.metric.type.slice(METRIC_PREFIX.length + 1), g.labels.feature ?? '-', g.value]);
    expect(gauges).toEqual([
      ['drift/status', 'overall', 2],
      ['drift/sample_count', '-', 500],
      ['drift/status', 'score', 0],
      ['drift/ks_statistic', 'score', 0.03],
      ['drift/ks_p_value', 'score', 0.8],
      ['drift/psi', 'score', 0.01],
      ['drift/status', 'brightness', 2],
      ['drift/ks_statistic', 'brightness', 0.44],
      ['drift/ks_p_value', 'brightness', 2e-71],
      ['drift/psi', 'brightness', 1.19],
      ['drift/status', 'width', 0],
      ['drift/ks_statistic', 'width', 0.02],
      ['drift/ks_p_value', 'width', 0.99],
      ['drift/psi', 'width', 0.004],
      ['drift/status', 'prediction_mix', 0],
      ['drift/prediction_mix_difference', '-', 0.02],
    ]);
  });

  it('exports only the overall status and count for insufficient data', () => {
    const report = { ...sampleDriftReport(), status: 'insufficient_data' as const, score: null, features: {}, prediction_mix: null };
    expect(driftGauges(report).map((g) => [g.metric.type, g.value])).toEqual([
      [METRICS.driftStatus.type, -1],
      [METRICS.driftSampleCount.type, 500],
    ]);
  });
});

describe('LogMetricSink', () => {
  it('writes one structured line per event', async () => {
    const entries: LogEntry[] = [];
    const sink = new LogMetricSink((entry) => entries.push(entry));
    sink.recordPrediction({ model: 'm', modelVersion: '3', label: 'real', probability: 0.1 });
    sink.recordLatency({ model: 'm', modelVersion: '3', latencyMs: 42 });
    sink.recordError('undecodable_image');
    sink.recordDroppedTelemetry(0);
    sink.recordDroppedTelemetry(3);
    await sink.flush();
    expect(entries).toEqual([
      {
        severity: 'INFO',
        message: 'metric predictions',
        metric: METRICS.predictions.type,
        kind: 'CUMULATIVE',
        labels: { model: 'm', model_version: '3', label: 'real' },
        value: 1,
      },
      {
        severity: 'INFO',
        message: 'metric prediction_score',
        metric: METRICS.predictionScore.type,
        kind: 'CUMULATIVE',
        labels: { model: 'm', model_version: '3' },
        value: 0.1,
      },
      {
        severity: 'INFO',
        message: 'metric prediction_latency',
        metric: METRICS.predictionLatency.type,
        kind: 'CUMULATIVE',
        labels: { model: 'm', model_version: '3' },
        value: 42,
      },
      { severity: 'INFO', message: 'metric errors', metric: METRICS.errors.type, kind: 'CUMULATIVE', labels: { code: 'undecodable_image' }, value: 1 },
      { severity: 'INFO', message: 'metric telemetry_dropped', metric: METRICS.telemetryDropped.type, kind: 'CUMULATIVE', labels: {}, value: 3 },
    ]);
  });

  it('logs drift gauges and never throws when logging fails', () => {
    const entries: LogEntry[] = [];
    new LogMetricSink((entry) => entries.push(entry)).recordDrift(sampleDriftReport());
    expect(entries).toHaveLength(16);
    expect(entries[0]).toMatchObject({ message: 'metric drift/status', labels: { model: 'detector', feature: 'overall' }, value: 2, kind: 'GAUGE' });
    const broken = new LogMetricSink(() => {
      throw new Error('stdout closed');
    });
    expect(() => broken.recordError('x')).not.toThrow();
  });
});
