/**
 * POST /explain end to end: the "brightness" test model (P(AI) = sigmoid(4·mean)) on a picture
 * whose left half is white and right half black, so greying a white cell lowers P(AI) and greying
 * a black one raises it; the occlusion map must say so, cell by cell, in image coordinates.
 */
import Ajv from 'ajv';
import sharp from 'sharp';
import { explainResponseSchema, predictResponseSchema } from '../../src/serving/api/schemas';
import { GRID, HEATMAP_MAX_SIDE } from '../../src/detector/scoring/explain-image';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';
import { fixtureImage, startService, tempDir } from '../support/test-service';
import { telemetryLines } from '../support/telemetry-fixtures';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES } from '../support/test-service';

let explain: FunctionClient;
let predict: FunctionClient;
const telemetry = tempDir('explain-telemetry-');

beforeAll(async () => {
  // One record per flush, written before the answer: a test can count what a request left.
  startService({ API_KEYS: 'key-0123456789abcdef', TELEMETRY_STORE: telemetry, TELEMETRY_FLUSH_RECORDS: '1' });
  explain = await startFunction('explain');
  predict = await startFunction('predict');
});

afterAll(async () => {
  await explain.close();
  await predict.close();
});

const auth = { 'X-API-Key': 'key-0123456789abcdef' };

/** 800×400: left half white, right half black. */
function halves(): Promise<Buffer> {
  const width = 800;
  const height = 400;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) pixels.fill(255, y * width * 3, (y * width + width / 2) * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

interface Cell {
  row: number;
  col: number;
  box: { x: number; y: number; width: number; height: number };
  probability: number;
  drop: number;
  weight: number;
}

describe('POST /explain', () => {
  it('answers the verdict of /predict with an occlusion grid in image coordinates and a heatmap PNG', async () => {
    const bytes = await halves();
    const [response, predicted] = await Promise.all([
      explain.request('/', { method: 'POST', body: multipart([{ field: 'image', filename: 'halves.png', bytes }]), headers: auth }),
      predict.request('/', { method: 'POST', body: multipart([{ field: 'image', filename: 'halves.png', bytes }]), headers: auth }),
    ]);
    expect(response.status).toBe(200);
    // Both answers match the schemas the OpenAPI document publishes.
    const ajv = new Ajv({ strict: false, allErrors: true });
    expect([ajv.validate(explainResponseSchema, response.body), ajv.errors ?? null]).toEqual([true, null]);
    expect([ajv.validate(predictResponseSchema, predicted.body), ajv.errors ?? null]).toEqual([true, null]);
    for (const field of ['prediction', 'verdict', 'decided_by', 'probability', 'model', 'image', 'evidence'])
      expect(response.body[field]).toEqual(predicted.body[field]);

    const { method, rows, cols, cells } = response.body.explanation as { method: string; rows: number; cols: number; cells: Cell[] };
    expect([method, rows, cols, cells.length]).toEqual(['occlusion', GRID, GRID, GRID * GRID]);
    // The 32×32 cover input is the centre 400×400 of the image: cells of 100×100 from x = 200.
    expect(cells[0]!.box).toEqual({ x: 200, y: 0, width: 100, height: 100 });
    expect(cells[GRID * GRID - 1]!.box).toEqual({ x: 500, y: 300, width: 100, height: 100 });
    for (const cell of cells) {
      const white = cell.box.x + cell.box.width <= 400;
      expect(cell.drop > 0).toBe(white);
      expect(cell.weight).toBeGreaterThanOrEqual(0);
      expect(cell.weight).toBeLessThanOrEqual(1);
      expect(cell.probability).toBeCloseTo(response.body.probability - cell.drop, 3);
    }

    const png = Buffer.from(response.body.heatmap_png as string, 'base64');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', HEATMAP_MAX_SIDE, 256]);
    expect(response.body.heatmap).toEqual({ width: 512, height: 256, format: 'png' });
    // Outside the scored centre the picture is dimmed; a white cell that lowered P(AI) is tinted red.
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * 512 + x) * 3, (y * 512 + x) * 3 + 3)];
    expect(at(20, 128)).toEqual([127, 127, 127]);
    const tinted = at(200, 128);
    expect(tinted[0]).toBe(255);
    expect(tinted[1]).toBeLessThan(255);
  });

  it('keeps the heatmap of a small image at its own size', async () => {
    const response = await explain.request('/', { method: 'POST', body: fixtureImage('photo.jpg'), headers: { ...auth, 'Content-Type': 'image/jpeg' } });
    expect(response.status).toBe(200);
    expect(response.body.heatmap).toEqual({ width: 320, height: 240, format: 'png' });
  });

  it('carries the evidence and the policy verdict like /predict', async () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, 'evidence', 'sd-parameters.png'));
    const response = await explain.request('/', { method: 'POST', body: multipart([{ field: 'image', filename: 'sd.png', bytes }]), headers: auth });
    expect(response.body).toMatchObject({ prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' });
  });

  it.each([
    ['no API key', { body: fixtureImage('photo.jpg'), headers: { 'Content-Type': 'image/jpeg' } }, 401, 'unauthorized'],
    ['a text file', { body: Buffer.from('not an image'), headers: { ...auth, 'Content-Type': 'application/octet-stream' } }, 415, 'unsupported_format'],
    [
      'two images',
      {
        body: multipart([
          { field: 'image', bytes: fixtureImage('photo.jpg') },
          { field: 'image', bytes: fixtureImage('photo.png') },
        ]),
        headers: auth,
      },
      400,
      'too_many_images',
    ],
    ['an empty body', { body: Buffer.alloc(0), headers: { ...auth, 'Content-Type': 'image/jpeg' } }, 400, 'missing_image'],
  ])('answers %s with %p %s', async (_name, init, status, code) => {
    const response = await explain.request('/', { method: 'POST', ...init });
    expect(response.status).toBe(status);
    expect(response.body.error.code).toBe(code);
  });

  it('leaves one telemetry record per explained image, like /predict', async () => {
    const before = telemetryLines(telemetry);
    const res = await explain.request('/', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: await halves() });
    expect(res.status).toBe(200);
    expect(telemetryLines(telemetry)).toBe(before + 1);
    const predicted = await predict.request('/', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: await halves() });
    expect(predicted.status).toBe(200);
    expect(telemetryLines(telemetry)).toBe(before + 2);
  });

  it('answers GET with 405', async () => {
    const response = await explain.request('/', { method: 'GET', headers: auth });
    expect(response.status).toBe(405);
  });
});
