/**
 * Seeded mutations of real image files, for the fuzz test in `npm test` (a few hundred per run)
 * and the longer fuzz run of the benchmark. Each mutation keeps most of a valid file so that it
 * reaches deep into the header parser and the decoders: flipped bits, overwritten bytes (often in
 * the first 64, where the dimensions live), truncation, a repeated or removed chunk, random bytes
 * inserted, two files spliced together. The same seed always gives the same images.
 */
import { mulberry32 } from '../functions/src/core';

export interface FuzzCase {
  /** Which seed file and mutation made it, for a failure message that can be replayed. */
  name: string;
  bytes: Buffer;
}

/** Fixture images (functions/test/fixtures/images) the fuzzing starts from: every format and oddity. */
export const FUZZ_SEED_FILES = [
  'photo.jpg',
  'photo.png',
  'photo.webp',
  'photo.avif',
  'animated.webp',
  'apng.png',
  'cmyk.jpg',
  'exif-rotated.jpg',
  'palette.png',
  'rgb16.png',
  'lossless.webp',
] as const;

/** A body sent with Transfer-Encoding: chunked (no Content-Length): `size` bytes in `chunkBytes` chunks. */
export function chunkedBody(size: number, chunkBytes = 64 * 1024): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(chunkBytes);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += part.length;
      controller.enqueue(part);
    },
  });
}

type Mutation = (bytes: Buffer, random: () => number, other: Buffer) => Buffer;

const int = (random: () => number, below: number) => Math.floor(random() * below);

const MUTATIONS: ReadonlyArray<[string, Mutation]> = [
  [
    'bit-flips',
    (bytes, random) => {
      const out = Buffer.from(bytes);
      const flips = 1 + int(random, 16);
      for (let i = 0; i < flips; i += 1) {
        const at = int(random, out.length);
        out[at] = out[at]! ^ (1 << int(random, 8));
      }
      return out;
    },
  ],
  [
    'header-bytes',
    (bytes, random) => {
      const out = Buffer.from(bytes);
      const count = 1 + int(random, 6);
      for (let i = 0; i < count; i += 1) out[int(random, Math.min(64, out.length))] = [0x00, 0xff, 0x7f, 0x80, int(random, 256)][int(random, 5)]!;
      return out;
    },
  ],
  ['truncate', (bytes, random) => bytes.subarray(0, int(random, bytes.length))],
  [
    'repeat-chunk',
    (bytes, random) => {
      const start = int(random, bytes.length);
      const end = Math.min(bytes.length, start + 1 + int(random, 512));
      return Buffer.concat([bytes.subarray(0, end), bytes.subarray(start, end), bytes.subarray(end)]);
    },
  ],
  [
    'remove-chunk',
    (bytes, random) => {
      const start = int(random, bytes.length);
      return Buffer.concat([bytes.subarray(0, start), bytes.subarray(Math.min(bytes.length, start + 1 + int(random, 512)))]);
    },
  ],
  [
    'insert-random',
    (bytes, random) => {
      const at = int(random, bytes.length);
      const noise = Buffer.from(Array.from({ length: 1 + int(random, 64) }, () => int(random, 256)));
      return Buffer.concat([bytes.subarray(0, at), noise, bytes.subarray(at)]);
    },
  ],
  ['splice', (bytes, random, other) => Buffer.concat([bytes.subarray(0, int(random, bytes.length)), other.subarray(int(random, other.length))])],
];

/** `count` mutated images made from `seeds` (name → bytes), repeatable for a given `seed`. */
export function fuzzImages(seeds: ReadonlyArray<[string, Buffer]>, count: number, seed: number): FuzzCase[] {
  if (seeds.length === 0) throw new RangeError('fuzzImages needs at least one seed image');
  const random = mulberry32(seed);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i += 1) {
    const [name, bytes] = seeds[int(random, seeds.length)]!;
    const [, other] = seeds[int(random, seeds.length)]!;
    const [mutation, mutate] = MUTATIONS[int(random, MUTATIONS.length)]!;
    // Sometimes twice, so that damage compounds.
    let out = mutate(bytes, random, other);
    if (random() < 0.3) out = MUTATIONS[int(random, MUTATIONS.length)]![1](out, random, other);
    cases.push({ name: `${name}/${mutation}#${i}`, bytes: out });
  }
  return cases;
}
