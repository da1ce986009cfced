/**
 * Monitoring's stated surface: the telemetry records the service leaves, the features they hold,
 * the drift reference a training run writes and the drift report computed from both.
 */
export { computeImageFeatures, type ImageFeatures } from './features/image-features';
export { buildReference, type DriftReference, parseReference, type ReferenceInput } from './drift/reference';
export { computeDriftReport, DEFAULT_DRIFT_THRESHOLDS } from './drift/drift-report';
export { readTelemetry } from './telemetry/telemetry-reader';
export { makeTelemetryRecord, serializeRecords, telemetryObjectKey } from './telemetry/telemetry-record';
