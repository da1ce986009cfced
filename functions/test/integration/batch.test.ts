/** /batch end to end: several images, one onnxruntime call, per-item errors that do not fail the rest. */
import { createOnnxEngine } from '../../src/detector/model/onnx-session';
import { BLACK, fixtureImage, solidImage, startService, WHITE } from '../support/test-service';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';

let client: FunctionClient;
const runs: number[] = [];

beforeAll(async () => {
  startService(
    {},
    {
      // The real engine, counting how many onnxruntime calls each batch makes and with how many rows.
      createEngine: async (bytes) => {
        const engine = await createOnnxEngine(bytes, { intraOpNumThreads: 1 });
        return {
          inputNames: engine.inputNames,
          outputNames: engine.outputNames,
          inputDims: (name) => engine.inputDims(name),
          release: () => engine.release(),
          run: (input, data, dims, output) => {
            runs.push(dims[0]!);
            return engine.run(input, data, dims, output);
          },
        };
      },
    },
  );
  client = await startFunction('batch');
});

afterAll(async () => {
  await client.close();
});

beforeEach(() => {
  runs.length = 0;
});

describe('POST /batch', () => {
  it('scores multipart files in one inference call, in request order, echoing filenames', async () => {
    const body = multipart([
      { field: 'images', filename: 'white.png', bytes: await solidImage(WHITE) },
      { field: 'images', filename: 'black.jpg', bytes: await solidImage(BLACK, 'jpeg') },
      { field: 'images', filename: 'photo.webp', bytes: fixtureImage('photo.webp') },
    ]);
    const response = await client.request('/', { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(runs).toEqual([3]);
    expect(response.body).toMatchObject({ total: 3, succeeded: 3, failed: 0, model: { name: 'brightness', version: 'v1' } });
    expect(response.body.results.map((r: { filename: string; prediction: string }) => [r.filename, r.prediction])).toEqual([
      ['white.png', 'ai_generated'],
      ['black.jpg', 'real'],
      ['photo.webp', expect.any(String)],
    ]);
    expect(response.body.timing_ms).toEqual({ decode: expect.any(Number), inference: expect.any(Number), total: expect.any(Number) });
  });

  it('gives each bad item its own error and still answers 200 for the rest', async () => {
    const white = (await solidImage(WHITE)).toString('base64');
    const response = await client.request('/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        images: [
          { id: 'good-1', image: white },
          { id: 'not-base64', image: '***' },
          { id: 'text', image: Buffer.from('plain text').toString('base64') },
          { id: 'bomb', image: fixtureImage('pixel-bomb.png').toString('base64') },
          { id: 'no-bucket', uri: 'gs://not-allowed/x.jpg' },
          { id: 'both', image: white, uri: 'gs://a/b' },
          { id: 'good-2', image: fixtureImage('photo.jpg').toString('base64') },
        ],
      }),
    });
    expect(response.status).toBe(200);
    expect(runs).toEqual([2]);
    expect(response.body).toMatchObject({ total: 7, succeeded: 2, failed: 5 });
    const byId = Object.fromEntries(response.body.results.map((r: { id: string }) => [r.id, r]));
    expect(byId['good-1'].prediction).toBe('ai_generated');
    expect(byId['good-2'].image).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(byId['not-base64'].error.code).toBe('invalid_base64');
    expect(byId.text.error.code).toBe('unsupported_format');
    expect(byId.bomb.error.code).toBe('too_many_pixels');
    expect(byId['no-bucket'].error.code).toBe('invalid_uri'); // ALLOWED_BUCKETS is empty here: URIs are off
    expect(byId.both.error.code).toBe('invalid_item');
    expect(response.body.results.map((r: { id: string }) => r.id)).toEqual(['good-1', 'not-base64', 'text', 'bomb', 'no-bucket', 'both', 'good-2']);
  });

  it('uses the item index as id when none is given', async () => {
    const white = (await solidImage(WHITE)).toString('base64');
    const response = await client.request('/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ images: [{ image: white }, { image: white }] }),
    });
    expect(response.body.results.map((r: { id: string }) => r.id)).toEqual(['0', '1']);
  });

  it('makes no inference call when every item fails', async () => {
    const response = await client.request('/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ images: [{ id: 'a', image: '@@@@' }] }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ total: 1, succeeded: 0, failed: 1 });
    expect(runs).toEqual([]);
  });

  it('accepts 20 items, the default limit', async () => {
    const white = (await solidImage(WHITE)).toString('base64');
    const response = await client.request('/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ images: Array.from({ length: 20 }, (_, i) => ({ id: `i${i}`, image: white })) }),
    });
    expect(response.status).toBe(200);
    expect(response.body.succeeded).toBe(20);
    expect(runs).toEqual([20]);
  });
});
