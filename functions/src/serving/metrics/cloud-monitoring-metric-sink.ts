/**
 * CloudMonitoringMetricSink: writes the custom metrics of metric-names.ts to Cloud Monitoring. The
 * only file that imports @google-cloud/monitoring (loaded on the first write, so instances that
 * never flush do not pay for it).
 *
 * Monitored resource: `generic_task` {project_id, location, namespace, job, task_id}. Custom
 * metrics can only be written against a short list of resource types (generic_task, generic_node,
 * global, gce_instance, k8s_*, ...); `cloud_run_revision`, which Cloud Functions gen2 runs as, is
 * not one of them. generic_task also gives every instance its own series (task_id = instance id),
 * which CUMULATIVE counters need: two instances writing one series would overwrite each other.
 * Suggested values: location = the region, namespace = the service, job = the function name.
 *
 * Rate: Cloud Monitoring rejects points for one series written less than ~5-10 s apart. Events are
 * aggregated in memory (MetricAggregator) and `flush()`, called from inside requests, writes a series
 * only when it changed and was last attempted at least `minWriteIntervalMs` (default 60 s) ago;
 * `flush({ force: true })` (shutdown) still keeps 10 s between writes of a series. A request
 * carries at most 200 time series, each with one point, as the API requires.
 */
import type { protos } from '@google-cloud/monitoring';
import type { DriftReport } from '../../monitoring/drift/drift-report';
import type { Logger } from '../../platform/logger';
import { MetricAggregator, type LatencyMetric, type MetricSink, type PredictionMetric, type SeriesPoint } from '../../monitoring/metrics/metric-sink';

export type CreateTimeSeriesRequest = protos.google.monitoring.v3.ICreateTimeSeriesRequest;
type TimeSeries = protos.google.monitoring.v3.ITimeSeries;
type Timestamp = protos.google.protobuf.ITimestamp;

/** The part of MetricServiceClient this sink uses; tests pass a fake that records requests. */
export interface TimeSeriesClient {
  createTimeSeries(request: CreateTimeSeriesRequest): Promise<unknown>;
}

export interface GenericTaskResource {
  projectId: string;
  /** Region, e.g. us-central1. */
  location: string;
  /** E.g. the service name. */
  namespace: string;
  /** E.g. the function name: predict, drift. */
  job: string;
  /** The instance id; unique per instance. */
  taskId: string;
}

export interface CloudMonitoringMetricSinkOptions extends GenericTaskResource {
  /** Default: a MetricServiceClient with Application Default Credentials, created on first write. */
  client?: TimeSeriesClient;
  /** Milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** Least time between writes of one series. Default 60 000; at least 10 000. */
  minWriteIntervalMs?: number;
  logger?: Pick<Logger, 'warning'>;
}

export const MAX_TIME_SERIES_PER_REQUEST = 200;
export const DEFAULT_MIN_WRITE_INTERVAL_MS = 60_000;
/** Cloud Monitoring's own floor is 5 s per series; keep a margin even when forced. */
export const FORCED_MIN_WRITE_INTERVAL_MS = 10_000;

export class CloudMonitoringMetricSink implements MetricSink {
  private readonly aggregator: MetricAggregator;
  private readonly resource: GenericTaskResource;
  private readonly now: () => number;
  private readonly minWriteIntervalMs: number;
  private readonly logger: Pick<Logger, 'warning'>;
  private client: Promise<TimeSeriesClient> | null;
  private inFlight: Promise<void> | null = null;

  constructor(options: CloudMonitoringMetricSinkOptions) {
    const missing = (['projectId', 'location', 'namespace', 'job', 'taskId'] as const).filter(
      (name) => typeof options[name] !== 'string' || options[name].length === 0,
    );
    if (missing.length > 0) throw new RangeError(`CloudMonitoringMetricSink needs ${missing.join(', ')}`);
    this.resource = {
      projectId: options.projectId,
      location: options.location,
      namespace: options.namespace,
      job: options.job,
      taskId: options.taskId,
    };
    this.now = options.now ?? Date.now;
    this.minWriteIntervalMs = Math.max(FORCED_MIN_WRITE_INTERVAL_MS, options.minWriteIntervalMs ?? DEFAULT_MIN_WRITE_INTERVAL_MS);
    this.logger = options.logger ?? { warning: (message, fields) => console.warn(JSON.stringify({ severity: 'WARNING', message, ...fields })) };
    this.client = options.client === undefined ? null : Promise.resolve(options.client);
    this.aggregator = new MetricAggregator(this.now());
  }

