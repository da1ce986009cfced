/**
 * What every part stands on: errors, logging, settings, storage (a folder or a bucket) and a few
 * small helpers. Nothing here knows about images, models or requests.
 */
export { AppError, DetectorError, InternalError, isAppError, isDetectorError } from './errors';
export { createLogger, createMemoryLogger, type LogEntry, type Logger, type Severity } from './logger';
export { packageVersion } from './package-version';
export { repoRoot } from './repo-root';
export { mulberry32 } from './seeded-random';
export { describeAjvErrors } from './ajv-errors';
export { ConfigError, type Env, MODEL_NAME_PATTERN, optionalText, type PlatformSettings, readSettings, settingOf } from './settings';
export { type BlobInfo, type BlobStore, isBlobNotFound, isPreconditionFailed, joinKey } from './storage/blob-store';
export { FileBlobStore } from './storage/file-blob-store';
export { openBlobStore, type OpenBlobStoreOptions, parseGcsUri, storeOptionsFrom } from './storage/open-blob-store';
