/**
 * The detector's stated surface: what the service, the training pipeline and the commands may use
 * of it. Images are read (header first, then decoded), scored by a model from the registry in one
 * path, and weighed with the evidence the file carries. Twenty names at most (the boundaries test
 * counts them); everything else is the detector's own business.
 */
export { type DetectorSettings, DETECTOR_SETTINGS, readDetectorSettings } from './detector-settings';
export { createDecoder } from './image/create-decoder';
export type { ImageDecoder } from './image/image-decoder';
export { type ImageLimits, readImageHeader } from './image/image-header';
export { createOnnxEngine } from './model/onnx-session';
export { loadModel } from './model/load-model';
export { LoadedModel } from './model/loaded-model';
export { ModelRegistry } from './model/model-registry';
export { type ModelMetadata, parseMetadata, parseProductionPointer } from './model/model-metadata';
export { scoreImages, type ScoreItem } from './scoring/score-images';
export { extractEvidence } from './evidence/extract-evidence';
export { C2paWasmReader } from './evidence/c2pa-wasm-reader';
export { loadTrustMaterial } from './evidence/trust-material';
export { decodeInvisibleWatermark } from './evidence/invisible-watermark';
