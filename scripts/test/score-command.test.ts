/**
 * `detector score` end to end: local scoring through the functions' core, resuming, sharding,
 * CSV and JSON Lines, a gs:// prefix read through the Cloud Storage test server, and --url against
 * the real service and against a server that answers 429 before it answers.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { GcsBlobStore } from '../../functions/src/platform/storage/gcs-blob-store';
import { startGcsServer } from '../../functions/test/support/gcs-server';
import { startFunction } from '../../functions/test/support/function-server';
import { fixtureImage, FIXTURE_MODELS, startService, tempDir } from '../../functions/test/support/test-service';
import { createMemoryLogger } from '../../functions/src/platform';
import { loadConfig } from '../../functions/src/serving';
import { main } from '../detector/detector-cli';
import { doneIds, listSources, localScorer, remoteScorer, type ResultLine, runScore, shardOf, type SourceItem, storeOpener } from '../detector/score-command';

const IMAGES = ['photo.jpg', 'photo.png', 'photo.webp', 'photo.avif', 'grey.jpg', 'palette.png', 'fake.jpg', 'truncated.jpg'];
const quiet = { write: () => true, isTTY: false };
const config = loadConfig({ MODEL_STORE: FIXTURE_MODELS, DEFAULT_MODEL: 'brightness' });
const local = () => localScorer(config, 'brightness', createMemoryLogger(), storeOpener(config));

function imageFolder(): string {
  const dir = tempDir('score-');
  fs.mkdirSync(path.join(dir, 'nested, with comma'));
  for (const [i, name] of IMAGES.entries()) fs.writeFileSync(path.join(dir, i % 2 === 0 ? name : path.join('nested, with comma', name)), fixtureImage(name));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not an image, not listed');
  return dir;
}

const readJsonl = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('"pred'))
    .map(
      (line) => JSON.parse(line) as { id: string; verdict?: string; decided_by?: string; verdict_reasons?: string[]; prediction?: string; error_code?: string },
    );

describe('detector score --local', () => {
  it('writes one line per image, a verdict or the error, and resumes without scoring anything twice', async () => {
    const folder = imageFolder();
    const items = await listSources(folder, storeOpener(config));
    expect(items.map((item) => item.id)).toHaveLength(IMAGES.length);
    const out = path.join(tempDir('out-'), 'results.jsonl');
    // An interrupted earlier run: two complete lines and one cut off.
    fs.writeFileSync(
      out,
      `${JSON.stringify({ id: items[0]!.id, prediction: 'real' })}\n${JSON.stringify({ id: items[1]!.id, prediction: 'real' })}\n{"id":"${items[2]!.id}","pred`,
    );
    const summary = await runScore({ items, out, shard: null, groupSize: 3, concurrency: 2, scorer: local(), progressStream: quiet });
    // fake.jpg and grey.jpg come first in id order: they were the two lines already there.
    expect(items.slice(0, 2).map((item) => item.id)).toEqual(['fake.jpg', 'grey.jpg']);
    expect(summary).toMatchObject({ listed: 8, skipped: 2, scored: 5, failed: 1 });
    const lines = readJsonl(out);
    const ids = lines.map((line) => line.id);
    expect(ids).toHaveLength(IMAGES.length);
    expect(new Set(ids).size).toBe(IMAGES.length);
    // Not scored again: the earlier line stands.
    expect(lines.find((line) => line.id === 'fake.jpg')).toEqual({ id: 'fake.jpg', prediction: 'real' });
    expect(lines.filter((line) => line.id.endsWith('truncated.jpg'))[0]?.error_code).toBe('undecodable_image');
    const png = lines.filter((line) => line.id.endsWith('photo.png'))[0]!;
    expect(png.prediction).toMatch(/^(ai_generated|real)$/);
    // The verdict as /batch answers it, what decided it and why, beside the pixel prediction.
    expect(png.verdict).toMatch(/^(ai_generated|real|uncertain)$/);
    expect(png.decided_by).toMatch(/^(c2pa|metadata|pixels)$/);
    expect(png.verdict_reasons?.length).toBeGreaterThan(0);
    expect(summary.ai_generated + summary.real + summary.uncertain).toBe(summary.scored);
    // A second run has nothing left to do.
    expect((await runScore({ items, out, shard: null, groupSize: 3, concurrency: 1, scorer: local(), progressStream: quiet })).skipped).toBe(IMAGES.length);
  });

  it('writes CSV with a header and quoted fields, and resumes from it', async () => {
    const items = await listSources(imageFolder(), storeOpener(config));
    const out = path.join(tempDir('out-'), 'results.csv');
    await runScore({ items: items.slice(0, 4), out, shard: null, groupSize: 16, concurrency: 1, scorer: local(), progressStream: quiet });
    await runScore({ items, out, shard: null, groupSize: 16, concurrency: 1, scorer: local(), progressStream: quiet });
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,verdict,decided_by,verdict_reasons,prediction,probability,confidence,model,model_version,error_code,error_message');
    // verdict_reasons is one field, quoted where a reason holds a comma.
    expect(rows.find((row) => row.startsWith('photo.jpg,'))).toMatch(/^photo\.jpg,(ai_generated|real|uncertain),pixels,"?P\(AI\) /);
    expect(rows).toHaveLength(1 + IMAGES.length);
    expect(rows.some((row) => row.startsWith('"nested, with comma/'))).toBe(true);
    expect(doneIds(out, 'csv').size).toBe(IMAGES.length);
  });

  it('splits work into shards that hold every image exactly once, whatever the listing order', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `gs://bucket/catalogue/${i}.jpg`);
    const shards = (order: string[]) => [0, 1, 2].map((index) => order.filter((id) => shardOf(id, 3) === index));
    const forward = shards(ids);
    expect(forward.flat().sort()).toEqual([...ids].sort());
    expect(forward.every((shard) => shard.length > 120)).toBe(true);
    expect(shards([...ids].reverse()).map((shard) => [...shard].sort())).toEqual(forward.map((shard) => [...shard].sort()));

    const items = await listSources(imageFolder(), storeOpener(config));
    const dir = tempDir('shards-');
    const seen: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const out = path.join(dir, `part-${index}.jsonl`);
      await runScore({ items, out, shard: { index, count: 3 }, groupSize: 4, concurrency: 1, scorer: local(), progressStream: quiet });
      if (fs.existsSync(out)) seen.push(...readJsonl(out).map((line) => line.id));
    }
    expect(seen.sort()).toEqual(items.map((item) => item.id).sort());
  });

  it('reads a gs:// prefix through the Cloud Storage API (one task of a sharded job)', async () => {
    const server = await startGcsServer();
    try {
      const bucket = new GcsBlobStore({ bucket: 'catalogue', prefix: '', apiEndpoint: server.url });
      for (const name of ['photo.jpg', 'photo.webp', 'truncated.jpg']) await bucket.write(`listings/2026/${name}`, fixtureImage(name));
      await bucket.write('listings/2026/readme.txt', 'skip me');
      const gcsConfig = loadConfig({ MODEL_STORE: FIXTURE_MODELS, DEFAULT_MODEL: 'brightness', STORAGE_API_ENDPOINT: server.url });
      const items = await listSources('gs://catalogue/listings', storeOpener(gcsConfig));
      expect(items.map((item) => item.id)).toEqual([
        'gs://catalogue/listings/2026/photo.jpg',
        'gs://catalogue/listings/2026/photo.webp',
        'gs://catalogue/listings/2026/truncated.jpg',
      ]);
      const out = path.join(tempDir('out-'), 'part-0.jsonl');
      const summary = await runScore({ items, out, shard: { index: 0, count: 1 }, groupSize: 16, concurrency: 1, scorer: local(), progressStream: quiet });
      expect(summary).toMatchObject({ scored: 2, failed: 1 });
    } finally {
      await server.close();
    }
  });
});

describe('the summary', () => {
  it('counts verdicts, as /batch answers them, not pixel predictions', async () => {
    const items: SourceItem[] = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, read: () => Promise.resolve(Buffer.alloc(0)) }));
    const answers: ResultLine[] = [
      { id: 'a', verdict: 'uncertain', decided_by: 'pixels', verdict_reasons: ['inside the band'], prediction: 'ai_generated' },
      { id: 'b', verdict: 'uncertain', decided_by: 'pixels', verdict_reasons: ['inside the band'], prediction: 'ai_generated' },
      { id: 'c', verdict: 'ai_generated', decided_by: 'metadata', verdict_reasons: ['a generator chunk'], prediction: 'real' },
      { id: 'd', verdict: 'real', decided_by: 'pixels', verdict_reasons: ['below the threshold'], prediction: 'real' },
      { id: 'e', error_code: 'undecodable_image', error_message: 'not an image' },
    ];
    const scorer = (group: readonly SourceItem[]) => Promise.resolve(group.map((item) => answers.find((answer) => answer.id === item.id)!));
    const out = path.join(tempDir('out-'), 'verdicts.csv');
    const summary = await runScore({ items, out, shard: null, groupSize: 2, concurrency: 1, scorer, progressStream: quiet });
    expect(summary).toMatchObject({ scored: 4, failed: 1, ai_generated: 1, real: 1, uncertain: 2 });
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[1]).toBe('a,uncertain,pixels,inside the band,ai_generated,,,,,,');
  });

  it('is printed by the command with the verdict counts', async () => {
    const out = path.join(tempDir('out-'), 'r.jsonl');
    let printed = '';
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((text) => ((printed += String(text)), true));
    try {
      expect(await main(['score', imageFolder(), '--out', out, '--model', 'brightness'], { MODEL_STORE: FIXTURE_MODELS })).toBe(3);
    } finally {
      stderr.mockRestore();
    }
    expect(printed).toMatch(/6 scored \(verdicts: \d+ ai_generated, \d+ real, \d+ uncertain\), 2 failed/);
  });
});

describe('detector score as a Cloud Run job task', () => {
  it('takes its shard from CLOUD_RUN_TASK_INDEX/COUNT and writes gs://…/part-<i>.jsonl; the tasks together cover every image once', async () => {
    const server = await startGcsServer();
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const bucket = new GcsBlobStore({ bucket: 'catalogue', prefix: '', apiEndpoint: server.url });
      const names = Array.from({ length: 12 }, (_, i) => `listings/${String(i).padStart(2, '0')}.jpg`);
      for (const name of names) await bucket.write(name, fixtureImage('photo.jpg'));
      const env = { MODEL_STORE: FIXTURE_MODELS, DEFAULT_MODEL: 'brightness', STORAGE_API_ENDPOINT: server.url, CLOUD_RUN_TASK_COUNT: '3' };
      const out = 'gs://catalogue/results/run-7/part-{task}.jsonl';
      const seen: string[] = [];
      for (const task of ['0', '1', '2']) {
        expect(await main(['score', 'gs://catalogue/listings', '--out', out], { ...env, CLOUD_RUN_TASK_INDEX: task })).toBe(0);
        const part = (await bucket.read(`results/run-7/part-${task}.jsonl`)).toString('utf8').trim().split('\n');
        const ids = part.map((line) => (JSON.parse(line) as { id: string }).id);
        expect(ids.every((id) => shardOf(id, 3) === Number(task))).toBe(true);
        seen.push(...ids);
      }
      expect(seen.sort()).toEqual(names.map((name) => `gs://catalogue/${name}`));
      // A task that restarts resumes from its part: nothing is scored twice.
      expect(await main(['score', 'gs://catalogue/listings', '--out', out], { ...env, CLOUD_RUN_TASK_INDEX: '1' })).toBe(0);
      const again = (await bucket.read('results/run-7/part-1.jsonl')).toString('utf8').trim().split('\n');
      expect(new Set(again).size).toBe(again.length);
    } finally {
      stderr.mockRestore();
      await server.close();
    }
  });
});

describe('detector score --url', () => {
  it('scores through a running service the same as in-process', async () => {
    startService();
    const app = await startFunction('app');
    try {
      const items = await listSources(imageFolder(), storeOpener(config));
      const out = path.join(tempDir('out-'), 'remote.jsonl');
      const summary = await runScore({
        items,
        out,
        shard: null,
        groupSize: 5,
        concurrency: 2,
        scorer: remoteScorer({ url: app.url, apiKey: null, model: null, retries: 0 }),
        progressStream: quiet,
      });
      expect(summary).toMatchObject({ scored: 6, failed: 2 });
      const localOut = path.join(tempDir('out-'), 'local.jsonl');
      await runScore({ items, out: localOut, shard: null, groupSize: 5, concurrency: 1, scorer: local(), progressStream: quiet });
      const byId = (file: string) =>
        Object.fromEntries(readJsonl(file).map((line) => [line.id, line.error_code ?? [line.verdict, line.decided_by, line.verdict_reasons, line.prediction]]));
      expect(byId(out)).toEqual(byId(localOut));
    } finally {
      await app.close();
    }
  });

  it('retries 429 and 503 as Retry-After says, then writes the answer', async () => {
    let calls = 0;
    const waits: number[] = [];
    const server = http.createServer((req, res) => {
      calls += 1;
      req.resume();
      req.on('end', () => {
        if (calls <= 2) {
          res.writeHead(calls === 1 ? 429 : 503, { 'Content-Type': 'application/json', 'Retry-After': String(calls) });
          res.end(JSON.stringify({ error: { code: calls === 1 ? 'rate_limited' : 'model_unavailable', message: 'later' } }));
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ results: [{ id: '0', prediction: 'real', probability: 0.1, confidence: 'high', model: { name: 'm', version: 'v' } }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const item: SourceItem = { id: 'a.jpg', read: () => Promise.resolve(fixtureImage('photo.jpg')) };
      const scorer = remoteScorer({ url, apiKey: 'k', model: null, retries: 5, sleep: (ms) => (waits.push(ms), Promise.resolve()) });
      expect(await scorer([item])).toEqual([{ id: 'a.jpg', prediction: 'real', probability: 0.1, confidence: 'high', model: 'm', model_version: 'v' }]);
      expect({ calls, waits }).toEqual({ calls: 3, waits: [1000, 2000] });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('exits 4 when the service cannot be reached, 2 on bad arguments', async () => {
    const out = path.join(tempDir('out-'), 'r.jsonl');
    const folder = imageFolder();
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['score', folder, '--out', out, '--url', 'http://127.0.0.1:9', '--retries', '0'], { MODEL_STORE: FIXTURE_MODELS })).toBe(4);
      expect(await main(['score', folder, '--out', 'x.txt'], {})).toBe(2);
      expect(await main(['score', folder], {})).toBe(2);
      expect(await main(['score', folder, '--out', out, '--shard', '3/3'], {})).toBe(2);
      expect(await main(['nope'], {})).toBe(2);
      expect(await main(['--help'], {})).toBe(0);
      expect(await main(['score', folder, '--out', out, '--model', 'brightness'], { MODEL_STORE: FIXTURE_MODELS })).toBe(3);
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  });
});
