/**
 * How a setting is declared and read: environment variable, default, validator and the sentence
 * the table of docs/configuration.md uses, in one place. Each part declares its own settings with
 * these (platform/settings.ts, detector/detector-settings.ts, monitoring/monitoring-settings.ts,
 * serving/config.ts, pipeline/src/pipeline-settings.ts); `readSettings` parses a list of them from
 * an environment passed in as a plain object and reports every invalid variable together.
 */
import * as path from 'node:path';
import { InternalError } from './errors';
import { repoRoot } from './repo-root';

export type Parser<T> = (raw: string, name: string) => T;
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';
export type Env = Readonly<Record<string, string | undefined>>;

export interface SettingSpec {
  env: string;
  default: string;
  description: string;
}

export interface Setting<C, K extends keyof C = keyof C> extends SettingSpec {
  key: K;
  parse: Parser<C[K]>;
}

/** A declarer of settings for the settings object `C`: `settingOf<MySettings>()('key', 'ENV', 'default', parser, 'what it does')`. */
export const settingOf =
  <C>() =>
  <K extends keyof C>(key: K, env: string, defaultValue: string, parse: Parser<C[K]>, description: string): Setting<C, K> => ({
    key,
    env,
    default: defaultValue,
    parse,
    description,
  });

export class ConfigError extends InternalError {
  constructor(readonly problems: readonly string[]) {
    super('invalid_configuration', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export const int =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`${name} must be an integer between ${min} and ${max}; got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}; got ${value}`);
    return value;
  };

export const num =
  (min: number, max: number): Parser<number> =>
  (raw, name) => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new Error(`${name} must be a number; got ${JSON.stringify(raw)}`);
    if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}; got ${value}`);
    return value;
  };

export const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw, name) => {
    if (!(values as string[]).includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}; got ${JSON.stringify(raw)}`);
    return raw as T;
  };

/** A model's name: its folder in the store, its `?model=` and DEFAULT_MODEL. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const modelName: Parser<string> = (raw, name) => {
  if (!MODEL_NAME_PATTERN.test(raw)) throw new Error(`${name} must be a model name (lower-case letters, digits, '-' and '_'); got ${JSON.stringify(raw)}`);
  return raw;
};

export const text: Parser<string> = (raw) => raw;

export const optionalText: Parser<string | null> = (raw) => (raw.trim() === '' ? null : raw.trim());

export const list: Parser<readonly string[]> = (raw) =>
  Object.freeze(
    raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

/** A Cloud Storage bucket name (3-63 characters per dot-separated part). */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** A folder path, a file: URL or gs://bucket/prefix; checked here so that a bad one names its variable. */
export const storeLocation: Parser<string> = (raw, name) => {
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

/** `<repo>/...` defaults name a folder of this checkout. */
function defaultFor(spec: SettingSpec): string {
  return spec.default.startsWith('<repo>/') ? path.join(repoRoot(), ...spec.default.slice('<repo>/'.length).split('/')) : spec.default;
}

/**
 * Parses `specs` from `env` (an unset or empty variable takes its default); each invalid variable
 * adds one sentence to `problems` and leaves its key unset.
 */
export function readSettings<C>(specs: readonly (SettingSpec & { key: keyof C; parse: Parser<unknown> })[], env: Env, problems: string[]): Partial<C> {
  const values: Partial<C> = {};
  for (const spec of specs) {
    const raw = env[spec.env];
    const source = raw === undefined || raw === '' ? defaultFor(spec) : raw;
    try {
      values[spec.key] = spec.parse(source, spec.env) as C[keyof C];
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return values;
}

/** What every part that reads storage or writes logs needs. */
export interface PlatformSettings {
  logLevel: LogLevel;
  projectId: string | null;
  storageApiEndpoint: string | null;
  storageTimeoutMs: number;
}

const platformSetting = settingOf<PlatformSettings>();

export const PLATFORM_SETTINGS = [
  platformSetting('logLevel', 'LOG_LEVEL', 'info', oneOf<LogLevel>('debug', 'info', 'warning', 'error'), 'Lowest severity written to the log.'),
  platformSetting('projectId', 'GOOGLE_CLOUD_PROJECT', '', optionalText, 'Google Cloud project (metrics, storage).'),
  platformSetting('storageApiEndpoint', 'STORAGE_API_ENDPOINT', '', optionalText, 'Cloud Storage JSON API endpoint override (tests, emulators).'),
  platformSetting(
    'storageTimeoutMs',
    'STORAGE_TIMEOUT_MS',
    '10000',
    int(50, 600000),
    'Deadline of every model, telemetry and drift storage call; a call past it fails (model_unavailable or a retried telemetry write) instead of holding the request.',
  ),
] as const;