  recordPrediction(prediction: PredictionMetric): void {
    this.guard(() => this.aggregator.recordPrediction(prediction));
  }

  recordLatency(latency: LatencyMetric): void {
    this.guard(() => this.aggregator.recordLatency(latency));
  }

  recordError(code: string): void {
    this.guard(() => this.aggregator.recordError(code));
  }

  recordDrift(report: DriftReport): void {
    this.guard(() => this.aggregator.recordDrift(report));
  }

  recordDroppedTelemetry(count: number): void {
    this.guard(() => this.aggregator.recordDroppedTelemetry(count));
  }

  /** Writes the series that are due. Never rejects; failures are logged and retried later. */
  flush(options: { force?: boolean } = {}): Promise<void> {
    if (this.inFlight !== null) return this.inFlight;
    const run = this.write(options.force === true)
      .catch((error: unknown) => this.warn('metric flush failed unexpectedly', error))
      .finally(() => {
        this.inFlight = null;
      });
    this.inFlight = run;
    return run;
  }

  private async write(force: boolean): Promise<void> {
    const now = this.now();
    const points = this.aggregator.collect(now, force ? FORCED_MIN_WRITE_INTERVAL_MS : this.minWriteIntervalMs);
    if (points.length === 0) return;
    const client = await this.getClient();
    for (let i = 0; i < points.length; i += MAX_TIME_SERIES_PER_REQUEST) {
      const batch = points.slice(i, i + MAX_TIME_SERIES_PER_REQUEST);
      try {
        await client.createTimeSeries(buildCreateTimeSeriesRequest(batch, this.resource));
        this.aggregator.markAttempted(batch, now, true);
      } catch (error) {
        this.aggregator.markAttempted(batch, now, false);
        this.warn(`could not write ${batch.length} time series to Cloud Monitoring; they will be retried`, error);
      }
    }
  }

  private getClient(): Promise<TimeSeriesClient> {
    if (this.client === null) {
      const created = import('@google-cloud/monitoring').then((monitoring) => new monitoring.MetricServiceClient() as unknown as TimeSeriesClient);
      // Memoize the promise, but forget a failure so the next flush tries again.
      created.catch(() => {
        if (this.client === created) this.client = null;
      });
      this.client = created;
    }
    return this.client;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.warn('metric event could not be recorded', error);
    }
  }

  private warn(message: string, error: unknown): void {
    try {
      this.logger.warning(message, { error: error instanceof Error ? error.message : String(error) });
    } catch {
      // Metrics never fail a request.
    }
  }
}

/** The CreateTimeSeries request for up to 200 points (pure). */
export function buildCreateTimeSeriesRequest(points: readonly SeriesPoint[], resource: GenericTaskResource): CreateTimeSeriesRequest {
  if (points.length > MAX_TIME_SERIES_PER_REQUEST) {
    throw new RangeError(`${points.length} time series in one request; Cloud Monitoring accepts at most ${MAX_TIME_SERIES_PER_REQUEST}`);
  }
  return {
    name: `projects/${resource.projectId}`,
    timeSeries: points.map((point) => toTimeSeries(point, resource)),
  };
}

function toTimeSeries(point: SeriesPoint, resource: GenericTaskResource): TimeSeries {
  const interval =
    point.metric.kind === 'CUMULATIVE' ? { startTime: timestamp(point.startMs), endTime: timestamp(point.endMs) } : { endTime: timestamp(point.endMs) };
  let value: protos.google.monitoring.v3.ITypedValue;
  switch (point.value.type) {
    case 'int64':
      value = { int64Value: point.value.value };
      break;
    case 'double':
      value = { doubleValue: point.value.value };
      break;
    case 'distribution': {
      const d = point.value.value;
      value = {
        distributionValue: {
          count: d.count,
          mean: d.mean,
          sumOfSquaredDeviation: d.sumOfSquaredDeviation,
          bucketOptions: { explicitBuckets: { bounds: [...d.bounds] } },
          bucketCounts: [...d.bucketCounts],
        },
      };
      break;
    }
  }
  return {
    metric: { type: point.metric.type, labels: { ...point.labels } },
    resource: {
      type: 'generic_task',
      labels: {
        project_id: resource.projectId,
        location: resource.location,
        namespace: resource.namespace,
        job: resource.job,
        task_id: resource.taskId,
      },
    },
    metricKind: point.metric.kind,
    valueType: point.metric.valueType,
    points: [{ interval, value }],
  };
}

function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
