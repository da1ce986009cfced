/**
 * The scoring path shared by /predict, /batch, health's warm-up and the training pipeline's
 * evaluation: bytes → header check → decode + resize → tensor → one onnxruntime call → verdicts.
 */
import { performance } from 'node:perf_hooks';
import { BadRequestError } from '../errors';
import type { DecodedImage, ImageDecoder, ImageHeader } from '../image/image-decoder';
import { readImageHeader } from '../image/image-header';
import { toInputTensor } from '../image/preprocess';
import type { LoadedModel } from '../model/model-registry';
import { type Confidence, confidenceOf } from '../model/scores';
import type { ImageFetcher } from './image-fetcher';
import type { ImageSource } from '../http/image-inputs';
import type { ScoredImage } from './observer';

export interface ImageLimits {
  maxImageBytes: number;
  maxPixels: number;
  minImageSide: number;
}

export interface PreparedImage {
  header: ImageHeader;
  decoded: DecodedImage;
  bytes: number;
  decodeMs: number;
}

export interface Verdict {
  prediction: 'ai_generated' | 'real';
  probability: number;
  confidence: Confidence;
  threshold: number;
  model: { name: string; version: string };
  image: { width: number; height: number; format: string; bytes: number; animated?: true };
  timing_ms: { decode: number; inference: number; total: number };
}

export const round = (value: number, places: number): number => {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
};

export async function resolveSource(source: ImageSource, fetcher: ImageFetcher | null, limits: ImageLimits): Promise<Buffer> {
  if (source.kind === 'bytes') return source.bytes;
  if (fetcher === null) throw new BadRequestError('invalid_uri', 'gs:// URIs are not enabled on this deployment (ALLOWED_BUCKETS is empty)');
  return fetcher.fetch(source.uri, limits.maxImageBytes);
}

/** Checks the header (bytes, format, pixels, size) before any decoding, then decodes to the model's input size. */
export async function prepareImage(bytes: Buffer, model: LoadedModel, decoder: ImageDecoder, limits: ImageLimits): Promise<PreparedImage> {
  const started = performance.now();
  const header = readImageHeader(bytes, { maxBytes: limits.maxImageBytes, maxPixels: limits.maxPixels, minSide: limits.minImageSide });
  const pre = model.metadata.preprocessing;
  const decoded = await decoder.decode(bytes, header, { width: pre.width, height: pre.height, resize: pre.resize, interpolation: pre.interpolation });
  return { header, decoded, bytes: bytes.length, decodeMs: performance.now() - started };
}

/** One onnxruntime call for every prepared image. */
export async function inferBatch(model: LoadedModel, prepared: readonly PreparedImage[]): Promise<{ probabilities: Float32Array; inferenceMs: number }> {
  if (prepared.length === 0) return { probabilities: new Float32Array(0), inferenceMs: 0 };
  const tensor = toInputTensor(prepared.map((item) => item.decoded), model.metadata.preprocessing);
  const started = performance.now();
  const probabilities = await model.predict(tensor, prepared.length);
  return { probabilities, inferenceMs: performance.now() - started };
}

export function toVerdict(model: LoadedModel, prepared: PreparedImage, probability: number, inferenceMs: number, totalMs: number): Verdict {
  const threshold = model.metadata.threshold;
  const image: Verdict['image'] = {
    width: prepared.decoded.width,
    height: prepared.decoded.height,
    format: prepared.header.format,
    bytes: prepared.bytes,
  };
  if (prepared.header.animated) image.animated = true;
  return {
    prediction: probability >= threshold ? 'ai_generated' : 'real',
    probability: round(probability, 4),
    confidence: confidenceOf(probability, threshold),
    threshold,
    model: { name: model.name, version: model.version },
    image,
    timing_ms: { decode: round(prepared.decodeMs, 2), inference: round(inferenceMs, 2), total: round(totalMs, 2) },
  };
}

export function toScoredImage(model: LoadedModel, prepared: PreparedImage, probability: number, inferenceMs: number): ScoredImage {
  return {
    model: { name: model.name, version: model.version, threshold: model.metadata.threshold },
    probability,
    prediction: probability >= model.metadata.threshold ? 'ai_generated' : 'real',
    header: prepared.header,
    decoded: prepared.decoded,
    bytes: prepared.bytes,
    decodeMs: prepared.decodeMs,
    inferenceMs,
  };
}
