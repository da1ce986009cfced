/**
 * A patch model (metadata.patches, metadata.ood) through /predict and /batch: the tiny committed
 * "patchwise" model (fixtures/patch-models; 16 px patches, 4 per image) on real onnxruntime and
 * sharp. The image is scored at native resolution on the grid of image/patch-grid.ts, after EXIF
 * orientation; the response says how many patches were scored and gives the OOD answer.
 */
import * as path from 'node:path';
import sharp from 'sharp';
import { patchGrid } from '../../src/detector/image/patch-grid';
import { type FunctionClient, startFunction } from '../support/function-server';
import { FIXTURES, startService } from '../support/test-service';

let predict: FunctionClient;
let batch: FunctionClient;

beforeAll(async () => {
  // MIN_IMAGE_SIDE 8: images shorter than a 16 px patch on a side are accepted and edge-padded.
  startService({ MODEL_STORE: path.join(FIXTURES, 'patch-models'), DEFAULT_MODEL: 'patchwise', MIN_IMAGE_SIDE: '8' });
  predict = await startFunction('predict');
  batch = await startFunction('batch');
});

afterAll(async () => {
  await predict.close();
  await batch.close();
});

function noise(width: number, height: number, seed = 1): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  let state = seed;
  for (let i = 0; i < pixels.length; i += 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    pixels[i] = state >> 23;
  }
  return pixels;
}

const png = (width: number, height: number, seed = 1) =>
  sharp(noise(width, height, seed), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
const post = (bytes: Buffer) => predict.request('/', { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });

describe('a patch model', () => {
  it('scores the patches of the grid and reports how many, with the OOD answer', async () => {
    const response = await post(await png(64, 48));
    expect(response.status).toBe(200);
    expect(response.body.model).toEqual({ name: 'patchwise', version: 'v1' });
    expect(response.body.patches).toEqual({ scored: patchGrid(64, 48, 16, 4).length, logit_std: expect.any(Number) });
    const ood = response.body.out_of_distribution;
    expect(ood).toEqual({ score: expect.any(Number), threshold: 7.9099, flagged: ood.score > 7.9099 });
    expect(response.body.image).toMatchObject({ width: 64, height: 48, format: 'png' });
  });

  it.each([
    ['huge', 4000, 3000],
    ['thin', 1200, 16],
    ['tall and thin', 16, 900],
    ['smaller than one patch on a side', 40, 10],
  ])('answers a %s image (%p×%p) from at most its patch count', async (_, width, height) => {
    const bytes =
      width * height > 1e6
        ? await sharp(noise(width, height), { raw: { width, height, channels: 3 } })
            .jpeg()
            .toBuffer()
        : await png(width, height);
    const response = await post(bytes);
    expect(response.status).toBe(200);
    expect(response.body.patches.scored).toBe(patchGrid(width, height, 16, 4).length);
    expect(response.body.patches.scored).toBeGreaterThanOrEqual(1);
    expect(response.body.patches.scored).toBeLessThanOrEqual(4);
  });

  it('looks at the image as displayed: an EXIF-rotated JPEG scores as its upright pixels do', async () => {
    const stored = await sharp(noise(48, 80, 7), { raw: { width: 48, height: 80, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const upright = await sharp(stored).rotate().png().toBuffer();
    expect((await sharp(upright).metadata()).width).toBe(80);
    const [rotated, plain] = await Promise.all([post(stored), post(upright)]);
    expect(rotated.status).toBe(200);
    expect(rotated.body.image).toMatchObject({ width: 80, height: 48 });
    expect(rotated.body.patches.scored).toBe(patchGrid(80, 48, 16, 4).length);
    expect(rotated.body.probability).toBe(plain.body.probability);
    expect(rotated.body.out_of_distribution.score).toBe(plain.body.out_of_distribution.score);
  });

  it('scores every image of a batch through the same patch path', async () => {
    const images = await Promise.all([png(64, 48, 2), png(100, 30, 3)]);
    const response = await batch.request('/', {
      method: 'POST',
      body: JSON.stringify({ images: images.map((bytes) => ({ image: bytes.toString('base64') })) }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const single = await post(images[1]!);
    expect(response.body.results[1]).toMatchObject({ probability: single.body.probability, patches: single.body.patches });
    expect(response.body.results[0].patches.scored).toBe(4);
  });

  it('gives a batch whose patches span several onnxruntime runs the answers of single requests', async () => {
    // 20 images × 4 patches = 80 patches: more than MAX_PATCHES_PER_RUN (16) in one call.
    const images = await Promise.all(Array.from({ length: 20 }, (_, i) => png(32 + 8 * (i % 3), 40, 10 + i)));
    const response = await batch.request('/', {
      method: 'POST',
      body: JSON.stringify({ images: images.map((bytes) => ({ image: bytes.toString('base64') })) }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(response.status).toBe(200);
    for (const index of [0, 16, 19]) {
      const single = await post(images[index]!);
      expect(response.body.results[index]).toMatchObject({ probability: single.body.probability, out_of_distribution: single.body.out_of_distribution });
    }
  });
});
