import { DEFAULT_DRIFT_THRESHOLDS, type DriftReport } from '../../src/monitoring/drift/drift-report';
import {
  CloudMonitoringMetricSink,
  type CloudMonitoringMetricSinkOptions,
  type CreateTimeSeriesRequest,
  type TimeSeriesClient,
} from '../../src/serving/metrics/cloud-monitoring-metric-sink';
import { LATENCY_BOUNDS_MS, METRICS } from '../../src/monitoring/metrics/metric-names';

/** Stands in for MetricServiceClient at the client boundary: records every request. */
class FakeClient implements TimeSeriesClient {
  readonly requests: CreateTimeSeriesRequest[] = [];
  failures = 0;

  async createTimeSeries(request: CreateTimeSeriesRequest): Promise<unknown> {
    this.requests.push(structuredClone(request));
    await Promise.resolve();
    if (this.failures > 0) {
      this.failures -= 1;
      throw Object.assign(new Error('3 INVALID_ARGUMENT: One or more TimeSeries could not be written'), { code: 3 });
    }
    return [{}];
  }
}

const START = Date.parse('2024-05-21T10:00:00.000Z');

function setup(options: Partial<CloudMonitoringMetricSinkOptions> = {}): {
  sink: CloudMonitoringMetricSink;
  client: FakeClient;
  clock: { now: number };
  warnings: string[];
} {
  const client = new FakeClient();
  const clock = { now: START };
  const warnings: string[] = [];
  const sink = new CloudMonitoringMetricSink({
    projectId: 'my-project',
    location: 'europe-west1',
    namespace: 'ai-photo-detector',
    job: 'predict',
    taskId: 'rev-7-abc123',
    client,
    now: () => clock.now,
    logger: { warning: (message) => warnings.push(message) },
    ...options,
  });
  return { sink, client, clock, warnings };
}

const RESOURCE = {
  type: 'generic_task',
  labels: { project_id: 'my-project', location: 'europe-west1', namespace: 'ai-photo-detector', job: 'predict', task_id: 'rev-7-abc123' },
};

function series(request: CreateTimeSeriesRequest | undefined, type: string, labels: Record<string, string>) {
  return (request?.timeSeries ?? []).find((ts) => ts.metric?.type === type && JSON.stringify(ts.metric?.labels) === JSON.stringify(labels));
}

describe('CloudMonitoringMetricSink requests', () => {
  it('writes counters and distributions as CUMULATIVE series of a generic_task, one point each', async () => {
    const { sink, client, clock } = setup();
    sink.recordPrediction({ model: 'detector', modelVersion: '3', label: 'real', probability: 0.12 });
    sink.recordPrediction({ model: 'detector', modelVersion: '3', label: 'real', probability: 0.2 });
    sink.recordLatency({ model: 'detector', modelVersion: '3', latencyMs: 80 });
    sink.recordLatency({ model: 'detector', modelVersion: '3', latencyMs: 120 });
    sink.recordError('undecodable_image');
    clock.now = START + 61_500;
    await sink.flush();

    expect(client.requests).toHaveLength(1);
    const request = client.requests[0];
    expect(request?.name).toBe('projects/my-project');
    expect(request?.timeSeries).toHaveLength(4);

    expect(series(request, METRICS.predictions.type, { model: 'detector', model_version: '3', label: 'real' })).toEqual({
      metric: { type: 'custom.googleapis.com/ai_photo_detector/predictions', labels: { model: 'detector', model_version: '3', label: 'real' } },
      resource: RESOURCE,
      metricKind: 'CUMULATIVE',
      valueType: 'INT64',
      points: [
        {
          interval: { startTime: { seconds: START / 1000, nanos: 0 }, endTime: { seconds: START / 1000 + 61, nanos: 500_000_000 } },
          value: { int64Value: 2 },
        },
      ],
    });

    const latency = series(request, METRICS.predictionLatency.type, { model: 'detector', model_version: '3' });
    expect(latency).toMatchObject({ metricKind: 'CUMULATIVE', valueType: 'DISTRIBUTION', resource: RESOURCE });
    const distribution = latency?.points?.[0]?.value?.distributionValue;
    expect(distribution).toMatchObject({ count: 2, mean: 100, sumOfSquaredDeviation: 800 });
    expect(distribution?.bucketOptions).toEqual({ explicitBuckets: { bounds: [...LATENCY_BOUNDS_MS] } });
    const counts = distribution?.bucketCounts as number[];
    expect(counts).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
    expect(counts[5]).toBe(1); // 80 ms in [75, 100)
    expect(counts[6]).toBe(1); // 120 ms in [100, 150)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);

    expect(series(request, METRICS.errors.type, { code: 'undecodable_image' })?.points?.[0]?.value).toEqual({ int64Value: 1 });
  });

  it('writes drift statistics as GAUGE points with an end time only', async () => {
    const { sink, client, clock } = setup({ job: 'drift' });
    sink.recordDrift(driftReport());
    clock.now = START + 5_000;
    await sink.flush();
    const request = client.requests[0];
    const psi = series(request, METRICS.driftPsi.type, { model: 'detector', feature: 'brightness' });
    expect(psi).toMatchObject({ metricKind: 'GAUGE', valueType: 'DOUBLE', resource: { labels: { job: 'drift' } } });
    expect(psi?.points).toEqual([{ interval: { endTime: { seconds: START / 1000 + 5, nanos: 0 } }, value: { doubleValue: 1.19 } }]);
    expect(series(request, METRICS.driftStatus.type, { model: 'detector', feature: 'overall' })?.points?.[0]?.value).toEqual({ int64Value: 2 });
  });
});

