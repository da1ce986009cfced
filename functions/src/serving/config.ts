/**
 * Every setting of the service, declared once: environment variable, default, validator and the
 * sentence the table of docs/configuration.md uses. The detector's and monitoring's settings are
 * declared beside their code (detector/detector-settings.ts, monitoring/monitoring-settings.ts);
 * the service's own are here. `loadConfig(env)` parses them all at cold start into a frozen object
 * and reports every invalid variable together. Nothing else reads `process.env`.
 */
import { type DetectorSettings, DETECTOR_SETTINGS, readDetectorSettings } from '../detector/detector-settings';
import { type MonitoringSettings, MONITORING_SETTINGS, readMonitoringSettings } from '../monitoring/monitoring-settings';
import {
  BUCKET_NAME,
  ConfigError,
  type Env,
  int,
  list,
  modelName,
  num,
  oneOf,
  optionalText,
  type Parser,
  readSettings,
  settingOf,
  storeLocation,
  text,
} from '../platform/settings';

/** The service's own settings. */
export interface ServingSettings {
  port: number;
  defaultModel: string;
  maxRequestBytes: number;
  maxBatchItems: number;
  allowedBuckets: readonly string[];
  apiKeys: readonly string[];
  apiKeysFile: string | null;
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  feedbackStore: string;
  feedbackRecentPredictions: number;
  feedbackRecentBytes: number;
  feedbackRecentSeconds: number;
  metricsSink: 'log' | 'cloud-monitoring' | 'none';
  metricsFlushSeconds: number;
  instanceId: string | null;
  functionTarget: string;
  metricsLocation: string;
  trustedProxyHops: number;
  scoringConcurrency: number;
  shutdownGraceMs: number;
}

export type Config = DetectorSettings & MonitoringSettings & ServingSettings;

const buckets: Parser<readonly string[]> = (raw, name) => {
  const items = list(raw, name);
  const bad = items.filter((item) => !BUCKET_NAME.test(item));
  if (bad.length > 0) throw new Error(`${name} must be a comma-separated list of bucket names (no gs://); bad: ${bad.join(', ')}`);
  return items;
};

const apiKeyList: Parser<readonly string[]> = (raw, name) => {
  const items = list(raw, name);
  if (items.some((item) => item.length < 16)) throw new Error(`${name} entries must be at least 16 characters long`);
  return items;
};

const setting = settingOf<ServingSettings>();
const MIB = 1024 * 1024;

export const SERVING_SETTINGS = [
  setting('port', 'PORT', '8080', int(1, 65535), 'Port of the local server (`npm start`).'),
  setting('defaultModel', 'DEFAULT_MODEL', 'general', modelName, 'Model used when a request has no ?model=.'),
  setting(
    'maxRequestBytes',
    'MAX_REQUEST_BYTES',
    String(31 * MIB),
    int(1, 32 * MIB),
    'Largest accepted request body, in bytes (Cloud Functions caps requests at 32 MiB).',
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

/** Every variable the service reads. The table of docs/configuration.md and the Terraform checks are derived from this list. */
export const SETTINGS = [...DETECTOR_SETTINGS, ...MONITORING_SETTINGS, ...SERVING_SETTINGS] as const;

/** Parses and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env): Readonly<Config> {
  const problems: string[] = [];
  const detector = readDetectorSettings(env, problems);
  const monitoring = readMonitoringSettings(env, problems);
  const serving = readSettings<ServingSettings>(SERVING_SETTINGS, env, problems);
  if (detector.maxImageBytes !== undefined && serving.maxRequestBytes !== undefined && detector.maxImageBytes > serving.maxRequestBytes) {
    problems.push(`MAX_IMAGE_BYTES (${detector.maxImageBytes}) must not exceed MAX_REQUEST_BYTES (${serving.maxRequestBytes})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...detector, ...monitoring, ...serving } as Config);
}
