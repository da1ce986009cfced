/**
 * Every way a client can get a request wrong, each answered with the documented status and stable
 * error code (and never a 500), through the real framework and the real decoders.
 */
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { chunkedBody } from '../../../scripts/fixtures/image-fuzzer';
import { fixtureImage, solidImage, startService, WHITE } from '../support/test-service';
import { type FunctionClient, multipart, rawMultipart, startFunction } from '../support/function-server';

const MAX_IMAGE_BYTES = 60_000;
const MAX_REQUEST_BYTES = 200_000;
const KEY = 'test-key-0123456789';

let predict: FunctionClient;
let batch: FunctionClient;
let health: FunctionClient;
let app: FunctionClient;
let photo: Buffer;
/** A flat-colour AVIF: a few hundred bytes, yet seconds of CPU to decode at this size. */
let avif6000: Buffer;

beforeAll(async () => {
  startService({
    MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
    MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES),
    API_KEYS: KEY,
    ALLOWED_BUCKETS: 'allowed-photos',
  });
  [predict, batch, health, app] = await Promise.all([startFunction('predict'), startFunction('batch'), startFunction('health'), startFunction('app')]);
  photo = fixtureImage('photo.jpg');
  avif6000 = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 120, g: 30, b: 200 } } })
    .avif({ effort: 0 })
    .toBuffer();
});

afterAll(async () => {
  await Promise.all([predict.close(), batch.close(), health.close(), app.close()]);
});

const auth = { 'X-API-Key': KEY };
const json = (value: unknown) => ({ body: JSON.stringify(value), headers: { ...auth, 'Content-Type': 'application/json' } });
const file = (bytes: Buffer, filename = 'x.jpg', field = 'image') => ({ body: multipart([{ field, filename, bytes }]), headers: auth });
const raw = (bytes: Buffer, type: string) => ({ body: bytes, headers: { ...auth, 'Content-Type': type } });

/** A request body and headers; Buffers are valid fetch bodies at run time. */
interface Init {
  body?: unknown;
  /** 'half' for a streamed (chunked) body. */
  duplex?: 'half';
  headers?: Record<string, string>;
}

interface Case {
  name: string;
  target: 'predict' | 'batch' | 'health' | 'app';
  path?: string;
  method?: string;
  query?: string;
  init: () => Promise<Init> | Init;
  status: number;
  code: string;
  header?: [string, string];
}

