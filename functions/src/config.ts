/**
 * Every setting of the service, declared once: environment variable, default, validator and the
 * sentence the table of docs/configuration.md uses. `loadConfig(env)` parses them all at cold start into a frozen
 * object and reports every invalid variable together. Nothing else reads `process.env`.
 */
import { BIGQUERY_TABLE_PATTERN } from './drift/bigquery-drift-query';
import { InternalError } from './errors';
import * as path from 'node:path';

export type ImageDecoderName = 'sharp' | 'jimp';
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Config {
  port: number;
  modelStore: string;
  defaultModel: string;
  modelRefreshSeconds: number;
  ortIntraOpThreads: number;
  imageDecoder: ImageDecoderName;
  maxImageBytes: number;
  maxRequestBytes: number;
  maxPixels: number;
  minImageSide: number;
  maxDecodeMs: number;
  maxBatchItems: number;
  allowedBuckets: readonly string[];
  apiKeys: readonly string[];
  apiKeysFile: string | null;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  logLevel: LogLevel;
  storageApiEndpoint: string | null;
  vertexApiEndpoint: string | null;
  projectId: string | null;
  telemetryStore: string;
  feedbackStore: string;
  feedbackRecentPredictions: number;
  feedbackRecentBytes: number;
  feedbackRecentSeconds: number;
  telemetryFlushRecords: number;
  telemetryFlushSeconds: number;
  telemetryBufferCapacity: number;
  driftWindowHours: number;
  driftMinSamples: number;
  driftReader: 'files' | 'bigquery';
  bigqueryTable: string | null;
  bigqueryApiEndpoint: string | null;
  metricsSink: 'log' | 'cloud-monitoring' | 'none';
  metricsFlushSeconds: number;
  instanceId: string | null;
  functionTarget: string;
  metricsLocation: string;
  trustedProxyHops: number;
  storageTimeoutMs: number;
  c2paTrustStore: string | null;
  shutdownGraceMs: number;
  scoringConcurrency: number;
  telemetryRetryMaxSeconds: number;
}

/** The repository root, found from this file whether it runs from `functions/src` or `dist/functions/src`. */
export function repoRoot(): string {
  const up = path.resolve(__dirname, '..', '..');
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

type Parser<T> = (raw: string, name: string) => T;

export interface SettingSpec {
  env: string;
  default: string;
  description: string;
}

export class ConfigError extends InternalError {
  constructor(readonly problems: readonly string[]) {
    super('invalid_configuration', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`${name} must be an integer between ${min} and ${max}; got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}; got ${value}`);
    return value;
  };

const num =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`${name} must be a number; got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}; got ${value}`);
    return value;
  };

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!(values as string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}; got ${JSON.stringify(raw)}`);
    return raw as T;
  };

const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const modelName: Parser<string> = (raw, name) => {
  if (!MODEL_NAME.test(raw)) throw new Error(`${name} must be a model name (lower-case letters, digits, '-' and '_'); got ${JSON.stringify(raw)}`);
  return raw;
};

const text: Parser<string> = (raw) => raw;

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
/** A folder path, a file: URL or gs://bucket/prefix; checked here so that a bad one names its variable. */
const storeLocation: Parser<string> = (raw, name) => {
  const value = raw.trim();
  if (value === '') throw new Error(`${name} must be a folder path or gs://bucket/prefix; got an empty value`);
  const gcs = /^gs:\/\/([^/]*)(\/.*)?$/i.exec(value);
  if (gcs !== null) {
    const bucket = gcs[1] ?? '';
    if (!BUCKET_NAME.test(bucket) || bucket.split('.').some((part) => part.length === 0 || part.length > 63)) {
      throw new Error(
        `${name} must name a valid Cloud Storage bucket (3-63 lower-case letters, digits, '-', '_' or '.'), like gs://my-bucket/prefix; got ${JSON.stringify(value.slice(0, 200))}`,
      );
    }
    if ((gcs[2] ?? '').split('/').some((part, i, parts) => part === '.' || part === '..' || (part === '' && i > 0 && i < parts.length - 1))) {
      throw new Error(
        `${name} has an invalid prefix; use gs://bucket/some/prefix without '.', '..' or empty parts; got ${JSON.stringify(value.slice(0, 200))}`,
      );
    }
    return value;
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme !== undefined && scheme.toLowerCase() !== 'file') {
    throw new Error(`${name} must be a folder path or gs://bucket/prefix; "${scheme}://" is not supported`);
  }
  return value;
};

/** A store location, or `none` (null): no trust material. */
const trustStore: Parser<string | null> = (raw, name) => (raw.trim().toLowerCase() === 'none' ? null : storeLocation(raw, name));

