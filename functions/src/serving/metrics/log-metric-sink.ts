/**
 * LogMetricSink: the local default MetricSink. Every event becomes one structured JSON log entry
 * through the injected `log` function (e.g. `logger.log` of logger.ts), e.g.
 *   {"severity":"INFO","message":"metric predictions","metric":"custom.googleapis.com/ai_photo_detector/predictions",
 *    "kind":"CUMULATIVE","labels":{"model":"detector","model_version":"3","label":"real"},"value":1}
 * For counters `value` is the increment, for distributions the observed value, for gauges the new
 * value. In Cloud Logging the same lines can feed log-based metrics. Nothing is buffered, so
 * `flush()` has nothing to do.
 */
import type { DriftReport } from '../../monitoring/drift/drift-report';
import type { LogEntry } from '../../platform/logger';
import { METRIC_PREFIX, METRICS, type MetricDefinition } from '../../monitoring/metrics/metric-names';
import { driftGauges, type LatencyMetric, type MetricSink, type PredictionMetric } from '../../monitoring/metrics/metric-sink';

export class LogMetricSink implements MetricSink {
  constructor(private readonly log: (entry: LogEntry) => void) {}

  recordPrediction(p: PredictionMetric): void {
    this.emit(METRICS.predictions, { model: p.model, model_version: p.modelVersion, label: p.label }, 1);
    this.emit(METRICS.predictionScore, { model: p.model, model_version: p.modelVersion }, p.probability);
  }

  recordLatency(l: LatencyMetric): void {
    this.emit(METRICS.predictionLatency, { model: l.model, model_version: l.modelVersion }, l.latencyMs);
  }

  recordError(code: string): void {
    this.emit(METRICS.errors, { code }, 1);
  }

  recordDrift(report: DriftReport): void {
    for (const gauge of driftGauges(report)) this.emit(gauge.metric, gauge.labels, gauge.value);
  }

  recordDroppedTelemetry(count: number): void {
    if (count > 0) this.emit(METRICS.telemetryDropped, {}, count);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  private emit(metric: Readonly<MetricDefinition>, labels: Record<string, string>, value: number): void {
    try {
      this.log({
        severity: 'INFO',
        message: `metric ${metric.type.slice(METRIC_PREFIX.length + 1)}`,
        metric: metric.type,
        kind: metric.kind,
        labels,
        value,
      });
    } catch {
      // Metrics never fail the request that reports them.
    }
  }
}
