/**
 * POST /feedback through the Functions Framework test server, with predict in the same service
 * (as `npm start` runs them): every input form, storage in the dataset layout, deduplication by
 * sha256, a conflicting label, the request_id form, and the limits /predict has.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';
import { BLACK, solidImage, startService, tempDir, WHITE } from '../support/test-service';

let feedback: FunctionClient;
let predict: FunctionClient;
let store: string;
const KEY = 'feedback-test-key-0123456789';

beforeAll(async () => {
  store = tempDir('feedback-');
  startService({ FEEDBACK_STORE: store, API_KEYS: KEY, MAX_IMAGE_BYTES: '200000', RATE_LIMIT_PER_SECOND: '0' });
  feedback = await startFunction('feedback');
  predict = await startFunction('predict');
});

afterAll(async () => {
  await feedback.close();
  await predict.close();
  fs.rmSync(store, { recursive: true, force: true });
});

const auth = { 'x-api-key': KEY };
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const json = (body: object) => ({ method: 'POST', body: JSON.stringify(body), headers: { ...auth, 'content-type': 'application/json' } });

describe('POST /feedback', () => {
  it('stores a multipart image under its label in the dataset layout, with a record, and answers its id', async () => {
    const image = await solidImage(WHITE, 'png', 40, 30);
    const form = multipart([{ field: 'image', filename: 'w.png', bytes: image }]);
    form.append('label', 'real');
    form.append('note', 'a studio photo, not generated');
    const response = await feedback.request('/', { method: 'POST', body: form, headers: auth });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: sha(image), duplicate: false, model: 'brightness', label: 'real', request_id: expect.any(String) });
    expect(fs.readFileSync(path.join(store, 'brightness', 'train', 'REAL', `${sha(image)}.png`))).toEqual(image);
    const record = JSON.parse(fs.readFileSync(path.join(store, 'brightness', 'records', `${sha(image)}.json`), 'utf8'));
    expect(record).toMatchObject({
      id: sha(image),
      label: 'real',
      note: 'a studio photo, not generated',
      image: `brightness/train/REAL/${sha(image)}.png`,
      principal: expect.stringMatching(/^key:/),
    });
  });

  it('stores the same image once, and refuses to relabel it', async () => {
    const image = await solidImage(BLACK, 'jpeg', 40, 30);
    const first = await feedback.request('/?model=other', json({ image: image.toString('base64'), label: 'ai_generated' }));
    const again = await feedback.request('/?model=other', json({ image: image.toString('base64'), label: 'ai_generated' }));
    expect([first.status, first.body.duplicate, again.status, again.body.duplicate]).toEqual([201, false, 200, true]);
    expect(again.body.id).toBe(first.body.id);
    const relabel = await feedback.request('/?model=other', json({ image: image.toString('base64'), label: 'real' }));
    expect(relabel.status).toBe(409);
    expect(relabel.body.error.code).toBe('feedback_conflict');
    expect(fs.readdirSync(path.join(store, 'other', 'train', 'FAKE'))).toEqual([`${sha(image)}.jpg`]);
    expect(fs.existsSync(path.join(store, 'other', 'train', 'REAL'))).toBe(false);
  });

  it('takes a raw image body with ?label=', async () => {
    const image = await solidImage({ r: 10, g: 200, b: 30 }, 'webp', 40, 30);
    const response = await feedback.request('/?label=ai_generated&note=seen%20on%20a%20marketplace', {
      method: 'POST',
      body: image,
      headers: { ...auth, 'content-type': 'image/webp' },
    });
    expect(response.status).toBe(201);
    expect(fs.existsSync(path.join(store, 'brightness', 'train', 'FAKE', `${sha(image)}.webp`))).toBe(true);
  });

  it('names a recent prediction by its request_id and keeps what it predicted', async () => {
    const image = await solidImage({ r: 240, g: 240, b: 240 }, 'png', 50, 40);
    const predicted = await predict.request('/', { method: 'POST', body: image, headers: { ...auth, 'content-type': 'image/png' } });
    expect(predicted.status).toBe(200);
    const response = await feedback.request('/', json({ request_id: predicted.body.request_id, label: 'real' }));
    expect(response.status).toBe(201);
    expect(response.body.id).toBe(sha(image));
    const record = JSON.parse(fs.readFileSync(path.join(store, 'brightness', 'records', `${sha(image)}.json`), 'utf8'));
    expect(record).toMatchObject({ request_id: predicted.body.request_id, predicted: { prediction: 'ai_generated', version: 'v1' } });
  });

  it.each([
    ['an unknown request_id', json({ request_id: 'never-seen', label: 'real' }), 404, 'prediction_not_found'],
    ['no label', json({ image: 'aGVsbG8=' }), 400, 'invalid_request'],
    ['a label outside real and ai_generated', json({ image: 'aGVsbG8=', label: 'fake' }), 400, 'invalid_request'],
    ['both an image and a request_id', json({ image: 'aGVsbG8=', request_id: 'x', label: 'real' }), 400, 'invalid_request'],
    ['a note of 1001 characters', json({ image: 'aGVsbG8=', label: 'real', note: 'x'.repeat(1001) }), 400, 'invalid_request'],
    ['bytes that are not an image', json({ image: Buffer.from('not an image at all').toString('base64'), label: 'real' }), 415, 'unsupported_format'],
    ['no API key', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, 401, 'unauthorized'],
  ])('refuses %s', async (_case, init, status, code) => {
    const response = await feedback.request('/', init as never);
    expect({ status: response.status, code: response.body.error.code }).toEqual({ status, code });
  });

  it('refuses an image over MAX_IMAGE_BYTES, as /predict does', async () => {
    const response = await feedback.request('/?label=real', {
      method: 'POST',
      body: Buffer.alloc(200_001, 1),
      headers: { ...auth, 'content-type': 'image/png' },
    });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('image_too_large');
  });
});