const optionalText: Parser<string | null> = (raw) => (raw.trim() === '' ? null : raw.trim());

const list: Parser<readonly string[]> = (raw) =>
  Object.freeze(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

const bigqueryTable: Parser<string | null> = (raw, name) => {
  const value = raw.trim();
  if (value === '') return null;
  if (!BIGQUERY_TABLE_PATTERN.test(value.replace(/\{model\}/g, 'model'))) {
    throw new Error(
      `${name} must be project.dataset.table (letters, digits and '_' in dataset and table; {model} allowed), like my-project.detector_telemetry.telemetry_{model}; got ${JSON.stringify(value.slice(0, 200))}`,
    );
  }
  return value;
};

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const buckets: Parser<readonly string[]> = (raw, name) => {
  const items = list(raw, name);
  const bad = items.filter((item) => !BUCKET.test(item));
  if (bad.length > 0) throw new Error(`${name} must be a comma-separated list of bucket names (no gs://); bad: ${bad.join(', ')}`);
  return items;
};

const apiKeyList: Parser<readonly string[]> = (raw, name) => {
  const items = list(raw, name);
  if (items.some((item) => item.length < 16)) throw new Error(`${name} entries must be at least 16 characters long`);
  return items;
};

interface Setting<K extends keyof Config> extends SettingSpec {
  key: K;
  parse: Parser<Config[K]>;
}

const setting = <K extends keyof Config>(key: K, env: string, defaultValue: string, parse: Parser<Config[K]>, description: string): Setting<K> => ({
  key,
  env,
  default: defaultValue,
  parse,
  description,
});

const MIB = 1024 * 1024;

/** Every variable the service reads. The table of docs/configuration.md and the Terraform checks are derived from this list. */
export const SETTINGS = [
  setting('port', 'PORT', '8080', int(1, 65535), 'Port of the local server (`npm start`).'),
  setting('modelStore', 'MODEL_STORE', '<repo>/models', storeLocation, 'Model registry: a local folder or gs://bucket/prefix.'),
  setting('defaultModel', 'DEFAULT_MODEL', 'general', modelName, 'Model used when a request has no ?model=.'),
  setting('modelRefreshSeconds', 'MODEL_REFRESH_SECONDS', '60', int(0, 86400), "Re-read each model's production.json at most this often (0: every request)."),
  setting('ortIntraOpThreads', 'ORT_INTRA_OP_THREADS', '1', int(1, 64), 'onnxruntime intra-op threads per session.'),
  setting(
    'imageDecoder',
    'IMAGE_DECODER',
    'sharp',
    oneOf<ImageDecoderName>('sharp', 'jimp'),
    'Image decoder: sharp (fast, JPEG/PNG/WebP/AVIF) or jimp (pure JavaScript, JPEG/PNG).',
  ),
  setting('maxImageBytes', 'MAX_IMAGE_BYTES', String(10 * MIB), int(1, 32 * MIB), 'Largest accepted image, in bytes.'),
  setting(
    'maxRequestBytes',
    'MAX_REQUEST_BYTES',
    String(31 * MIB),
    int(1, 32 * MIB),
    'Largest accepted request body, in bytes (Cloud Functions caps requests at 32 MiB).',
  ),
  setting('maxPixels', 'MAX_PIXELS', '40000000', int(1, 268402689), 'Largest accepted image area in pixels, read from the header before decoding.'),
  setting('minImageSide', 'MIN_IMAGE_SIDE', '16', int(1, 4096), 'Smallest accepted width or height in pixels.'),
  setting(
    'maxDecodeMs',
    'MAX_DECODE_MS',
    '1500',
    int(10, 60000),
    "Estimated decode time one request may spend, from each image's format and size before decoding (AVIF costs about 18× JPEG per pixel); an image over it is 413 too_many_pixels, batch images past it 413 decode_budget_exceeded.",
  ),
  setting('maxBatchItems', 'MAX_BATCH_ITEMS', '20', int(1, 256), 'Most images in one /batch request.'),
  setting('allowedBuckets', 'ALLOWED_BUCKETS', '', buckets, 'Buckets that {"uri": "gs://..."} may read from (comma-separated; empty: none).'),
  setting('apiKeys', 'API_KEYS', '', apiKeyList, 'Accepted API keys (comma-separated, each ≥ 16 characters); empty with no API_KEYS_FILE: no auth.'),
  setting('apiKeysFile', 'API_KEYS_FILE', '', optionalText, 'File with one API key per line (a Secret Manager volume mount), added to API_KEYS.'),
  setting(
    'rateLimitPerSecond',
    'RATE_LIMIT_PER_SECOND',
    '20',
    num(0, 100000),
    'Token-bucket refill rate per API key (per client IP without auth), per instance; 0 disables.',
  ),
  setting('rateLimitBurst', 'RATE_LIMIT_BURST', '40', int(1, 1000000), 'Token-bucket size: requests a client may burst.'),
  setting('logLevel', 'LOG_LEVEL', 'info', oneOf<LogLevel>('debug', 'info', 'warning', 'error'), 'Lowest severity written to the log.'),
  setting('storageApiEndpoint', 'STORAGE_API_ENDPOINT', '', optionalText, 'Cloud Storage JSON API endpoint override (tests, emulators).'),
  setting(
    'vertexApiEndpoint',
    'VERTEX_API_ENDPOINT',
    '',
    optionalText,
    'Vertex AI API endpoint override for `npm run pipeline -- --runner vertex` (tests, a local server); default: https://<region>-aiplatform.googleapis.com.',
  ),
  setting('projectId', 'GOOGLE_CLOUD_PROJECT', '', optionalText, 'Google Cloud project (metrics, storage).'),
  setting(
    'telemetryStore',
    'TELEMETRY_STORE',
    '<repo>/.local/telemetry',
    storeLocation,
    'Where telemetry records and drift reports go: a folder or gs://bucket/prefix.',
  ),
  setting(
    'feedbackStore',
    'FEEDBACK_STORE',
    '<repo>/.local/feedback',
    storeLocation,
    'Where POST /feedback stores images and records (<model>/train/{REAL,FAKE}/, <model>/records/): a folder or gs://bucket/prefix.',
  ),
  setting(
    'feedbackRecentPredictions',
    'FEEDBACK_RECENT_PREDICTIONS',
    '200',
    int(0, 100000),
    'Recent /predict images each instance keeps in memory so that POST /feedback can name them by request_id (0: none).',
  ),
  setting(
    'feedbackRecentBytes',
    'FEEDBACK_RECENT_BYTES',
    String(32 * MIB),
    int(0, 1024 * MIB),
    'Most image bytes those recent predictions may hold per instance; the oldest go first.',
  ),
  setting('feedbackRecentSeconds', 'FEEDBACK_RECENT_SECONDS', '900', int(1, 86400), 'How long a recent prediction can be named by request_id.'),
  setting('telemetryFlushRecords', 'TELEMETRY_FLUSH_RECORDS', '20', int(1, 100000), 'Flush telemetry when this many records are buffered.'),
  setting(
    'telemetryFlushSeconds',
    'TELEMETRY_FLUSH_SECONDS',
    '2',
    int(0, 86400),
    'Flush telemetry when the oldest buffered record is this old (from inside a request, or from a timer on an idle instance).',
  ),
  setting(
    'telemetryRetryMaxSeconds',
    'TELEMETRY_RETRY_MAX_SECONDS',
    '300',
    int(1, 86400),
    'While telemetry writes fail, retries wait 1 s, then twice as long after each failure, up to this; /health says degraded meanwhile.',
  ),
  setting(
    'telemetryBufferCapacity',
    'TELEMETRY_BUFFER_CAPACITY',
    '10000',
    int(1, 10000000),
    'Most records buffered per instance; older ones are dropped (and counted) past it.',
  ),
  setting('driftWindowHours', 'DRIFT_WINDOW_HOURS', '24', int(1, 24 * 90), 'Window of telemetry compared with the reference by POST /drift.'),
  setting('driftMinSamples', 'DRIFT_MIN_SAMPLES', '200', int(1, 100000000), 'Fewest records for a drift verdict; below it the status is insufficient_data.'),
  setting(
    'driftReader',
    'DRIFT_READER',
    'files',
    oneOf('files', 'bigquery'),
    'How POST /drift reads the window: files (the telemetry objects, in the function) or bigquery (one query over the external table on them; needs BIGQUERY_TABLE).',
  ),
  setting(
    'bigqueryTable',
    'BIGQUERY_TABLE',
    '',
    bigqueryTable,
    'External table of the telemetry for DRIFT_READER=bigquery, as project.dataset.table; `{model}` stands for the model name (with - as _), e.g. my-project.detector_telemetry.telemetry_{model}.',
  ),
  setting('bigqueryApiEndpoint', 'BIGQUERY_API_ENDPOINT', '', optionalText, 'BigQuery REST API endpoint override (tests, a local server).'),
  setting(
    'metricsSink',
    'METRICS_SINK',
    'log',
    oneOf('log', 'cloud-monitoring', 'none'),
    'Where metrics go: structured log lines, Cloud Monitoring custom metrics, or nowhere.',
  ),
  setting('metricsFlushSeconds', 'METRICS_FLUSH_SECONDS', '60', int(10, 3600), 'Write aggregated metric points at most this often per instance.'),
  setting('instanceId', 'INSTANCE_ID', '', optionalText, 'Name of this instance in telemetry object names and metrics (default: random per cold start).'),
  setting('functionTarget', 'FUNCTION_TARGET', 'local', text, 'The function this instance serves (set by Cloud Functions); the `job` label of its metrics.'),
  setting('metricsLocation', 'METRICS_LOCATION', 'global', text, 'Region written as the `location` of Cloud Monitoring metrics (e.g. europe-west1).'),
  setting(
    'storageTimeoutMs',
    'STORAGE_TIMEOUT_MS',
    '10000',
    int(50, 600000),
    'Deadline of every model, telemetry and drift storage call; a call past it fails (model_unavailable or a retried telemetry write) instead of holding the request.',
  ),
  setting(
    'c2paTrustStore',
    'C2PA_TRUST_STORE',
    '<model store>/trust',
    trustStore,
    'Trust material for C2PA signers: a folder or gs://bucket/prefix holding trust.json and the PEM files it names (models/trust/ is the shipped copy; docs/provenance.md). `none`: no trust list, so no manifest is ever `valid`.',
  ),
  setting(
    'scoringConcurrency',
    'SCORING_CONCURRENCY',
    '2',
    int(1, 64),
    "Most decodes and inferences running at once per instance; the rest wait their turn. Keep it under libuv's thread pool (4 threads), which file and DNS calls share.",
  ),
  setting(
    'shutdownGraceMs',
    'SHUTDOWN_GRACE_MS',
    '8000',
    int(100, 3600000),
    "After SIGTERM: telemetry is flushed, requests in flight may finish for this long (less a flush reserve), the rest are answered 503 shutting_down, telemetry is flushed again and the process exits. Keep it under the platform's SIGTERM-to-SIGKILL time (10 s on Cloud Functions and Cloud Run).",
  ),
  setting(
    'trustedProxyHops',
    'TRUSTED_PROXY_HOPS',
    '0',
    int(0, 10),
    'Proxies in front of the service that append to X-Forwarded-For (1 on Cloud Functions); the client IP for the rate limit is the address the outermost of them saw, never a client-supplied entry. 0: the socket peer.',
  ),
] as const;

function defaultFor(spec: SettingSpec): string {
  if (spec.default === '<repo>/models') return path.join(repoRoot(), 'models');
  if (spec.default === '<repo>/.local/telemetry') return path.join(repoRoot(), '.local', 'telemetry');
  if (spec.default === '<repo>/.local/feedback') return path.join(repoRoot(), '.local', 'feedback');
  return spec.default;
}

/** `trust` inside a model store location (a folder, file: URL or gs://bucket/prefix). */
function trustUnder(modelStore: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(modelStore) ? `${modelStore.replace(/\/+$/, '')}/trust` : path.join(modelStore, 'trust');
}

/** Parses and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Readonly<Config> {
  const problems: string[] = [];
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const spec of SETTINGS) {
    const raw = env[spec.env];
    const source = raw === undefined || raw === '' ? defaultFor(spec) : raw;
    try {
      values[spec.key] = (spec.parse as Parser<unknown>)(source, spec.env);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const both = (a: keyof Config, b: keyof Config) => typeof values[a] === 'number' && typeof values[b] === 'number';
  if (both('maxImageBytes', 'maxRequestBytes') && (values.maxImageBytes as number) > (values.maxRequestBytes as number)) {
    problems.push(`MAX_IMAGE_BYTES (${values.maxImageBytes as number}) must not exceed MAX_REQUEST_BYTES (${values.maxRequestBytes as number})`);
  }
  if (both('telemetryFlushRecords', 'telemetryBufferCapacity') && (values.telemetryFlushRecords as number) > (values.telemetryBufferCapacity as number)) {
    problems.push(
      `TELEMETRY_FLUSH_RECORDS (${values.telemetryFlushRecords as number}) must not exceed TELEMETRY_BUFFER_CAPACITY (${values.telemetryBufferCapacity as number})`,
    );
  }
  if (values.driftReader === 'bigquery' && values.bigqueryTable === null && !problems.some((problem) => problem.startsWith('BIGQUERY_TABLE'))) {
    problems.push('DRIFT_READER=bigquery needs BIGQUERY_TABLE (project.dataset.table of the telemetry external table)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const trust = env.C2PA_TRUST_STORE;
  if ((trust === undefined || trust === '') && typeof values.modelStore === 'string') values.c2paTrustStore = trustUnder(values.modelStore);
  return Object.freeze(values as Config);
}
