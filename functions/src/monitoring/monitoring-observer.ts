/**
 * The ScoreObserver of a serving instance: every scored image becomes a telemetry record (with its
 * image features, computed from the pixels already decoded) and prediction metrics; every request
 * its latency or error metric. Nothing here can fail a request: problems are logged and counted.
 */
import { computeImageFeatures } from './features/image-features';
import type { Logger } from '../platform/logger';
import type { MetricSink } from './metrics/metric-sink';
import type { RequestOutcome, ScoredImage, ScoreObserver } from './observer';
import type { TelemetryBuffer } from './telemetry/telemetry-buffer';
import { makeTelemetryRecord } from './telemetry/telemetry-record';

export interface MonitoringObserverOptions {
  telemetry: Pick<TelemetryBuffer, 'add' | 'maybeFlush' | 'flush'>;
  metrics: MetricSink;
  logger: Logger;
  now?: () => number;
}

export class MonitoringObserver implements ScoreObserver {
  private readonly now: () => number;

  constructor(private readonly options: MonitoringObserverOptions) {
    this.now = options.now ?? Date.now;
  }

  scored(images: readonly ScoredImage[]): void {
    const time = new Date(this.now());
    for (const image of images) {
      try {
        this.options.metrics.recordPrediction({
          model: image.model.name,
          modelVersion: image.model.version,
          label: image.prediction,
          probability: image.probability,
        });
        this.options.telemetry.add(
          makeTelemetryRecord({
            time,
            model: image.model,
            probability: image.probability,
            prediction: image.prediction,
            features: computeImageFeatures(image.decoded, image.bytes),
          }),
        );
      } catch (error) {
        this.options.logger.error('recording telemetry for a scored image failed', { error, model: image.model.name });
      }
    }
  }

  requestFinished(outcome: RequestOutcome): void {
    try {
      if (outcome.code !== null) this.options.metrics.recordError(outcome.code);
      else if (outcome.model !== null && outcome.function !== 'health') {
        this.options.metrics.recordLatency({ model: outcome.model.name, modelVersion: outcome.model.version, latencyMs: outcome.latencyMs });
      }
    } catch (error) {
      this.options.logger.error('recording request metrics failed', { error });
    }
  }

  async flushIfDue(): Promise<void> {
    await Promise.all([this.options.telemetry.maybeFlush(), this.options.metrics.flush()]).catch((error: unknown) => {
      this.options.logger.error('flushing telemetry or metrics failed', { error });
    });
  }

  async flushAll(): Promise<void> {
    await Promise.all([this.options.telemetry.flush(), this.options.metrics.flush()]).catch((error: unknown) => {
      this.options.logger.error('flushing telemetry or metrics failed', { error });
    });
  }
}