const padTo = (bytes: Buffer, size: number) => Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);
const gzipped = (text: string) => zlib.gzipSync(Buffer.from(text));
/** A body sent with Transfer-Encoding: chunked (no Content-Length), in 16 KB chunks. */
const chunked = (size: number) => chunkedBody(size, 16 * 1024);
/** A form with `count` text fields before the image. */
const manyFields = (count: number) => {
  const form = new FormData();
  for (let i = 0; i < count; i += 1) form.append(`note${i}`, 'x');
  form.append('image', new Blob([photo as unknown as ArrayBuffer]), 'x.jpg');
  return form;
};
const deepJson = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const cases: Case[] = [
  { name: 'zero-byte file', target: 'predict', init: () => file(Buffer.alloc(0)), status: 400, code: 'empty_image' },
  { name: 'empty raw body', target: 'predict', init: () => raw(Buffer.alloc(0), 'image/jpeg'), status: 400, code: 'missing_image' },
  { name: 'truncated JPEG', target: 'predict', init: () => file(fixtureImage('truncated.jpg')), status: 400, code: 'undecodable_image' },
  { name: 'text renamed .jpg', target: 'predict', init: () => file(fixtureImage('fake.jpg'), 'fake.jpg'), status: 415, code: 'unsupported_format' },
  {
    name: 'text with a spoofed image content type',
    target: 'predict',
    init: () => raw(Buffer.from('hello, I am not a PNG'), 'image/png'),
    status: 415,
    code: 'unsupported_format',
  },
  { name: 'GIF', target: 'predict', init: () => file(fixtureImage('image.gif'), 'a.gif'), status: 415, code: 'unsupported_format' },
  { name: 'BMP', target: 'predict', init: () => file(fixtureImage('image.bmp'), 'a.bmp'), status: 415, code: 'unsupported_format' },
  {
    name: 'PNG pixel bomb (tiny file, huge dimensions)',
    target: 'predict',
    init: () => file(fixtureImage('pixel-bomb.png'), 'bomb.png'),
    status: 413,
    code: 'too_many_pixels',
  },
  { name: '1×1 image', target: 'predict', init: () => file(fixtureImage('tiny-1x1.png'), 'tiny.png'), status: 400, code: 'image_too_small' },
  { name: '100000×1 image', target: 'predict', init: () => file(fixtureImage('wide-100000x1.png'), 'wide.png'), status: 400, code: 'image_too_small' },
  {
    name: 'image one byte over MAX_IMAGE_BYTES (multipart)',
    target: 'predict',
    init: () => file(padTo(photo, MAX_IMAGE_BYTES + 1)),
    status: 413,
    code: 'image_too_large',
  },
  {
    name: 'image one byte over MAX_IMAGE_BYTES (raw)',
    target: 'predict',
    init: () => raw(padTo(photo, MAX_IMAGE_BYTES + 1), 'image/jpeg'),
    status: 413,
    code: 'image_too_large',
  },
  {
    name: 'image one byte over MAX_IMAGE_BYTES (base64)',
    target: 'predict',
    init: () => json({ image: padTo(photo, MAX_IMAGE_BYTES + 1).toString('base64') }),
    status: 413,
    code: 'image_too_large',
  },
  {
    name: 'request over MAX_REQUEST_BYTES',
    target: 'predict',
    init: () => raw(Buffer.alloc(MAX_REQUEST_BYTES + 1), 'application/octet-stream'),
    status: 413,
    code: 'request_too_large',
  },
  { name: 'wrong form field name', target: 'predict', init: () => file(photo, 'x.jpg', 'photo'), status: 400, code: 'missing_image' },
  {
    name: 'two images to /predict',
    target: 'predict',
    init: () => ({
      body: multipart([
        { field: 'image', bytes: photo },
        { field: 'file', bytes: photo },
      ]),
      headers: auth,
    }),
    status: 400,
    code: 'too_many_images',
  },
  {
    name: 'not multipart: text/plain',
    target: 'predict',
    init: () => raw(Buffer.from('image please'), 'text/plain'),
    status: 415,
    code: 'unsupported_content_type',
  },
  {
    name: 'multipart without a boundary',
    target: 'predict',
    init: () => raw(Buffer.from('--x\r\n'), 'multipart/form-data'),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'multipart cut off mid-part',
    target: 'predict',
    init: () => raw(rawMultipart('XYZ', [{ field: 'image', filename: 'a.jpg', bytes: photo }], false), 'multipart/form-data; boundary=XYZ'),
    status: 400,
    code: 'malformed_multipart',
  },
  {
    name: 'malformed JSON',
    target: 'predict',
    init: () => ({ body: '{"image": "abc', headers: { ...auth, 'Content-Type': 'application/json' } }),
    status: 400,
    code: 'invalid_json',
  },
  { name: 'JSON with neither image nor uri', target: 'predict', init: () => json({ picture: 'abc' }), status: 400, code: 'invalid_request' },
  {
    name: 'JSON with both image and uri',
    target: 'predict',
    init: () => json({ image: 'aGVsbG8=', uri: 'gs://allowed-photos/a.jpg' }),
    status: 400,
    code: 'invalid_request',
  },
  { name: 'JSON array body', target: 'predict', init: () => json([{ image: 'aGVsbG8=' }]), status: 400, code: 'invalid_request' },
  { name: 'invalid base64', target: 'predict', init: () => json({ image: 'this is not base64!!' }), status: 400, code: 'invalid_base64' },
  { name: 'empty data URL', target: 'predict', init: () => json({ image: 'data:image/png;base64,' }), status: 400, code: 'empty_image' },
  {
    name: 'http:// URI (never fetched)',
    target: 'predict',
    init: () => json({ uri: 'http://169.254.169.254/computeMetadata/v1/' }),
    status: 400,
    code: 'invalid_uri',
  },

  {
    name: 'gs:// bucket not allowed',
    target: 'predict',
    init: () => json({ uri: 'gs://someone-elses-bucket/cat.jpg' }),
    status: 403,
    code: 'bucket_not_allowed',
  },
  { name: 'gs:// URI with path traversal', target: 'predict', init: () => json({ uri: 'gs://allowed-photos/../secret' }), status: 400, code: 'invalid_uri' },
  {
    name: 'wrong method on /predict',
    target: 'predict',
    method: 'GET',
    init: () => ({ headers: auth }),
    status: 405,
    code: 'method_not_allowed',
    header: ['allow', 'POST'],
  },
  {
    name: 'wrong method on /batch',
    target: 'batch',
    method: 'PUT',
    init: () => ({ headers: auth, body: 'x' }),
    status: 405,
    code: 'method_not_allowed',
    header: ['allow', 'POST'],
  },
  { name: 'wrong method on /health', target: 'health', method: 'POST', init: () => ({}), status: 405, code: 'method_not_allowed', header: ['allow', 'GET'] },
  { name: 'unknown model', target: 'predict', query: '?model=no-such-model', init: () => file(photo), status: 404, code: 'unknown_model' },
  { name: 'invalid model name', target: 'predict', query: '?model=../../etc', init: () => file(photo), status: 400, code: 'invalid_model_name' },
  { name: 'model given twice', target: 'predict', query: '?model=a&model=b', init: () => file(photo), status: 400, code: 'invalid_model_name' },
  { name: 'missing API key', target: 'predict', init: () => ({ body: multipart([{ field: 'image', bytes: photo }]) }), status: 401, code: 'unauthorized' },
  {
    name: 'bad API key',
    target: 'predict',
    init: () => ({ body: multipart([{ field: 'image', bytes: photo }]), headers: { 'X-API-Key': 'wrong-key-0123456789' } }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'bad Bearer token on /batch',
    target: 'batch',
    init: () => ({ body: '{}', headers: { Authorization: 'Bearer nope', 'Content-Type': 'application/json' } }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: '21 batch items',
    target: 'batch',
    init: () => json({ images: Array.from({ length: 21 }, (_, i) => ({ id: `i${i}`, image: 'aGVsbG8=' })) }),
    status: 413,
    code: 'too_many_items',
  },
  {
    name: '21 multipart batch files',
    target: 'batch',
    init: () => ({
      body: multipart(Array.from({ length: 21 }, (_, i) => ({ field: 'images', filename: `${i}.jpg`, bytes: Buffer.from('x') }))),
      headers: auth,
    }),
    status: 413,
    code: 'too_many_items',
  },
  { name: 'empty batch', target: 'batch', init: () => json({ images: [] }), status: 400, code: 'empty_batch' },
  { name: 'empty multipart batch', target: 'batch', init: () => ({ body: new FormData(), headers: auth }), status: 400, code: 'empty_batch' },
  { name: 'batch without images array', target: 'batch', init: () => json({ image: 'aGVsbG8=' }), status: 400, code: 'invalid_request' },
  { name: 'batch as a raw image', target: 'batch', init: () => raw(photo, 'image/jpeg'), status: 415, code: 'unsupported_content_type' },
  {
    name: 'batch with malformed JSON',
    target: 'batch',
    init: () => ({ body: '{"images": [', headers: { ...auth, 'Content-Type': 'application/json' } }),
    status: 400,
    code: 'invalid_json',
  },
  // Hostile bodies: refused before the framework buffers, inflates or parses them.
  {
    name: 'batch of 90 000 numbers (JSON within the byte limit)',
    target: 'batch',
    init: () => ({ body: `{"images":[${'1,'.repeat(89_999)}1]}`, headers: { ...auth, 'Content-Type': 'application/json' } }),
    status: 413,
    code: 'too_many_items',
  },
  {
    name: 'batch of 21 numbers (count checked before the schema)',
    target: 'batch',
    init: () => json({ images: Array.from({ length: 21 }, () => 1) }),
    status: 413,
    code: 'too_many_items',
  },
  {
    name: 'batch of 20 numbers (schema errors, bounded message)',
    target: 'batch',
    init: () => json({ images: Array.from({ length: 20 }, () => 1) }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'predict JSON with thousands of values',
    target: 'predict',
    init: () => json({ image: 'aGVsbG8=', extra: Array.from({ length: 5000 }, () => 0) }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'JSON nested 10 000 deep',
    target: 'predict',
    init: () => ({ body: deepJson(10_000), headers: { ...auth, 'Content-Type': 'application/json' } }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'gzip-encoded JSON',
    target: 'batch',
    init: () => ({ body: gzipped('{"images":[]}'), headers: { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } }),
    status: 415,
    code: 'unsupported_content_encoding',
  },
  {
    name: 'gzip bomb (1 MB of zeros as 1 KB)',
    target: 'predict',
    init: () => ({ body: zlib.gzipSync(Buffer.alloc(1024 * 1024)), headers: { ...auth, 'Content-Type': 'image/png', 'Content-Encoding': 'gzip' } }),
    status: 415,
    code: 'unsupported_content_encoding',
  },
  {
    name: 'Content-Encoding gzip that does not decompress',
    target: 'predict',
    init: () => ({ body: Buffer.from('not gzip at all'), headers: { ...auth, 'Content-Type': 'image/jpeg', 'Content-Encoding': 'gzip' } }),
    status: 415,
    code: 'unsupported_content_encoding',
  },
  {
    name: 'Content-Encoding br',
    target: 'predict',
    init: () => ({ body: Buffer.from('xx'), headers: { ...auth, 'Content-Type': 'image/jpeg', 'Content-Encoding': 'br' } }),
    status: 415,
    code: 'unsupported_content_encoding',
  },
  {
    name: 'Content-Encoding deflate',
    target: 'predict',
    init: () => ({ body: Buffer.from('xx'), headers: { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' } }),
    status: 415,
    code: 'unsupported_content_encoding',
  },
  {
    name: 'chunked body over MAX_REQUEST_BYTES',
    target: 'predict',
    init: () => ({ body: chunked(MAX_REQUEST_BYTES * 3), duplex: 'half', headers: { ...auth, 'Content-Type': 'application/octet-stream' } }),
    status: 413,
    code: 'request_too_large',
  },
  {
    name: 'chunked JSON over MAX_REQUEST_BYTES',
    target: 'batch',
    init: () => ({ body: chunked(MAX_REQUEST_BYTES + 1), duplex: 'half', headers: { ...auth, 'Content-Type': 'application/json' } }),
    status: 413,
    code: 'request_too_large',
  },
  {
    name: 'urlencoded body',
    target: 'predict',
    init: () => raw(Buffer.from(`image=${'a'.repeat(100)}`), 'application/x-www-form-urlencoded'),
    status: 415,
    code: 'unsupported_content_type',
  },
  {
    name: 'JSON in latin1',
    target: 'predict',
    init: () => ({ body: '{"image":"aGVsbG8="}', headers: { ...auth, 'Content-Type': 'application/json; charset=latin1' } }),
    status: 415,
    code: 'unsupported_charset',
  },
  { name: 'image after 101 form fields', target: 'predict', init: () => ({ body: manyFields(101), headers: auth }), status: 400, code: 'too_many_fields' },
  {
    name: '6000×6000 AVIF of a few hundred bytes (decode cost, not pixels)',
    target: 'predict',
    init: () => raw(avif6000, 'image/avif'),
    status: 413,
    code: 'too_many_pixels',
  },
  // Paths nobody serves, through the local router: the same JSON errors, with a request id.
  { name: 'unknown path', target: 'app', path: '/nope', init: () => ({}), status: 404, code: 'not_found' },
  {
    name: 'upper-case path',
    target: 'app',
    path: '/PREDICT',
    init: () => ({ body: photo, headers: { 'Content-Type': 'image/jpeg' } }),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'POST to the web page',
    target: 'app',
    path: '/',
    init: () => ({ body: 'x', headers: { 'Content-Type': 'text/plain' } }),
    status: 405,
    code: 'method_not_allowed',
  },
  { name: 'favicon', target: 'app', path: '/favicon.ico', method: 'GET', init: () => ({}), status: 404, code: 'not_found' },
  { name: 'robots.txt on a function', target: 'predict', path: '/robots.txt', method: 'GET', init: () => ({}), status: 404, code: 'not_found' },
  { name: '8 KB path', target: 'app', path: `/${'x'.repeat(8000)}`, method: 'GET', init: () => ({}), status: 404, code: 'not_found' },
];

describe('bad input', () => {
  it('covers at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const client = { predict, batch, health, app }[c.target];
    const init = await c.init();
    const response = await client.request(`${c.path ?? '/'}${c.query ?? ''}`, { method: c.method ?? 'POST', ...init });
    expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status: c.status, code: c.code });
    // However large or odd the request, the answer is a short JSON error.
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.text.length).toBeLessThan(1024);
    expect(typeof response.body.error.message).toBe('string');
    expect(response.body.error.message.length).toBeGreaterThan(10);
    expect(response.body.error.request_id).toBe(response.headers.get('x-request-id'));
    if (c.header !== undefined) expect(response.headers.get(c.header[0])).toBe(c.header[1]);
  });

  it('explains limits with numbers', async () => {
    const bomb = await predict.request('/', { method: 'POST', ...file(fixtureImage('pixel-bomb.png'), 'bomb.png') });
    expect(bomb.body.error.message).toMatch(/60000×60000/);
    expect(bomb.body.error.message).toMatch(/40(\.0)? ?MP/);
  });

  it.each<[string, () => Init, string]>([
    [
      'a too-large image (multipart): the size received, the limit in MiB and the setting',
      () => file(padTo(photo, MAX_IMAGE_BYTES + 5000)),
      `the image is ${MAX_IMAGE_BYTES + 5000} bytes (0.07 MiB); the limit is 0.06 MiB (60000 bytes, set by MAX_IMAGE_BYTES): send a smaller image`,
    ],
    [
      'a too-large image (raw body)',
      () => raw(padTo(photo, MAX_IMAGE_BYTES + 1), 'image/jpeg'),
      'the image is 60001 bytes (0.06 MiB); the limit is 0.06 MiB (60000 bytes, set by MAX_IMAGE_BYTES): send a smaller image',
    ],
    [
      'an https:// URI: only gs:// in the allowed buckets, in a sentence (no schema dump, no echo of the URL)',
      () => json({ uri: 'https://shop.example/cat.jpg?X-Goog-Signature=secret' }),
      '"uri" accepts only gs://bucket/object in the buckets this service allows (ALLOWED_BUCKETS), and got a URI starting with https:; ' +
        'other URLs are not fetched: send the image itself (multipart/form-data, an image/* body or {"image": "<base64>"})',
    ],
    [
      'a text file: described in words, not bytes',
      () => file(Buffer.from('shopping list\n- shoes\n- socks\n'), 'list.jpg'),
      'this is a text file, not a JPEG, PNG, WebP or AVIF image',
    ],
    ['an HTML page', () => file(Buffer.from('<!doctype html><title>Shoes</title>'), 'shoes.jpg'), 'this is an HTML page, not a JPEG, PNG, WebP or AVIF image'],
  ])('says what was wrong in words: %s', async (_name, init, message) => {
    const response = await predict.request('/', { method: 'POST', ...init() });
    expect(response.body.error.message).toBe(message);
  });

  it("answers an https:// URI in a batch item with that item's invalid_uri, the others scored", async () => {
    const response = await batch.request('/', {
      method: 'POST',
      ...json({ images: [{ uri: 'https://example.com/cat.jpg' }, { image: photo.toString('base64') }] }),
    });
    expect(response.status).toBe(200);
    expect(response.body.results[0].error).toMatchObject({ code: 'invalid_uri', message: expect.stringMatching(/^"uri" accepts only gs:\/\/bucket\/object/) });
    expect(response.body.results[1].error).toBeUndefined();
  });

  it('keeps health open without an API key', async () => {
    const response = await health.request('/');
    expect(response.status).toBe(200);
  });

  it.each([
    ['raw', () => raw(padTo(photo, MAX_IMAGE_BYTES), 'image/jpeg')],
    ['multipart', () => file(padTo(photo, MAX_IMAGE_BYTES))],
    ['base64', () => json({ image: padTo(photo, MAX_IMAGE_BYTES).toString('base64') })],
  ])('accepts an image of exactly MAX_IMAGE_BYTES (%s)', async (_form, init) => {
    const response = await predict.request('/', { method: 'POST', ...init() });
    expect(response.status).toBe(200);
    expect(response.body.image.bytes).toBe(MAX_IMAGE_BYTES);
  });

  it('refuses one multipart batch file over MAX_IMAGE_BYTES as that item only', async () => {
    const body = multipart([
      { field: 'images', filename: 'big.jpg', bytes: padTo(photo, MAX_IMAGE_BYTES + 1) },
      { field: 'images', filename: 'ok.jpg', bytes: photo },
    ]);
    const response = await batch.request('/', { method: 'POST', body, headers: auth });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok')).toEqual(['image_too_large', 'ok']);
  });

  it('names the format and its own pixel limit when an image is too costly to decode', async () => {
    const response = await predict.request('/', { method: 'POST', ...raw(avif6000, 'image/avif') });
    expect(avif6000.length).toBeLessThan(2000);
    expect(response.body.error.message).toBe('the AVIF image is 6000×6000 (36.0 MP); AVIF is slow to decode, so its limit is 33.3 MP');
  });

  it("admits batch images until the request's decode budget is spent, and scores the rest of the batch", async () => {
    const avif12mp = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: 10, g: 200, b: 40 } } })
      .avif({ effort: 0 })
      .toBuffer();
    const body = multipart([
      { field: 'images', filename: 'a.avif', bytes: avif12mp },
      { field: 'images', filename: 'b.avif', bytes: avif12mp },
      { field: 'images', filename: 'c.avif', bytes: avif12mp },
      { field: 'images', filename: 'small.jpg', bytes: photo },
    ]);
    const response = await batch.request('/', { method: 'POST', body, headers: auth });
    expect(response.status).toBe(200);
    // 12 MP of AVIF is estimated at 540 ms: two fit in 1500 ms, the third does not, the small JPEG does.
    expect(response.body.results.map((r: { error?: { code: string } }) => r.error?.code ?? 'ok')).toEqual(['ok', 'ok', 'decode_budget_exceeded', 'ok']);
  });

  it('echoes UTF-8 multipart filenames as sent', async () => {
    const names = ['chaussure-été.jpg', '靴.jpg', 'сапог 👟.jpg'];
    const body = multipart(names.map((filename) => ({ field: 'images', filename, bytes: photo })));
    const response = await batch.request('/', { method: 'POST', body, headers: auth });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r: { filename: string }) => r.filename)).toEqual(names);
  });

  it('answers router 404s with a request id and without echoing a long path', async () => {
    const response = await app.request(`/${'y'.repeat(8000)}`, { headers: { 'X-Request-Id': 'trace-404' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBe('trace-404');
    expect(response.body.error.request_id).toBe('trace-404');
    expect(response.text.length).toBeLessThan(400);
    expect(response.body.error.message).toMatch(/\/predict/);
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    // The client declares a huge body and sends none of it: the answer must come anyway.
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(
        predict.url,
        { method: 'POST', headers: { ...auth, 'Content-Type': 'image/jpeg', 'Content-Length': String(1024 ** 3) } },
        (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error).toMatchObject({ code: 'request_too_large', message: expect.stringMatching(/1073741824 bytes; the limit is 200000 bytes/) });
  });

  it('never answers 500 to random garbage', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20; i += 1) {
      const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256)));
      // Half of them start like a real image.
      if (i % 2 === 0) photo.copy(garbage, 0, 0, Math.min(garbage.length, 20 + i * 10));
      const response = await predict.request('/', { method: 'POST', ...raw(garbage, 'application/octet-stream') });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a client exhausts its bucket', async () => {
    startService({ RATE_LIMIT_PER_SECOND: '0.001', RATE_LIMIT_BURST: '2', API_KEYS: KEY });
    const client = await startFunction('predict');
    try {
      const image = await solidImage(WHITE);
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 3; i += 1) {
        last = await client.request('/', { method: 'POST', body: image, headers: { ...auth, 'Content-Type': 'image/png' } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(last!.body.error.code).toBe('rate_limited');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
