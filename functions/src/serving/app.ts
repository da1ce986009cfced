/**
 * Builds everything a serving instance needs, once per instance, and registers the HTTP functions
 * with the Functions Framework. Each deployable function (`predict`, `batch`, `explain`, `health`,
 * `drift`, `web`) has its own entry point; `app` routes /predict, /batch, /explain, /health and /drift on one port for
 * local use (`npm start`). Apart from the model store adapter, local and cloud run the same code.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as functions from '@google-cloud/functions-framework';
import type { Request, Response } from '@google-cloud/functions-framework';
import { buildOpenApiDocument } from './api/openapi';
import { packageVersion } from '../platform/package-version';
import { type Config } from './config';
import { ConfigError } from '../platform/settings';
import { makeBatchHandler } from './handlers/batch';
import { BigQueryDriftReader } from '../monitoring/drift/bigquery-drift-reader';
import type { DriftReader } from '../monitoring/drift/drift-reader';
import { FileDriftReader } from '../monitoring/drift/file-drift-reader';
import { makeDriftHandler } from './handlers/drift';
import { makeFeedbackHandler } from './handlers/feedback';
import { RecentPredictions } from './feedback/recent-predictions';
import { makeExplainHandler } from './handlers/explain';
import { makeHealthHandler } from './handlers/health';
import { makePredictHandler } from './handlers/predict';
import { ApiKeyAuth, collectApiKeys } from './http/api-key-auth';
import { NotFoundError } from '../platform/errors';
import { closeServers, cutOffRequests, drainRequests, installFrontDoor, stopAccepting } from './http/front-door';
import { makeWebFunction } from './web/web-function';
import { type HttpFunctionDeps, makeHttpFunction } from './http/http-function';
import { TokenBucketLimiter } from './http/rate-limiter';
import type { ImageDecoder } from '../detector/image/image-decoder';
import { createDecoder } from '../detector/image/create-decoder';
import { SharpDecoder } from '../detector/image/sharp-decoder';
import { createLogger, type Logger } from '../platform/logger';
import { CloudMonitoringMetricSink } from './metrics/cloud-monitoring-metric-sink';
import { LogMetricSink } from './metrics/log-metric-sink';
import type { MetricSink } from '../monitoring/metrics/metric-sink';
import { MonitoringObserver } from '../monitoring/monitoring-observer';
import { ModelRegistry, type EngineFactory } from '../detector/model/model-registry';
import { createOnnxEngine } from '../detector/model/onnx-session';
import { BucketImageFetcher } from '../detector/scoring/image-fetcher';
import type { ScoreObserver } from '../monitoring/observer';
import { WorkLimiter } from '../detector/scoring/work-limiter';
import type { BlobStore } from '../platform/storage/blob-store';
import { DeadlineBlobStore } from '../platform/storage/deadline-blob-store';
import { openBlobStore, storeOptionsFrom } from '../platform/storage/open-blob-store';
import { TelemetryBuffer } from '../monitoring/telemetry/telemetry-buffer';
import { C2paWasmReader } from '../detector/evidence/c2pa-wasm-reader';
import { loadTrustMaterial } from '../detector/evidence/trust-material';

export type HttpFunction = (req: Request, res: Response) => Promise<void>;

/** The functions deployed to Cloud Functions, each with `--entry-point=<name>`. */
export { createDecoder } from '../detector/image/create-decoder';
export { packageVersion } from '../platform/package-version';

export const DEPLOYED_FUNCTIONS = ['predict', 'batch', 'explain', 'health', 'drift', 'web', 'feedback'] as const;

export interface Service {
  config: Readonly<Config>;
  logger: Logger;
  registry: ModelRegistry;
  decoder: ImageDecoder;
  observer: ScoreObserver;
  functions: Record<(typeof DEPLOYED_FUNCTIONS)[number], HttpFunction>;
  /** Answers every path the local router does not know (404 not_found, through the error mapper). */
  notFound: HttpFunction;
  /** Telemetry buffer of this instance (flushed on SIGTERM by the entry point). */
  telemetry: TelemetryBuffer;
}

