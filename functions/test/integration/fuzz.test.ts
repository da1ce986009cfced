/**
 * Seeded fuzzing through the real framework and decoders: a few hundred mutated copies of the
 * fixture images (every format), raw and in batches. However damaged the file, the answer is 200
 * or a documented 4xx with a JSON error, never a 500 and never a dropped connection.
 * `npm run bench -- --suite fuzz` runs the same mutations by the thousand.
 */
import { FUZZ_SEED_FILES, fuzzImages } from '../../../scripts/fixtures/image-fuzzer';
import { fixtureImage, startService } from '../support/test-service';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';

const DOCUMENTED = new Set([400, 413, 415]);

let predict: FunctionClient;
let batch: FunctionClient;

beforeAll(async () => {
  startService();
  [predict, batch] = await Promise.all([startFunction('predict'), startFunction('batch')]);
});

afterAll(async () => {
  await Promise.all([predict.close(), batch.close()]);
});

const seeds = FUZZ_SEED_FILES.map((name) => [name, fixtureImage(name)] as [string, Buffer]);

it('answers 300 mutated images with 200 or a documented 4xx, never a 500', async () => {
  const cases = fuzzImages(seeds, 300, 20261201);
  const statuses = new Map<number, number>();
  const unexpected: string[] = [];
  for (const { name, bytes } of cases) {
    const response = await predict.request('/', { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const fine =
      response.status === 200
        ? typeof response.body?.probability === 'number'
        : DOCUMENTED.has(response.status) && typeof response.body?.error?.code === 'string';
    if (!fine) unexpected.push(`${name}: ${response.status} ${response.text.slice(0, 200)}`);
  }
  expect(unexpected).toEqual([]);
  // The mutations reach both outcomes: some survive and decode, many are refused.
  expect(statuses.get(200) ?? 0).toBeGreaterThan(10);
  expect([...statuses.keys()].filter((status) => status >= 400).length).toBeGreaterThanOrEqual(2);
});

it('keeps every other item of a batch when some are mutated', async () => {
  const cases = fuzzImages(seeds, 60, 7);
  for (let start = 0; start < cases.length; start += 15) {
    const group = cases.slice(start, start + 15);
    const body = multipart([
      ...group.map((c, i) => ({ field: 'images', filename: `${i}.bin`, bytes: c.bytes })),
      { field: 'images', filename: 'good.jpg', bytes: fixtureImage('photo.jpg') },
    ]);
    const response = await batch.request('/', { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(response.body.total).toBe(group.length + 1);
    const last = response.body.results[group.length];
    expect(last.filename).toBe('good.jpg');
    expect(typeof last.probability).toBe('number');
    for (const result of response.body.results) expect(result.error === undefined || DOCUMENTED.has(statusOf(result.error.code))).toBe(true);
  }
});

function statusOf(code: string): number {
  if (['image_too_large', 'too_many_pixels', 'decode_budget_exceeded'].includes(code)) return 413;
  if (code === 'unsupported_format') return 415;
  return 400;
}
