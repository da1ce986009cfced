/**
 * Tiny generated datasets for pipeline tests: seeded noise images encoded by sharp, written in the
 * dataset layout. FAKE images are brighter than REAL ones, so a model that looks at brightness (the
 * "brightness" fixture model) separates them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';

export const DATASET_INFO = {
  name: 'tiny',
  version: '1',
  classes: ['REAL', 'FAKE'],
  description: 'Generated noise images for tests: FAKE brighter than REAL.',
  author: 'pipeline tests',
};

/** A seeded noise image around `brightness` (0..255), `size`×`size`, in `format`. */
export async function noiseImage(seed: number, options: { size?: number; format?: 'jpeg' | 'png' | 'webp'; brightness?: number } = {}): Promise<Buffer> {
  const size = options.size ?? 32;
  const brightness = options.brightness ?? 128;
  let state = (seed * 2654435761 + 1) >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.max(0, Math.min(255, Math.round(brightness + (random() - 0.5) * 80)));
  const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  return (options.format ?? 'png') === 'jpeg'
    ? image.jpeg({ quality: 90 }).toBuffer()
    : options.format === 'webp'
      ? image.webp({ lossless: true }).toBuffer()
      : image.png().toBuffer();
}

export interface ClassCounts {
  REAL: number;
  FAKE: number;
}

/**
 * Images for each split: REAL around brightness 70, FAKE around 185; every image distinct (the
 * seed is unique per file). Keys like `train/REAL/r0003.png`.
 */
export async function generateImages(
  splits: Partial<Record<'train' | 'val' | 'test', ClassCounts>>,
  options: { size?: number; formats?: Array<'jpeg' | 'png' | 'webp'> } = {},
): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  const formats = options.formats ?? ['png'];
  let seed = 1;
  for (const [split, counts] of Object.entries(splits)) {
    for (const className of ['REAL', 'FAKE'] as const) {
      for (let i = 0; i < counts[className]; i += 1) {
        const format = formats[i % formats.length] as 'jpeg' | 'png' | 'webp';
        const extension = format === 'jpeg' ? 'jpg' : format;
        const key = `${split}/${className}/${className === 'REAL' ? 'r' : 'f'}${String(i).padStart(4, '0')}.${extension}`;
        files[key] = await noiseImage(seed, {
          format,
          brightness: className === 'REAL' ? 70 : 185,
          ...(options.size === undefined ? {} : { size: options.size }),
        });
        seed += 1;
      }
    }
  }
  return files;
}

/** Writes `files` (key → bytes) and dataset.json (unless `info` is null) under `root`. */
export function writeDataset(root: string, files: Readonly<Record<string, Buffer | string>>, info: object | string | null = DATASET_INFO): string {
  for (const [key, bytes] of Object.entries(files)) {
    const file = path.join(root, ...key.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }
  if (info !== null) {
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'dataset.json'), typeof info === 'string' ? info : JSON.stringify(info, null, 2));
  }
  return root;
}
