/**
 * /drift. GET returns the latest stored report of each model (or of ?model=); 404 before the
 * first. POST (what Cloud Scheduler calls) computes a report for every model whose production
 * version has a reference.json: telemetry of the last DRIFT_WINDOW_HOURS against that reference.
 * Reports are stored as <TELEMETRY_STORE>/<model>/drift/<timestamp>.json and latest.json,
 * exported as metrics, and logged at WARNING (warning) or ERROR (drift) for log-based alerts.
 * POST takes no body, or an empty JSON object (what Cloud Scheduler may send); anything else in the
 * body is a 400, never ignored: the model is chosen with ?model=.
 */
import { BadRequestError, NotFoundError, ServiceUnavailableError } from '../../platform/errors';
import { checkJsonShape } from '../http/json-shape';
import { DEFAULT_DRIFT_THRESHOLDS, type DriftReport, driftLogSeverity, driftReportKey, latestDriftReportKey } from '../../monitoring/drift/drift-report';
import type { DriftReader } from '../../monitoring/drift/drift-reader';
import { parseReference, referenceKey } from '../../monitoring/drift/reference';
import type { Handler } from '../http/http-function';
import type { MetricSink } from '../../monitoring/metrics/metric-sink';
import { parseProductionPointer } from '../../detector/model/model-metadata';
import { requestedModel } from './model-choice';
import { type BlobStore, isBlobNotFound } from '../../platform/storage/blob-store';

export interface DriftDeps {
  modelStore: BlobStore;
  /** Where reports are stored (and GET reads them). */
  telemetryStore: BlobStore;
  /** Computes each report from the window's telemetry (DRIFT_READER: files or bigquery). */
  reader: DriftReader;
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

async function storage<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw new ServiceUnavailableError('storage_unavailable', `${what} failed; retry shortly`, 30, { cause: error });
  }
}

/** POST /drift's body: nothing, or an empty JSON object. */
function checkPostBody(raw: Buffer | undefined): void {
  if (raw === undefined || raw.toString('utf8').trim() === '') return;
  const shape = checkJsonShape(raw, { maxValues: 16, maxDepth: 2 });
  let body: unknown;
  try {
    if (!shape.ok) throw new Error(shape.reason);
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('invalid_json', 'the request body is not valid JSON; POST /drift takes no body or {} (choose a model with ?model=)');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
    throw new BadRequestError('invalid_request', 'POST /drift takes no body or {}; choose a model with ?model=<name>');
  }
}

export function makeDriftHandler(deps: DriftDeps): Handler {
  const now = deps.now ?? Date.now;
  const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, min_samples: deps.minSamples };

  /** The blob's bytes, or null when it does not exist; any other failure is a 503. */
  const readIfPresent = (store: BlobStore, key: string): Promise<Buffer | null> =>
    storage(`reading ${key}`, async () => {
      try {
        return await store.read(key);
      } catch (error) {
        if (isBlobNotFound(error)) return null;
        throw error;
      }
    });

  const latest = async (model: string): Promise<unknown> => {
    const bytes = await readIfPresent(deps.telemetryStore, latestDriftReportKey(model));
    return bytes === null ? null : (JSON.parse(bytes.toString('utf8')) as unknown);
  };

  const get: Handler = async ({ req }) => {
    const only = requestedModel(req);
    const models = only !== null ? [only] : await storage('listing the model store', () => publishedModels(deps.modelStore));
    const reports = (await Promise.all(models.map(latest))).filter((report) => report !== null);
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
    checkPostBody((req as { rawBody?: Buffer }).rawBody);
    const only = requestedModel(req);
    const end = new Date(now());
    const start = new Date(end.getTime() - deps.windowHours * 3_600_000);
    const models = only !== null ? [only] : await storage('listing the model store', () => publishedModels(deps.modelStore));
    const reports: Array<DriftReport & { telemetry: Record<string, unknown> }> = [];
    const skipped: Array<{ model: string; reason: string }> = [];
    for (const model of models) {
      const pointerBytes = await readIfPresent(deps.modelStore, `${model}/production.json`);
      if (pointerBytes === null) {
        if (only !== null) throw new NotFoundError('unknown_model', `unknown model "${model}": no production version of it is published`);
        continue;
      }
      const pointer = parseProductionPointer(`${model}/production.json`, pointerBytes);
      const referenceBytes = await readIfPresent(deps.modelStore, referenceKey(model, pointer.version));
      if (referenceBytes === null) {
        skipped.push({ model, reason: `production version ${pointer.version} has no reference.json` });
        continue;
      }
      const reference = parseReference(referenceBytes, referenceKey(model, pointer.version));
      const reading = await storage(`reading telemetry of ${model}`, () => deps.reader.read({ reference, start, end, now: end, thresholds }));
      const report = reading.report;
      const stored = { ...report, telemetry: reading.telemetry };
      const body = `${JSON.stringify(stored, null, 2)}\n`;
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
      if (reading.corruptLines > 0)
        logger.warning('corrupt telemetry lines were skipped', { model, corrupt_lines: reading.corruptLines, examples: reading.corruptExamples });
      reports.push(stored);
    }
    await deps.metrics.flush();
    return { status: 200, body: { reports, skipped } };
  };

  return async (context) => (context.req.method === 'GET' ? get(context) : post(context));
}
