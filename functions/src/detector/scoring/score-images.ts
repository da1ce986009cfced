/**
 * The one scoring path, shared by /predict, /batch, the training pipeline's evaluation and the
 * benchmark: `scoreImages` takes image sources (or an item's error), and for each one resolves the
 * bytes, checks the header (bytes, format, pixels, estimated decode cost) before any decoding,
 * decodes and resizes, then runs every decoded image through one onnxruntime call. A bad item gets
 * its own error and never fails the others; only a bug (a non-AppError) rejects.
 */
import { performance } from 'node:perf_hooks';
import { type AppError, BadRequestError, isAppError, PayloadTooLargeError } from '../../platform/errors';
import { estimatedDecodeMs, pixelsWithin } from '../image/decode-cost';
import { type DecodedImage, FORMAT_NAMES, type ImageDecoder, type ImageHeader } from '../image/image-decoder';
import { displayedSize, type ImageLimits, readImageHeader } from '../image/image-header';
import { extractPatches, type PatchBox, patchGrid } from '../image/patch-grid';
import { aggregatePatchLogits, meanEmbedding, oodScore } from './patch-scores';
import { toInputTensor } from '../image/preprocess';
import type { LoadedModel } from '../model/model-registry';
import type { ImageFetcher } from './image-fetcher';
import type { ImageSource } from './image-source';
import { emptyEvidence, type Evidence, extractEvidence } from '../evidence/extract-evidence';
import { checkWatermark } from '../evidence/watermark-check';
import type { ManifestReader } from '../evidence/manifest-reader';
import type { WorkLimiter } from './work-limiter';

export interface PreparedImage {
  header: ImageHeader;
  /**
   * The decoded image: for a whole-image model at the model's input size; for a patch model its
   * patches side by side in one row (`width` and `height` still the image's displayed size), the
   * native-resolution decode being dropped as soon as the patches are cut from it.
   */
  decoded: DecodedImage;
  /** Patch models: the grid's boxes (oriented image coordinates) and each patch, size×size. */
  patches?: { boxes: PatchBox[]; images: DecodedImage[] };
  /**
   * The pixels the model saw, for the drift features: `decoded` itself for a whole-image model; for
   * a patch model its patches side by side in one row (so that a 12 MP photo costs the features
   * no more than its patches do).
   */
  modelInput?: DecodedImage;
  bytes: number;
  decodeMs: number;
}

export async function resolveSource(source: ImageSource, fetcher: ImageFetcher | null, limits: ImageLimits): Promise<Buffer> {
  if (source.kind === 'bytes') return source.bytes;
  if (fetcher === null) throw new BadRequestError('invalid_uri', 'gs:// URIs are not enabled on this deployment (ALLOWED_BUCKETS is empty)');
  return fetcher.fetch(source.uri, limits.maxImageBytes);
}

/**
 * Checks the header (bytes, format, pixels, size) before any decoding, then decodes to the model's
 * input size. `budgetLeftMs` is what remains of the request's decode budget.
 */
export async function prepareImage(
  bytes: Buffer,
  model: LoadedModel,
  decoder: ImageDecoder,
  limits: ImageLimits,
  budgetLeftMs = Number.POSITIVE_INFINITY,
): Promise<PreparedImage> {
  const started = performance.now();
  const header = readImageHeader(bytes, limits);
  checkDecodeCost(header, limits, budgetLeftMs);
  const pre = model.metadata.preprocessing;
  // A patch model looks at native resolution: the image is decoded at its own (oriented) size.
  const target = model.metadata.patches === undefined ? { width: pre.width, height: pre.height } : displayedSize(header);
  const decoded = await decoder.decode(bytes, header, {
    ...target,
    resize: model.metadata.patches === undefined ? pre.resize : 'fill',
    interpolation: pre.interpolation,
  });
  const spec = model.metadata.patches;
  if (spec === undefined) return { header, decoded, bytes: bytes.length, decodeMs: performance.now() - started };
  // Only the patches are kept: a batch of 12 MP photos holds 16 small patches each, not 36 MB each.
  const boxes = patchGrid(decoded.pixelWidth, decoded.pixelHeight, spec.size, spec.count);
  const images = extractPatches(decoded, boxes, spec.size);
  const strip = patchStrip(images, decoded);
  return { header, decoded: strip, patches: { boxes, images }, modelInput: strip, bytes: bytes.length, decodeMs: performance.now() - started };
}

function checkDecodeCost(header: ImageHeader, limits: ImageLimits, budgetLeftMs: number): void {
  if (limits.maxDecodeMs === undefined) return;
  const cost = estimatedDecodeMs(header);
  const size = `${header.width}×${header.height} (${((header.width * header.height) / 1e6).toFixed(1)} MP)`;
  if (cost > limits.maxDecodeMs) {
    const limit = (Math.min(limits.maxPixels, pixelsWithin(header.format, limits.maxDecodeMs)) / 1e6).toFixed(1);
    throw new PayloadTooLargeError(
      'too_many_pixels',
      `the ${FORMAT_NAMES[header.format]} image is ${size}; ${FORMAT_NAMES[header.format]} is slow to decode, so its limit is ${limit} MP`,
    );
  }
  if (cost > budgetLeftMs) {
    throw new PayloadTooLargeError(
      'decode_budget_exceeded',
      `decoding this ${FORMAT_NAMES[header.format]} image (${size}) would pass the request's decode budget, spent by the images before it; send it in another request`,
    );
  }
}

