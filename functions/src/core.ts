/**
 * The stated surface of `functions/src` for the rest of the repository: the training pipeline,
 * the scripts and any command line import this file only, never the modules behind it and never
 * the serving composition root (`app.ts`). What is here is what they share with serving: the
 * configuration, the scoring core and the model-loading path, the model files' schemas, storage,
 * drift references, features and the logger.
 */
export { type Config, ConfigError, loadConfig, repoRoot, SETTINGS } from './config';
export { AppError, DetectorError, InternalError, isAppError, isDetectorError } from './errors';
export { packageVersion } from './package-version';
export { buildOpenApiDocument } from './api/openapi';
export { createLogger, createMemoryLogger, type LogEntry, type Logger, type Severity } from './logger';

export { createDecoder } from './image/create-decoder';
export { mulberry32 } from './util/seeded-random';
export type { ImageDecoder, ImageFormat, ImageHeader, ResizeSpec } from './image/image-decoder';
export { readImageHeader } from './image/image-header';
export { computeImageFeatures, type ImageFeatures } from './features/image-features';

export { type EngineFactory, loadModel, ModelMismatchError } from './model/load-model';
export { LoadedModel } from './model/loaded-model';
export { ModelRegistry } from './model/model-registry';
export { createOnnxEngine, type InferenceEngine } from './model/onnx-session';
export {
  describeAjvErrors,
  MODEL_NAME_PATTERN,
  type ModelMetadata,
  parseMetadata,
  parseProductionPointer,
  type ProductionPointer,
} from './model/model-metadata';

export {
  type ImageLimits,
  type ItemScore,
  type PreparedImage,
  scoreImages,
  type ScoredImages,
  type ScoreItem,
  type ScoringDeps,
  toVerdict,
  type Verdict,
} from './scoring/score-images';

export { type BlobInfo, type BlobStore, isBlobNotFound, isPreconditionFailed, joinKey } from './storage/blob-store';
export { FileBlobStore } from './storage/file-blob-store';
export { openBlobStore, type OpenBlobStoreOptions, parseGcsUri, storeOptionsFrom } from './storage/open-blob-store';

export { C2paWasmReader } from './evidence/c2pa-wasm-reader';
export { decodeInvisibleWatermark } from './evidence/invisible-watermark';
export { loadTrustMaterial, parseTrustIndex, TRUST_INDEX } from './evidence/trust-material';
export { type Evidence, extractEvidence } from './evidence/extract-evidence';
export { type ManifestReader, NO_MANIFEST_READER } from './evidence/manifest-reader';

export { buildReference, type DriftReference, parseReference, type ReferenceInput } from './drift/reference';
export { computeDriftReport, DEFAULT_DRIFT_THRESHOLDS } from './drift/drift-report';
export { readTelemetry } from './telemetry/telemetry-reader';
export { makeTelemetryRecord, serializeRecords, telemetryObjectKey } from './telemetry/telemetry-record';