export interface ServiceOverrides {
  logger?: Logger;
  modelStore?: BlobStore;
  createEngine?: EngineFactory;
  observer?: ScoreObserver;
  telemetryStore?: BlobStore;
  feedbackStore?: BlobStore;
  metrics?: MetricSink;
  openBucket?: (bucket: string) => BlobStore;
  now?: () => number;
}

export function buildService(config: Readonly<Config>, overrides: ServiceOverrides = {}): Service {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  const storeOptions = storeOptionsFrom(config);
  // Every storage call on the request path has a deadline (storage/deadline-blob-store.ts).
  const modelStore = new DeadlineBlobStore(overrides.modelStore ?? openBlobStore(config.modelStore, storeOptions), config.storageTimeoutMs);
  const telemetryStore = new DeadlineBlobStore(overrides.telemetryStore ?? openBlobStore(config.telemetryStore, storeOptions), config.storageTimeoutMs);
  const instanceId = config.instanceId ?? `${config.functionTarget}-${randomBytes(4).toString('hex')}`;
  const metrics = overrides.metrics ?? createMetricSink(config, logger, instanceId);
  const telemetry = new TelemetryBuffer({
    store: telemetryStore,
    instanceId,
    maxRecords: config.telemetryFlushRecords,
    maxAgeMs: config.telemetryFlushSeconds * 1000,
    capacity: config.telemetryBufferCapacity,
    maxRetryDelayMs: config.telemetryRetryMaxSeconds * 1000,
    logger,
    onDropped: (count) => metrics.recordDroppedTelemetry(count),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  const registry = new ModelRegistry({
    store: modelStore,
    createEngine: overrides.createEngine ?? ((bytes) => createOnnxEngine(bytes, { intraOpNumThreads: config.ortIntraOpThreads })),
    refreshMs: config.modelRefreshSeconds * 1000,
    defaultModel: config.defaultModel,
    logger,
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  const decoder = createDecoder(config);
  const observer = overrides.observer ?? new MonitoringObserver({ telemetry, metrics, logger, ...(overrides.now === undefined ? {} : { now: overrides.now }) });
  const apiKeysFile = config.apiKeysFile === null ? null : readApiKeysFile(config.apiKeysFile);
  const auth = new ApiKeyAuth(collectApiKeys(config.apiKeys, apiKeysFile));
  const limiter = new TokenBucketLimiter({
    ratePerSecond: config.rateLimitPerSecond,
    burst: config.rateLimitBurst,
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  const fetcher =
    config.allowedBuckets.length === 0
      ? null
      : new BucketImageFetcher(config.allowedBuckets, overrides.openBucket ?? ((bucket) => openBlobStore(`gs://${bucket}`, storeOptions)));
  const version = packageVersion();
  let openApi: unknown = null;
  const httpDeps: HttpFunctionDeps = {
    logger,
    auth,
    limiter,
    observer,
    openApi: () => (openApi ??= buildOpenApiDocument(version)),
    projectId: config.projectId,
    trustedProxyHops: config.trustedProxyHops,
    maxRequestBytes: config.maxRequestBytes,
  };
  const limits = {
    maxImageBytes: config.maxImageBytes,
    maxRequestBytes: config.maxRequestBytes,
    maxBatchItems: config.maxBatchItems,
    maxPixels: config.maxPixels,
    minImageSide: config.minImageSide,
    maxDecodeMs: config.maxDecodeMs,
  };
  // Recent /predict images for POST /feedback's request_id form: bounded in count, bytes and age.
  const recent = new RecentPredictions({
    maxEntries: config.feedbackRecentPredictions,
    maxBytes: config.feedbackRecentBytes,
    maxAgeMs: config.feedbackRecentSeconds * 1000,
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  const feedbackStore = new DeadlineBlobStore(overrides.feedbackStore ?? openBlobStore(config.feedbackStore, storeOptions), config.storageTimeoutMs);
  // C2PA manifests are read by WebAssembly compiled on the first manifest (evidence/c2pa-wasm-reader.ts),
  // their signers checked against the trust material of C2PA_TRUST_STORE, read with it.
  const trustLocation = config.c2paTrustStore;
  const manifests = new C2paWasmReader(
    trustLocation === null
      ? {}
      : {
          trust: () => loadTrustMaterial(new DeadlineBlobStore(openBlobStore(trustLocation, storeOptions), config.storageTimeoutMs)),
          onTrustError: (error) =>
            logger.warning('c2pa trust material unavailable; manifests are reported untrusted', { location: trustLocation, error: String(error) }),
        },
  );
  const work = new WorkLimiter(config.scoringConcurrency);
  const scoring = { registry, decoder, fetcher, observer, defaultModel: config.defaultModel, limits, manifests, work };
  const startedAtMs = (overrides.now ?? Date.now)();
  return {
    config,
    logger,
    registry,
    decoder,
    observer,
    functions: {
      predict: makeHttpFunction(httpDeps, { name: 'predict', methods: ['POST'], protected: true }, makePredictHandler({ ...scoring, recent })),
      batch: makeHttpFunction(httpDeps, { name: 'batch', methods: ['POST'], protected: true }, makeBatchHandler(scoring)),
      explain: makeHttpFunction(httpDeps, { name: 'explain', methods: ['POST'], protected: true }, makeExplainHandler(scoring)),
      health: makeHttpFunction(
        httpDeps,
        { name: 'health', methods: ['GET'], protected: false },
        makeHealthHandler({
          registry,
          defaultModel: config.defaultModel,
          decoderName: decoder.name,
          packageVersion: version,
          startedAtMs,
          telemetryHealth: () => telemetry.health(),
          ...(overrides.now === undefined ? {} : { now: overrides.now }),
        }),
      ),
      drift: makeHttpFunction(
        httpDeps,
        { name: 'drift', methods: ['GET', 'POST'], protected: true },
        makeDriftHandler({
          modelStore,
          telemetryStore,
          reader: driftReader(config, telemetryStore),
          metrics,
          windowHours: config.driftWindowHours,
          minSamples: config.driftMinSamples,
          ...(overrides.now === undefined ? {} : { now: overrides.now }),
        }),
      ),
      feedback: makeHttpFunction(
        httpDeps,
        { name: 'feedback', methods: ['POST'], protected: true },
        makeFeedbackHandler({
          store: feedbackStore,
          recent,
          fetcher,
          defaultModel: config.defaultModel,
          limits,
          ...(overrides.now === undefined ? {} : { now: overrides.now }),
        }),
      ),
      // The web page: at / locally (the router), at <base>/web in the cloud, calling <base>/predict.
      web: makeWebFunction({ recentPredictions: config.feedbackRecentPredictions, recentSeconds: config.feedbackRecentSeconds }),
    },
    notFound: makeHttpFunction(httpDeps, { name: 'not_found', methods: 'any', protected: false }, ({ req }) => {
      const requested = req.path ?? '/';
      const shown = requested.length > 64 ? `${requested.slice(0, 64)}…` : requested;
      return Promise.reject(
        new NotFoundError(
          'not_found',
          `there is no endpoint ${JSON.stringify(shown)}; the API is /predict, /batch, /explain, /feedback, /health, /drift and /openapi.json (paths are lower-case)`,
        ),
      );
    }),
    telemetry,
  };
}

function readApiKeysFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([`API_KEYS_FILE names ${JSON.stringify(file)}, which cannot be read (${reason}); give the path of a file with one API key per line`]);
  }
}

function createMetricSink(config: Readonly<Config>, logger: Logger, instanceId: string): MetricSink {
  switch (config.metricsSink) {
    case 'cloud-monitoring':
      if (config.projectId === null) throw new ConfigError(['METRICS_SINK=cloud-monitoring needs GOOGLE_CLOUD_PROJECT to be set']);
      return new CloudMonitoringMetricSink({
        projectId: config.projectId,
        location: config.metricsLocation,
        namespace: 'ai-photo-detector',
        job: config.functionTarget,
        taskId: instanceId,
        minWriteIntervalMs: config.metricsFlushSeconds * 1000,
        logger,
      });
    case 'log':
      return new LogMetricSink((entry) => logger.log(entry));
    default:
      return NO_METRICS;
  }
}

const NO_METRICS: MetricSink = {
  recordPrediction: () => undefined,
  recordLatency: () => undefined,
  recordError: () => undefined,
  recordDrift: () => undefined,
  recordDroppedTelemetry: () => undefined,
  flush: () => Promise.resolve(),
};

/** Routes /<function>/… to that function, for serving all of them on one local port. */
export function makeRouter(service: Service): HttpFunction {
  return async (req, res) => {
    const [, first = ''] = (req.path ?? '/').split('/');
    const target = service.functions[first as keyof Service['functions']];
    if (target !== undefined) {
      await target(req, res);
      return;
    }
    if (first === '') {
      await service.functions.web(req, res);
      return;
    }
    if (first === 'openapi.json') {
      // Every function answers GET …/openapi.json.
      await service.functions.health(req, res);
      return;
    }
    await service.notFound(req, res);
  };
}

/**
 * Registers every function (and the local router) under its entry-point name, and sets up what is
 * process-wide: the front door on the framework's Express (limits before any body is read) and
 * sharp's settings. `buildService` itself has no process-wide effects.
 */
export function registerFunctions(service: Service): void {
  installFrontDoor({ maxRequestBytes: service.config.maxRequestBytes, logger: service.logger });
  // One libvips thread per decode and no operation cache: measured faster on 1-2 vCPUs and keeps memory flat.
  if (service.decoder instanceof SharpDecoder) SharpDecoder.configure({ concurrency: 1, cache: false });
  for (const [name, handler] of Object.entries(service.functions)) {
    if (handler !== undefined) functions.http(name, handler);
  }
  functions.http('app', makeRouter(service));
}

/** Time kept after draining for answering what is left and the last flush. */
const FINAL_RESERVE_MS = 1500;

/**
 * The one shutdown sequence of a serving instance, run by the entry point on SIGTERM before the
 * framework's own handler exits the process. Everything happens within `graceMs` of the signal:
 *
 * 1. answer new requests 503 shutting_down, and from now on write every telemetry record as soon
 *    as it is made;
 * 2. flush what is buffered (records of requests already answered);
 * 3. let the requests in flight finish until `graceMs` less a reserve (at most 1.5 s, at most a
 *    quarter of the grace period) has passed;
 * 4. answer those still running with 503 shutting_down (their telemetry is never recorded);
 * 5. flush again: every image answered 200 now has its record; close the port.
 */
export async function shutDown(service: Pick<Service, 'logger' | 'observer' | 'telemetry'>, graceMs: number, now: () => number = Date.now): Promise<void> {
  const started = now();
  const reserve = Math.min(FINAL_RESERVE_MS, graceMs / 4);
  stopAccepting();
  service.telemetry.flushEveryRecord();
  await service.observer.flushAll();
  const unfinished = await drainRequests(started + graceMs - reserve - now());
  if (unfinished > 0) {
    const cut = await cutOffRequests(service.logger, reserve / 2);
    service.logger.warning(`shutting down: ${cut} requests still running after ${Math.round(graceMs - reserve)} ms were answered 503 shutting_down`);
  }
  await service.observer.flushAll();
  closeServers();
}

/** DRIFT_READER: the telemetry objects themselves (files), or one BigQuery query over them. */
function driftReader(config: Config, telemetryStore: BlobStore): DriftReader {
  if (config.driftReader === 'files') return new FileDriftReader(telemetryStore);
  return new BigQueryDriftReader({
    table: config.bigqueryTable as string,
    ...(config.projectId === null ? {} : { projectId: config.projectId }),
    ...(config.bigqueryApiEndpoint === null ? {} : { apiEndpoint: config.bigqueryApiEndpoint }),
  });
}
