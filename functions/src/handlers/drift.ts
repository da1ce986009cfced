/**
 * /drift. GET returns the latest stored report of each model (or of ?model=); 404 before the
 * first. POST (what Cloud Scheduler calls) computes a report for every model whose production
 * version has a reference.json: telemetry of the last DRIFT_WINDOW_HOURS against that reference.
 * Reports are stored as <TELEMETRY_STORE>/<model>/drift/<timestamp>.json and latest.json,
 * exported as metrics, and logged at WARNING (warning) or ERROR (drift) for log-based alerts.
 */
import { BadRequestError, NotFoundError, ServiceUnavailableError } from '../errors';
import {
  computeDriftReport,
  DEFAULT_DRIFT_THRESHOLDS,
  type DriftReport,
  driftLogSeverity,
  driftReportKey,
  latestDriftReportKey,
} from '../drift/drift-report';
import { parseReference, referenceKey } from '../drift/reference';
import type { Handler } from '../http/http-function';
import type { MetricSink } from '../metrics/metric-sink';
import { MODEL_NAME_PATTERN, parseProductionPointer } from '../model/model-metadata';
import { type BlobStore, isBlobNotFound } from '../storage/blob-store';
import { readTelemetry } from '../telemetry/telemetry-reader';

export interface DriftDeps {
  modelStore: BlobStore;
  telemetryStore: BlobStore;
  metrics: MetricSink;
  windowHours: number;
  minSamples: number;
  now?: () => number;
}

const POINTER = /^([a-z0-9][a-z0-9_-]{0,62})\/production\.json$/;

async function publishedModels(store: BlobStore): Promise<string[]> {
  const blobs = await store.list('');
  return blobs.flatMap((blob) => {
    const match = POINTER.exec(blob.key);
    return match === null ? [] : [match[1]!];
  });
}

function requestedModel(query: unknown): string | null {
  const value = (query as Record<string, unknown> | undefined)?.model;
  if (value === undefined) return null;
  if (typeof value !== 'string' || !MODEL_NAME_PATTERN.test(value)) {
    throw new BadRequestError('invalid_model_name', 'give ?model= once, as a plain model name');
  }
  return value;
}

async function storage<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new ServiceUnavailableError('storage_unavailable', `${what} failed; retry shortly`, 30, { cause: error });
  }
}

export function makeDriftHandler(deps: DriftDeps): Handler {
  const now = deps.now ?? Date.now;
  const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, min_samples: deps.minSamples };

  const latest = async (model: string): Promise<unknown | null> => {
    try {
      return JSON.parse((await deps.telemetryStore.read(latestDriftReportKey(model))).toString('utf8')) as unknown;
    } catch (error) {
      if (isBlobNotFound(error)) return null;
      throw error;
    }
  };

  const get: Handler = async ({ req }) => {
    const only = requestedModel(req.query);
    const models = only !== null ? [only] : await storage('listing the model store', () => publishedModels(deps.modelStore));
    const reports = (await storage('reading drift reports', () => Promise.all(models.map(latest)))).filter((report) => report !== null);
    if (reports.length === 0) {
      throw new NotFoundError(
        'no_drift_report',
        only !== null
          ? `no drift report for model "${only}" yet; POST /drift computes one (Cloud Scheduler calls it on a schedule)`
          : 'no drift report yet; POST /drift computes one (Cloud Scheduler calls it on a schedule)',
      );
    }
    return { status: 200, body: { reports } };
  };

  const post: Handler = async ({ req, logger }) => {
    const only = requestedModel(req.query);
    const end = new Date(now());
    const start = new Date(end.getTime() - deps.windowHours * 3_600_000);
    const models = only !== null ? [only] : await storage('listing the model store', () => publishedModels(deps.modelStore));
    const reports: DriftReport[] = [];
    const skipped: Array<{ model: string; reason: string }> = [];
    for (const model of models) {
      let pointerBytes: Buffer;
      let referenceBytes: Buffer;
      try {
        pointerBytes = await deps.modelStore.read(`${model}/production.json`);
      } catch (error) {
        if (!isBlobNotFound(error)) throw new ServiceUnavailableError('storage_unavailable', 'reading the model store failed; retry shortly', 30, { cause: error });
        if (only !== null) throw new NotFoundError('unknown_model', `unknown model "${model}": no production version of it is published`);
        continue;
      }
      const pointer = parseProductionPointer(`${model}/production.json`, pointerBytes);
      try {
        referenceBytes = await deps.modelStore.read(referenceKey(model, pointer.version));
      } catch (error) {
        if (!isBlobNotFound(error)) throw new ServiceUnavailableError('storage_unavailable', 'reading the model store failed; retry shortly', 30, { cause: error });
        skipped.push({ model, reason: `production version ${pointer.version} has no reference.json` });
        continue;
      }
      const reference = parseReference(referenceBytes, referenceKey(model, pointer.version));
      const telemetry = await storage(`reading telemetry of ${model}`, () => readTelemetry(deps.telemetryStore, { model, start, end }));
      const report = computeDriftReport({ reference, records: telemetry.records, now: end, window: { start, end }, thresholds });
      const body = `${JSON.stringify({ ...report, telemetry: { total_records: telemetry.totalRecords, sampled: telemetry.sampled, corrupt_lines: telemetry.corruptLines, objects_read: telemetry.objectsRead } }, null, 2)}\n`;
      await storage('storing the drift report', async () => {
        await deps.telemetryStore.write(driftReportKey(model, end), body, { contentType: 'application/json' });
        await deps.telemetryStore.write(latestDriftReportKey(model), body, { contentType: 'application/json' });
      });
      deps.metrics.recordDrift(report);
      logger.log({
        severity: driftLogSeverity(report.status),
        message: `drift ${report.status} for model ${model}: ${report.reasons[0] ?? 'every distribution matches the reference'}`,
        drift: { model, status: report.status, n: report.n, reasons: report.reasons, window: report.window },
      });
      if (telemetry.corruptLines > 0) logger.warning('corrupt telemetry lines were skipped', { model, corrupt_lines: telemetry.corruptLines, examples: telemetry.corruptExamples });
      reports.push(JSON.parse(body) as DriftReport);
    }
    await deps.metrics.flush();
    return { status: 200, body: { reports, skipped } };
  };

  return async (context) => (context.req.method === 'GET' ? get(context) : post(context));
}