/** One item to score: where its bytes are, or why it cannot be scored (an input error). */
export type ScoreItem = ImageSource | AppError;

/** A patch model's view of one image: each patch's box (oriented image coordinates) and P(AI). */
export interface PatchScores {
  boxes: PatchBox[];
  probabilities: number[];
  /** How much the patches disagree: the standard deviation of their logits. */
  logitStd: number;
}

/** The out-of-distribution answer of a model with OOD statistics (metadata.ood). */
export interface OodResult {
  score: number;
  threshold: number;
  outOfDistribution: boolean;
}

export type ItemScore =
  | {
      ok: true;
      prepared: PreparedImage;
      probability: number;
      /** Set when ScoringDeps.manifests is (serving); never fails the item. */
      evidence?: Evidence;
      /** Set by models that score patches; unset for whole-image models. */
      patches?: PatchScores;
      ood?: OodResult;
    }
  | { ok: false; error: AppError };

export interface ScoredImages {
  /** Aligned with the items. */
  items: ItemScore[];
  decodeMs: number;
  inferenceMs: number;
  /** Number of images that went through onnxruntime. */
  inferred: number;
}

export interface ScoringDeps {
  decoder: ImageDecoder;
  fetcher: ImageFetcher | null;
  limits: ImageLimits;
  /** When set, each image's metadata evidence is read too (C2PA manifests through this reader). */
  manifests?: ManifestReader;
  /** When set, every decode and every inference waits for a slot of it (serving: SCORING_CONCURRENCY). */
  work?: WorkLimiter;
}

/** Evidence of one image; a bug in reading it is reported in limits_hit, never fails the image. */
async function evidenceOf(bytes: Buffer, prepared: PreparedImage, manifests: ManifestReader, decoder: ImageDecoder): Promise<Evidence> {
  try {
    const evidence = await extractEvidence(bytes, prepared.header.format, manifests);
    evidence.watermark = await checkWatermark(bytes, prepared.header, decoder, evidence.limits_hit);
    return evidence;
  } catch {
    return emptyEvidence(['unreadable']);
  }
}

/**
 * Scores `items` with `model`: each is resolved, checked and decoded in turn (sharp already uses
 * the cores, and one at a time bounds memory), then all that decoded go through one onnxruntime call.
 */
export async function scoreImages(model: LoadedModel, items: readonly ScoreItem[], deps: ScoringDeps): Promise<ScoredImages> {
  const decodeStarted = performance.now();
  const prepared: Array<PreparedImage | AppError> = [];
  const evidence = new Map<PreparedImage, Evidence>();
  let budgetLeftMs = deps.limits.maxDecodeMs ?? Number.POSITIVE_INFINITY;
  for (const item of items) {
    if (isAppError(item)) {
      prepared.push(item);
      continue;
    }
    try {
      const bytes = await resolveSource(item, deps.fetcher, deps.limits);
      const decode = () => prepareImage(bytes, model, deps.decoder, deps.limits, budgetLeftMs);
      const image = await (deps.work === undefined ? decode() : deps.work.run(decode));
      budgetLeftMs -= estimatedDecodeMs(image.header);
      if (deps.manifests !== undefined) evidence.set(image, await evidenceOf(bytes, image, deps.manifests, deps.decoder));
      prepared.push(image);
    } catch (error) {
      if (!isAppError(error)) throw error;
      prepared.push(error);
    }
  }
  const decodeMs = performance.now() - decodeStarted;
  const decoded = prepared.filter((entry): entry is PreparedImage => !isAppError(entry));
  const infer = () => inferBatch(model, decoded);
  const { probabilities, inferenceMs, patches, ood } = await (deps.work === undefined || decoded.length === 0 ? infer() : deps.work.run(infer));
  let next = 0;
  const scored = prepared.map((entry): ItemScore => {
    if (isAppError(entry)) return { ok: false, error: entry };
    const index = next;
    next += 1;
    const item: ItemScore = { ok: true, prepared: entry, probability: probabilities[index]! };
    const found = evidence.get(entry);
    if (found !== undefined) item.evidence = found;
    if (patches !== undefined) item.patches = patches[index]!;
    if (ood !== undefined) item.ood = ood[index]!;
    return item;
  });
  return { items: scored, decodeMs, inferenceMs, inferred: decoded.length };
}

export interface InferredBatch {
  probabilities: Float32Array;
  inferenceMs: number;
  /** Patch models only, aligned with the images. */
  patches?: PatchScores[];
  ood?: OodResult[];
}

