/**
 * The detector's own settings: where models live, how images are read and limited, how the model
 * runs and whose Content Credentials are trusted. The service (serving/config.ts) and the
 * training pipeline (pipeline/src/pipeline-settings.ts) each read these with their own.
 */
import * as path from 'node:path';
import { type Env, int, oneOf, type Parser, PLATFORM_SETTINGS, type PlatformSettings, readSettings, settingOf, storeLocation } from '../platform/settings';

export type ImageDecoderName = 'sharp' | 'jimp';

export interface DetectorSettings extends PlatformSettings {
  modelStore: string;
  modelRefreshSeconds: number;
  ortIntraOpThreads: number;
  imageDecoder: ImageDecoderName;
  maxImageBytes: number;
  maxPixels: number;
  minImageSide: number;
  maxDecodeMs: number;
  c2paTrustStore: string | null;
}

const MIB = 1024 * 1024;
const setting = settingOf<DetectorSettings>();

/** A store location, or `none` (null): no trust material. */
const trustStore: Parser<string | null> = (raw, name) => (raw.trim().toLowerCase() === 'none' ? null : storeLocation(raw, name));

/** The detector's variables, after the platform's (log level, project, storage endpoint and deadline). */
export const DETECTOR_SETTINGS = [
  ...PLATFORM_SETTINGS,
  setting('modelStore', 'MODEL_STORE', '<repo>/models', storeLocation, 'Model registry: a local folder or gs://bucket/prefix.'),
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
  setting('maxPixels', 'MAX_PIXELS', '40000000', int(1, 268402689), 'Largest accepted image area in pixels, read from the header before decoding.'),
  setting('minImageSide', 'MIN_IMAGE_SIDE', '16', int(1, 4096), 'Smallest accepted width or height in pixels.'),
  setting(
    'maxDecodeMs',
    'MAX_DECODE_MS',
    '1500',
    int(10, 60000),
    "Estimated decode time one request may spend, from each image's format and size before decoding (AVIF costs about 18× JPEG per pixel); an image over it is 413 too_many_pixels, batch images past it 413 decode_budget_exceeded.",
  ),
  setting(
    'c2paTrustStore',
    'C2PA_TRUST_STORE',
    '<model store>/trust',
    trustStore,
    'Trust material for C2PA signers: a folder or gs://bucket/prefix holding trust.json and the PEM files it names (models/trust/ is the shipped copy; docs/provenance.md). `none`: no trust list, so no manifest is ever `valid`.',
  ),
] as const;

/** `trust` inside a model store location (a folder, file: URL or gs://bucket/prefix). */
function trustUnder(modelStore: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(modelStore) ? `${modelStore.replace(/\/+$/, '')}/trust` : path.join(modelStore, 'trust');
}

/** Reads the detector's settings into `problems`; C2PA_TRUST_STORE unset means `trust` in the model store. */
export function readDetectorSettings(env: Env, problems: string[]): Partial<DetectorSettings> {
  const values = readSettings<DetectorSettings>(DETECTOR_SETTINGS, { ...env, C2PA_TRUST_STORE: env.C2PA_TRUST_STORE || 'none' }, problems);
  if (!env.C2PA_TRUST_STORE && typeof values.modelStore === 'string') values.c2paTrustStore = trustUnder(values.modelStore);
  return values;
}