describe('CloudMonitoringMetricSink rate limits', () => {
  it('writes a series at most once per minute, with a fixed start time and growing totals', async () => {
    const { sink, client, clock } = setup();
    sink.recordError('rate_limited');
    clock.now = START + 60_000;
    await sink.flush();
    sink.recordError('rate_limited');
    clock.now = START + 119_999;
    await sink.flush();
    expect(client.requests).toHaveLength(1);
    clock.now = START + 120_000;
    await sink.flush();
    expect(client.requests).toHaveLength(2);
    const point = client.requests[1]?.timeSeries?.[0]?.points?.[0];
    expect(point).toEqual({
      interval: { startTime: { seconds: START / 1000, nanos: 0 }, endTime: { seconds: START / 1000 + 120, nanos: 0 } },
      value: { int64Value: 2 },
    });
    // Nothing changed: nothing written, however long it has been.
    clock.now = START + 600_000;
    await sink.flush();
    expect(client.requests).toHaveLength(2);
  });

  it('puts at most 200 time series in one request', async () => {
    const { sink, client, clock } = setup();
    for (let i = 0; i < 450; i += 1) sink.recordError(`code_${i}`);
    clock.now = START + 60_000;
    await sink.flush();
    expect(client.requests.map((r) => r.timeSeries?.length)).toEqual([200, 200, 50]);
    const codes = client.requests.flatMap((r) => (r.timeSeries ?? []).map((ts) => ts.metric?.labels?.code));
    expect(new Set(codes).size).toBe(450);
  });

  it('keeps 10 s between writes of a series even when forced (shutdown)', async () => {
    const { sink, client, clock } = setup();
    sink.recordError('x');
    clock.now = START + 60_000;
    await sink.flush();
    sink.recordError('x');
    clock.now = START + 69_999;
    await sink.flush({ force: true });
    expect(client.requests).toHaveLength(1);
    clock.now = START + 70_000;
    await sink.flush({ force: true });
    expect(client.requests).toHaveLength(2);
  });

  it('shares one write between concurrent flushes', async () => {
    const { sink, client, clock } = setup();
    sink.recordError('x');
    clock.now = START + 60_000;
    await Promise.all([sink.flush(), sink.flush(), sink.flush()]);
    expect(client.requests).toHaveLength(1);
  });
});

describe('CloudMonitoringMetricSink failures', () => {
  it('logs a failed write, never rejects, and writes the accumulated totals later', async () => {
    const { sink, client, clock, warnings } = setup();
    sink.recordError('x');
    client.failures = 1;
    clock.now = START + 60_000;
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(warnings).toEqual(['could not write 1 time series to Cloud Monitoring; they will be retried']);
    sink.recordError('x');
    clock.now = START + 90_000;
    await sink.flush();
    expect(client.requests).toHaveLength(1); // no hammering: the failed attempt counts
    clock.now = START + 120_000;
    await sink.flush();
    expect(client.requests[1]?.timeSeries?.[0]?.points?.[0]?.value).toEqual({ int64Value: 2 });
  });

  it('names missing resource fields', () => {
    expect(() => new CloudMonitoringMetricSink({ projectId: '', location: 'l', namespace: 'n', job: '', taskId: 't', client: new FakeClient() })).toThrow(
      /needs projectId, job/,
    );
  });
});

function driftReport(): DriftReport {
  const base = { n: 500, reference_n: 2000, ks_method: 'exact' as const, psi_noise_floor: 0.02, reference_mean: 0.44, mean: 0.61 };
  return {
    schema_version: 1,
    generated_at: '2024-05-21T12:00:00.000Z',
    model: { name: 'detector', reference_version: '3', versions_seen: { '3': 500 } },
    window: { start: '2024-05-20T12:00:00.000Z', end: '2024-05-21T12:00:00.000Z' },
    n: 500,
    status: 'drift',
    score: null,
    features: { brightness: { ...base, status: 'drift', ks: 0.44, p_value: 2e-71, psi: 1.19 } },
    prediction_mix: null,
    reasons: [],
    ks_tests: 2,
    thresholds: DEFAULT_DRIFT_THRESHOLDS,
  };
}
