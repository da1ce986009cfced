/**
 * /predict end to end through the Functions Framework test server: real onnxruntime, real
 * decoders, the fixture model store. The "brightness" test model scores P(AI) = sigmoid(4·mean(x)),
 * so bright images are called ai_generated and dark ones real.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLACK, FIXTURE_IMAGES, fixtureImage, solidImage, startService, WHITE } from '../support/test-service';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';

let client: FunctionClient;

beforeAll(async () => {
  startService();
  client = await startFunction('predict');
});

afterAll(async () => {
  await client.close();
});

const post = (body: unknown, headers: Record<string, string> = {}, query = '') => client.request(`/${query}`, { method: 'POST', body, headers });

describe('POST /predict', () => {
  it('scores a multipart upload and answers with the documented shape', async () => {
    const response = await post(multipart([{ field: 'image', filename: 'white.png', bytes: await solidImage(WHITE) }]));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      prediction: 'ai_generated',
      verdict: 'ai_generated',
      decided_by: 'pixels',
      verdict_reasons: ['P(AI) 0.982 is at or above the threshold 0.5'],
      probability: expect.any(Number),
      confidence: 'high',
      threshold: 0.5,
      model: { name: 'brightness', version: 'v1' },
      image: { width: 64, height: 48, format: 'png', bytes: expect.any(Number) },
      timing_ms: { decode: expect.any(Number), inference: expect.any(Number), total: expect.any(Number) },
      evidence: {
        c2pa: {
          present: false,
          validation: null,
          codes: [],
          claim_generator: null,
          digital_source_types: [],
          trust_list: null,
          signer: null,
          manifests: [],
          actions: [],
          origin: null,
        },
        xmp: { digital_source_type: null, creator_tool: null },
        exif: { make: null, model: null, software: null, user_comment: null },
        iptc: { originating_program: null, program_version: null },
        generators: [],
        text_chunks: { count: 0, keywords: [] },
        comments: [],
        limits_hit: [],
        watermark: null,
      },
      generator: null,
      request_id: expect.any(String),
    });
    // sigmoid(4) for a white image, to 4 decimal places.
    expect(response.body.probability).toBeCloseTo(0.982, 3);
    expect(response.headers.get('x-request-id')).toBe(response.body.request_id);
  });

  it('calls a black image real', async () => {
    const response = await post(multipart([{ field: 'file', filename: 'black.jpg', bytes: await solidImage(BLACK, 'jpeg') }]));
    expect(response.status).toBe(200);
    expect(response.body.prediction).toBe('real');
    expect(response.body.probability).toBeCloseTo(0.018, 2);
    expect(response.body.image.format).toBe('jpeg');
  });

  it('accepts a raw image body and a base64 JSON body with the same result', async () => {
    const bytes = fixtureImage('photo.jpg');
    const raw = await post(bytes, { 'Content-Type': 'image/jpeg' });
    const json = await post(JSON.stringify({ image: bytes.toString('base64') }), { 'Content-Type': 'application/json' });
    const dataUrl = await post(JSON.stringify({ image: `data:image/jpeg;base64,${bytes.toString('base64')}` }), { 'Content-Type': 'application/json' });
    expect(raw.status).toBe(200);
    expect(json.body.probability).toBe(raw.body.probability);
    expect(dataUrl.body.probability).toBe(raw.body.probability);
    expect(raw.body.image).toMatchObject({ format: 'jpeg', bytes: bytes.length });
  });

  it('takes the format from the bytes, not the declared content type', async () => {
    const response = await post(fixtureImage('photo.png'), { 'Content-Type': 'image/jpeg' });
    expect(response.status).toBe(200);
    expect(response.body.image.format).toBe('png');
  });

  const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURE_IMAGES, 'manifest.json'), 'utf8')) as {
    fixtures: Array<{ file: string; format?: string; width?: number; height?: number; error?: unknown }>;
  };
  const decodable = [
    'photo.jpg',
    'photo.png',
    'photo.webp',
    'lossless.webp',
    'photo.avif',
    'grey.jpg',
    'grey.png',
    'rgba.png',
    'palette.png',
    'rgb16.png',
    'cmyk.jpg',
    'exact-16x16.png',
    'apng.png',
  ];

  it.each(decodable)('scores %s and reports its displayed size and format', async (file) => {
    const expected = manifest.fixtures.find((fixture) => fixture.file === file)!;
    const response = await post(multipart([{ field: 'image', filename: file, bytes: fixtureImage(file) }]));
    expect(response.status).toBe(200);
    expect(response.body.image).toMatchObject({ format: expected.format, width: expected.width, height: expected.height });
    expect(response.body.probability).toBeGreaterThanOrEqual(0);
    expect(response.body.probability).toBeLessThanOrEqual(1);
  });

  it('reports the upright size of an EXIF-rotated photo and scores it like the upright original', async () => {
    // Stored as 240×320 with orientation 6; displays as the 320×240 photo.jpg.
    const rotated = await post(multipart([{ field: 'image', filename: 'exif.jpg', bytes: fixtureImage('exif-rotated.jpg') }]));
    const upright = await post(multipart([{ field: 'image', filename: 'photo.jpg', bytes: fixtureImage('photo.jpg') }]));
    expect(rotated.status).toBe(200);
    expect(rotated.body.image).toMatchObject({ width: 320, height: 240 });
    expect(Math.abs(rotated.body.probability - upright.body.probability)).toBeLessThan(0.01);
  });

  it('scores the first frame of an animated WebP and says so', async () => {
    const response = await post(multipart([{ field: 'image', filename: 'a.webp', bytes: fixtureImage('animated.webp') }]));
    expect(response.status).toBe(200);
    expect(response.body.image.animated).toBe(true);
  });

  it('keeps a sane incoming X-Request-Id and replaces an unsafe one', async () => {
    const image = await solidImage(WHITE);
    const kept = await post(image, { 'Content-Type': 'image/png', 'X-Request-Id': 'client-abc.123' });
    expect(kept.headers.get('x-request-id')).toBe('client-abc.123');
    expect(kept.body.request_id).toBe('client-abc.123');
    const replaced = await post(image, { 'Content-Type': 'image/png', 'X-Request-Id': 'bad id <script>' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document', async () => {
    const response = await client.request('/openapi.json');
    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(Object.keys(response.body.paths)).toEqual(expect.arrayContaining(['/predict', '/batch', '/health']));
  });
});