/** One onnxruntime call for every prepared image (for a patch model, every patch of every image). */
export async function inferBatch(model: LoadedModel, prepared: readonly PreparedImage[]): Promise<InferredBatch> {
  if (prepared.length === 0) return { probabilities: new Float32Array(0), inferenceMs: 0 };
  if (model.metadata.patches !== undefined) return inferPatches(model, prepared);
  const tensor = toInputTensor(
    prepared.map((item) => item.decoded),
    model.metadata.preprocessing,
  );
  const started = performance.now();
  const probabilities = await model.predict(tensor, prepared.length);
  return { probabilities, inferenceMs: performance.now() - started };
}

async function inferPatches(model: LoadedModel, prepared: readonly PreparedImage[]): Promise<InferredBatch> {
  const spec = model.metadata.patches!;
  const cut = prepared.map((item) => item.patches ?? cutPatches(item, spec.size, spec.count));
  const boxes = cut.map((entry) => entry.boxes);
  const patchImages = cut.flatMap((entry) => entry.images);
  const tensor = toInputTensor(patchImages, model.metadata.preprocessing);
  const total = boxes.reduce((sum, list) => sum + list.length, 0);
  const started = performance.now();
  const { logits, embeddings } = await predictInChunks(model, tensor, total, spec.size);
  const inferenceMs = performance.now() - started;
  const probabilities = new Float32Array(prepared.length);
  const patches: PatchScores[] = [];
  const ood: OodResult[] = [];
  const oodSpec = model.metadata.ood;
  let start = 0;
  boxes.forEach((list, i) => {
    prepared[i]!.modelInput ??= patchStrip(patchImages.slice(start, start + list.length), prepared[i]!.decoded);
    const aggregated = aggregatePatchLogits(logits.subarray(start, start + list.length), spec.logit_scale ?? 1);
    probabilities[i] = aggregated.probability;
    patches.push({ boxes: list, probabilities: aggregated.probabilities, logitStd: aggregated.logitStd });
    if (oodSpec !== undefined && embeddings !== null) {
      const score = oodScore(meanEmbedding(embeddings, oodSpec.mean.length, start, list.length), oodSpec);
      ood.push({ score, threshold: oodSpec.threshold, outOfDistribution: score > oodSpec.threshold });
    }
    start += list.length;
  });
  return { probabilities, inferenceMs, patches, ...(ood.length > 0 ? { ood } : {}) };
}

/**
 * Patches per onnxruntime call: a batch's patches are scored in runs of at most this many, so that
 * the session's activation memory (its arena keeps the largest run's) stays that of 16 patches, one
 * /predict of the general model, instead of growing with the batch (20 images are 320 patches).
 * Measured with the general model: runs of 64 left the process 60 MB larger than runs of 16 (217
 * against 157 MB) and were no faster per patch. Each patch is scored on its own, so the split
 * changes no result.
 */
export const MAX_PATCHES_PER_RUN = 16;

async function predictInChunks(
  model: LoadedModel,
  tensor: Float32Array,
  total: number,
  size: number,
): Promise<{ logits: Float32Array; embeddings: Float32Array | null }> {
  if (total <= MAX_PATCHES_PER_RUN) return model.predictPatches(tensor, total);
  const perPatch = 3 * size * size;
  const logits = new Float32Array(total);
  let embeddings: Float32Array | null = null;
  for (let start = 0; start < total; start += MAX_PATCHES_PER_RUN) {
    const count = Math.min(MAX_PATCHES_PER_RUN, total - start);
    const part = await model.predictPatches(tensor.subarray(start * perPatch, (start + count) * perPatch), count);
    logits.set(part.logits, start);
    if (part.embeddings !== null) {
      const dimension = part.embeddings.length / count;
      embeddings ??= new Float32Array(total * dimension);
      embeddings.set(part.embeddings, start * dimension);
    }
  }
  return { logits, embeddings };
}

/** Patches side by side (one row), reporting the source's displayed size as `decoded` does. */
/** The patches of an image prepared without them (a caller's own native-resolution decode). */
function cutPatches(item: PreparedImage, size: number, count: number): { boxes: PatchBox[]; images: DecodedImage[] } {
  const boxes = patchGrid(item.decoded.pixelWidth, item.decoded.pixelHeight, size, count);
  return { boxes, images: extractPatches(item.decoded, boxes, size) };
}

function patchStrip(patches: readonly DecodedImage[], source: DecodedImage): DecodedImage {
  const size = patches[0]!.pixelWidth;
  const width = size * patches.length;
  const pixels = new Uint8Array(width * size * 3);
  patches.forEach((patch, n) => {
    for (let row = 0; row < size; row += 1) pixels.set(patch.pixels.subarray(row * size * 3, (row + 1) * size * 3), (row * width + n * size) * 3);
  });
  return { format: source.format, width: source.width, height: source.height, pixels, pixelWidth: width, pixelHeight: size };
}
