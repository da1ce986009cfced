/**
 * Reads every image of a dataset once: its sha256, and whether the serving code accepts it — the
 * same header check (`readImageHeader` with the service's limits) and the same decoder the
 * functions use. An image the service would refuse is a problem even if PyTorch could read it.
 */
import { createHash } from 'node:crypto';
import { type ImageDecoder, type ImageLimits, readImageHeader } from '../../functions/src/detector';
import { isAppError } from '../../functions/src/platform';
import { mapConcurrent } from './concurrency';
import type { DatasetFile } from './dataset';

type ImageFormat = ReturnType<typeof readImageHeader>['format'];
type ResizeSpec = Parameters<ImageDecoder['decode']>[2];

/** Formats the dataset contract allows (AVIF is served, but the trainer does not read it). */
export const DATASET_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp'];

export interface ImageProblem {
  /** The service's error code (undecodable_image, unsupported_format, image_too_small, …) or format_not_allowed / read_failed. */
  code: string;
  message: string;
}

export interface ScannedFile extends DatasetFile {
  sha256: string;
  format: ImageFormat | null;
  /** Displayed size after EXIF orientation; 0 when the header could not be read. */
  width: number;
  height: number;
  problem: ImageProblem | null;
}

export interface ScanOptions {
  decoder: ImageDecoder;
  limits: ImageLimits;
  /** Decode to this square size (the model input size, or any small size: only success matters). */
  decodeSize: number;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function scanDataset(files: readonly DatasetFile[], read: (key: string) => Promise<Buffer>, options: ScanOptions): Promise<ScannedFile[]> {
  const target: ResizeSpec = { width: options.decodeSize, height: options.decodeSize, resize: 'cover', interpolation: 'bilinear' };
  let done = 0;
  return mapConcurrent(files, options.concurrency ?? 4, async (file) => {
    let scanned: ScannedFile;
    let bytes: Buffer;
    try {
      bytes = await read(file.key);
    } catch (error) {
      done += 1;
      options.onProgress?.(done, files.length);
      return { ...file, sha256: '', format: null, width: 0, height: 0, problem: { code: 'read_failed', message: messageOf(error) } };
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    try {
      scanned = { ...file, size: bytes.length, sha256, ...(await inspectImage(bytes, options.decoder, options.limits, target)) };
    } catch (error) {
      scanned = { ...file, size: bytes.length, sha256, format: null, width: 0, height: 0, problem: problemOf(error) };
    }
    done += 1;
    options.onProgress?.(done, files.length);
    return scanned;
  });
}

async function inspectImage(
  bytes: Buffer,
  decoder: ImageDecoder,
  limits: ImageLimits,
  target: ResizeSpec,
): Promise<Pick<ScannedFile, 'format' | 'width' | 'height' | 'problem'>> {
  const header = readImageHeader(bytes, limits);
  if (!DATASET_FORMATS.includes(header.format)) {
    return {
      format: header.format,
      width: header.width,
      height: header.height,
      problem: { code: 'format_not_allowed', message: `${header.format.toUpperCase()} is not a dataset format; datasets hold JPEG, PNG or WebP files` },
    };
  }
  if (!decoder.supports(header.format)) {
    return {
      format: header.format,
      width: header.width,
      height: header.height,
      problem: { code: 'unsupported_format', message: `the ${decoder.name} decoder the service is configured with cannot read ${header.format}` },
    };
  }
  const decoded = await decoder.decode(bytes, header, target);
  return { format: header.format, width: decoded.width, height: decoded.height, problem: null };
}

function problemOf(error: unknown): ImageProblem {
  if (isAppError(error)) return { code: error.code, message: error.message };
  return { code: 'undecodable_image', message: messageOf(error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
