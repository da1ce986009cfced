/**
 * `npm run bench`: latency, throughput, cold start and memory of the real server on loopback, and
 * what hostile requests cost it. Every suite starts a functions-framework process serving `app`
 * from dist/, exactly as `npm start` runs it, and prints numbers; none of them is a pass/fail test.
 *
 * Suites (--suite, comma-separated; default latency,memory,hostile):
 * - latency: for JPEG photos of 256², 1000², 2000² and 4000×3000 pixels and a batch of 20, p50/p95
 *   over HTTP with each decoder; per request the server's own decode and inference (its
 *   timing_ms) and the overhead (the rest of the end-to-end time); bare decode and inference
 *   in-process (the same scoreImages core, the server's libvips settings); cold start (spawn to
 *   the first 200 from /predict); peak RSS after --rss-requests requests;
 * - memory: RSS after --memory-requests (10 000) mixed valid and invalid requests, sampled every
 *   500, with the growth over the last half;
 * - hostile: each hostile request of the bad-input table at full size (a 31 MB 15 M-item batch,
 *   a gzip bomb, a chunked 100 MB body, a 6000×6000 AVIF, …): its status, how far it raised the
 *   server's RSS and how much CPU it took;
 * - fuzz: --fuzz-images (3000) seeded mutations of the fixture images (every 9th request a /batch
 *   of 3, about 2,400 requests), counted by status, with RSS before, after and at peak;
 * - decode-cost: sharp's decode time per megapixel for each format (image/decode-cost.ts);
 * - bulk: images per second of `detector score --local` on a folder of 200 photo-like 1000×1000 JPEGs;
 * - evidence: metadata-evidence extraction per image in-process (a 1000×1000 JPEG without a manifest,
 *   the same with camera EXIF, a PNG of 1000 text chunks, signed C2PA files through the WebAssembly
 *   reader with and without the shipped trust material, that reader's first load and the trust
 *   material's), the invisible-watermark check per megapixel (stored-pixel decode and the decoder
 *   apart), and /explain against /predict over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import * as zlib from 'node:zlib';
import {
  C2paWasmReader,
  createDecoder,
  decodeInvisibleWatermark,
  createOnnxEngine,
  extractEvidence,
  loadTrustMaterial,
  ModelRegistry,
  readImageHeader,
  scoreImages,
} from '../../functions/src/detector';
import { createLogger, FileBlobStore, repoRoot } from '../../functions/src/platform';
import { loadConfig } from '../../functions/src/serving';
import { exifSegment, picture, tEXt, withJpegSegments, withPngChunks } from '../fixtures/make-evidence-fixtures';
import { chunkedBody, FUZZ_SEED_FILES, fuzzImages } from '../fixtures/image-fuzzer';
import { listSources, localScorer, runScore, storeOpener } from '../detector/score-command';

const SIZES: Array<[string, number, number]> = [
  ['256x256', 256, 256],
  ['1000x1000', 1000, 1000],
  ['2000x2000', 2000, 2000],
  ['4000x3000', 4000, 3000],
];

const USAGE = `usage: npm run bench -- [options]

  --suite <list>            latency,memory,hostile,fuzz,decode-cost,bulk,evidence (default latency,memory,hostile)
  --model <name>            model to serve (default DEFAULT_MODEL or general; the test model if absent)
  --store <dir>             model store folder (default models/)
  --requests <n>            timed requests per size in the latency suite (default 40)
  --decoders <list>         sharp,jimp (default sharp,jimp)
  --rss-requests <n>        requests before the latency suite reads peak RSS (default 1000)
  --memory-requests <n>     mixed requests of the memory suite (default 10000)
  --fuzz-images <n>         mutated images of the fuzz suite (default 3000)
  --seed <n>                seed of the fuzz suite (default 1)
  -h, --help                this text
`;

const SUITES = ['latency', 'memory', 'hostile', 'fuzz', 'decode-cost', 'bulk', 'evidence'] as const;
type Suite = (typeof SUITES)[number];

function usageError(message: string): never {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function positive(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) usageError(`--${name} must be a positive integer; got ${JSON.stringify(raw)}`);
  return value;
}

function parseCommandLine() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        suite: { type: 'string', default: 'latency,memory,hostile' },
        model: { type: 'string' },
        store: { type: 'string' },
        requests: { type: 'string', default: '40' },
        decoders: { type: 'string', default: 'sharp,jimp' },
        'rss-requests': { type: 'string', default: '1000' },
        'memory-requests': { type: 'string', default: '10000' },
        'fuzz-images': { type: 'string', default: '3000' },
        seed: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (error) {
    usageError((error as Error).message);
  }
  if (parsed.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const suites = parsed.suite
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = suites.filter((name) => !(SUITES as readonly string[]).includes(name));
  if (unknown.length > 0 || suites.length === 0) usageError(`--suite takes ${SUITES.join(', ')}; got ${JSON.stringify(parsed.suite)}`);
  const decoders = parsed.decoders.split(',').map((name) => name.trim());
  if (decoders.some((name) => name !== 'sharp' && name !== 'jimp')) usageError(`--decoders takes sharp and/or jimp; got ${JSON.stringify(parsed.decoders)}`);
  return {
    suites: suites as Suite[],
    model: parsed.model,
    store: parsed.store,
    requests: positive('requests', parsed.requests),
    decoders: decoders as Array<'sharp' | 'jimp'>,
    rssRequests: positive('rss-requests', parsed['rss-requests']),
    memoryRequests: positive('memory-requests', parsed['memory-requests']),
    fuzzImages: positive('fuzz-images', parsed['fuzz-images']),
    seed: positive('seed', parsed.seed),
  };
}

const args = parseCommandLine();
const root = repoRoot();
const requests = args.requests;
/** Requests per measurement that warm caches and JIT before timing starts. */
const WARMUP = 5;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : 'n/a');

/** A photo-like JPEG: a real fixture photo scaled up, with noise so that it does not compress to nothing. */
async function makePhoto(width: number, height: number): Promise<Buffer> {
  const base = await sharp(path.join(root, 'functions', 'test', 'fixtures', 'images', 'photo.jpg'))
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  let seed = width * 31 + height;
  for (let i = 0; i < base.length; i += 1) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    base[i] = Math.max(0, Math.min(255, base[i]! + ((seed >> 16) % 25) - 12));
  }
  return sharp(base, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 88 })
    .toBuffer();
}

function chooseModel(): { store: string; model: string } {
  const store = args.store ?? path.join(root, 'models');
  const wanted = args.model ?? process.env.DEFAULT_MODEL ?? 'general';
  if (fs.existsSync(path.join(store, wanted, 'production.json'))) return { store, model: wanted };
  console.log(`(model "${wanted}" is not in ${store}; benchmarking the test model "brightness" instead)`);
  return { store: path.join(root, 'functions', 'test', 'fixtures', 'models'), model: 'brightness' };
}

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Server {
  child: ChildProcess;
  url: string;
  spawnedAt: number;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  // The framework's CLI (package.json "bin"), the same one `npm start` runs.
  const main = path.join(root, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [main, '--target=app', `--source=${path.join(root, 'dist', 'functions', 'src', 'index.js')}`, `--port=${port}`], {
    // MALLOC_ARENA_MAX as package.json's start script sets it (two glibc arenas: about 50 MB less RSS under load).
    env: { MALLOC_ARENA_MAX: '2', ...process.env, ...env, LOG_LEVEL: 'error', RATE_LIMIT_PER_SECOND: '0', METRICS_SINK: 'none', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, url: `http://127.0.0.1:${port}`, spawnedAt };
}

async function stopServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

async function post(url: string, body: Buffer, type: string): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', body: body as unknown as ArrayBuffer, headers: { 'Content-Type': type } });
  const text = await response.text();
  return { status: response.status, json: text.length > 0 ? JSON.parse(text) : null };
}

/** Polls /predict until it answers 200; returns ms since the process was spawned. */
async function waitForFirstPrediction(server: Server, photo: Buffer): Promise<number> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    try {
      const response = await post(`${server.url}/predict`, photo, 'image/jpeg');
      if (response.status === 200) return performance.now() - server.spawnedAt;
      throw new Error(`first /predict answered ${response.status}: ${JSON.stringify(response.json)}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('first /predict')) throw error;
      if (performance.now() > deadline) throw new Error('the server did not answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

function multipartBatch(images: Buffer[]): { body: Buffer; type: string } {
  const boundary = 'benchboundary7d1f';
  const parts = images.map((image, index) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="images"; filename="${index}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
      image,
      Buffer.from('\r\n'),
    ]),
  );
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

async function latencySuite(store: string, model: string, photos: Map<string, Buffer>): Promise<void> {
  console.log('\n## latency');
  const batch = multipartBatch(Array.from({ length: 20 }, () => photos.get('1000x1000')!));
  const decoders = args.decoders;

  // Bare decode and inference, in-process, through the serving code, with the server's libvips settings.
  sharp.concurrency(1);
  sharp.cache(false);
  const logger = createLogger({ level: 'error' });
  const registry = new ModelRegistry({
    store: new FileBlobStore(store),
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: 1 }),
    refreshMs: 3_600_000,
    logger,
  });
  const loaded = await registry.get(model);

  const rows: string[] = [];
  const summary: Record<string, number> = {};
  for (const decoderName of decoders) {
    const config = loadConfig({ IMAGE_DECODER: decoderName });
    const decoder = createDecoder(config);
    const server = await startServer({ MODEL_STORE: store, DEFAULT_MODEL: model, IMAGE_DECODER: decoderName });
    try {
      const cold = await waitForFirstPrediction(server, photos.get('256x256')!);
      summary[`cold_start_ms/${decoderName}`] = cold;
      // The floor every request pays: loopback HTTP, the framework's middleware and a JSON answer.
      const floor: number[] = [];
      for (let i = 0; i < requests + WARMUP; i += 1) {
        const started = performance.now();
        const response = await fetch(`${server.url}/health`);
        await response.text();
        if (i >= WARMUP) floor.push(performance.now() - started);
      }
      summary[`http_floor_p50_ms/${decoderName}/GET_health`] = percentile(floor, 50);
      for (const [name] of SIZES) {
        const photo = photos.get(name)!;
        const rounds = decoderName === 'jimp' && name !== '256x256' ? Math.max(3, Math.floor(requests / 8)) : requests;
        const times: number[] = [];
        const served = { decode: [] as number[], inference: [] as number[], overhead: [] as number[] };
        const bare = { decode: [] as number[], inference: [] as number[] };
        // Bare and HTTP rounds alternate, so that both see the same load on a shared machine.
        for (let i = 0; i < rounds + WARMUP; i += 1) {
          const scored = await scoreImages(loaded, [{ kind: 'bytes', bytes: photo }], { decoder, fetcher: null, limits: config });
          if (!scored.items[0]!.ok) throw scored.items[0]!.error;
          const started = performance.now();
          const response = await post(`${server.url}/predict`, photo, 'image/jpeg');
          const elapsed = performance.now() - started;
          if (response.status !== 200) throw new Error(`/predict answered ${response.status}: ${JSON.stringify(response.json)}`);
          if (i >= WARMUP) {
            bare.decode.push(scored.decodeMs);
            bare.inference.push(scored.inferenceMs);
            times.push(elapsed);
            // The server's own timings of this request; the rest of its end-to-end time is overhead.
            const timing = (response.json as { timing_ms: { decode: number; inference: number } }).timing_ms;
            served.decode.push(timing.decode);
            served.inference.push(timing.inference);
            served.overhead.push(elapsed - timing.decode - timing.inference);
          }
        }
        const bareDecode = percentile(bare.decode, 50);
        const bareInference = percentile(bare.inference, 50);
        const p50 = percentile(times, 50);
        rows.push(
          `| ${decoderName} | ${name} (${(photo.length / 1024).toFixed(0)} KB) | ${fmt(p50)} | ${fmt(percentile(times, 95))} | ${fmt(percentile(served.decode, 50))} | ${fmt(percentile(served.inference, 50))} | ${fmt(percentile(served.overhead, 50))} | ${fmt(bareDecode)} | ${fmt(bareInference)} | ${(p50 / (bareDecode + bareInference)).toFixed(2)}× | ${times.length} |`,
        );
        summary[`p50_ms/${decoderName}/${name}`] = p50;
      }
      const batchRounds = decoderName === 'jimp' ? 3 : Math.max(5, Math.floor(requests / 4));
      const batchTimes: number[] = [];
      for (let i = 0; i < batchRounds + 1; i += 1) {
        const started = performance.now();
        const response = await post(`${server.url}/batch`, batch.body, batch.type);
        if (response.status !== 200) throw new Error(`/batch answered ${response.status}`);
        if (i >= 1) batchTimes.push(performance.now() - started);
      }
      rows.push(
        `| ${decoderName} | batch of 20 × 1000x1000 | ${fmt(percentile(batchTimes, 50))} | ${fmt(percentile(batchTimes, 95))} | | | | | | | ${batchTimes.length} |`,
      );
      if (decoderName === decoders[0]) {
        const photo = photos.get('1000x1000')!;
        const total = args.rssRequests;
        for (let i = 0; i < total; i += 1) {
          const response = await post(`${server.url}/predict`, photo, 'image/jpeg');
          if (response.status !== 200) throw new Error(`/predict answered ${response.status}`);
        }
        summary[`peak_rss_mb/${decoderName}/after_${total}_requests`] = peakRssMb(server.child.pid!);
      }
    } finally {
      await stopServer(server);
    }
  }

  console.log(
    '\n| decoder | input | HTTP p50 ms | HTTP p95 ms | server decode p50 ms | server inference p50 ms | overhead p50 ms | bare decode p50 ms | bare inference p50 ms | HTTP p50 / (bare decode + inference) | requests |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  console.log('');
  for (const [key, value] of Object.entries(summary)) console.log(`${key}: ${value.toFixed(1)}`);
}

/** Resident set size of a process now, in MB. */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Probe {
  status: number;
  code: string;
}

/** Sends one request with fetch; a refused or dropped connection is status 0. */
async function send(url: string, init: RequestInit & { duplex?: 'half' }): Promise<Probe> {
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    let code = '';
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '';
    } catch {
      code = 'not-json';
    }
    return { status: response.status, code };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, code: `${(error as Error).message}${cause === undefined ? '' : ` (${cause.code ?? cause.message ?? ''})`}` };
  }
}

async function hostileCases(photo: Buffer): Promise<Array<{ name: string; path: string; init: () => RequestInit & { duplex?: 'half' } }>> {
  const avif = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 120, g: 30, b: 200 } } })
    .avif({ effort: 0 })
    .toBuffer();
  const numbers = Buffer.from(`{"images":[${'1,'.repeat(15_000_000)}1]}`);
  const zeros = zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024));
  const json = (body: Buffer | string) => ({ method: 'POST', body: body as unknown as ArrayBuffer, headers: { 'Content-Type': 'application/json' } });
  const form = new FormData();
  for (let i = 0; i < 20; i += 1) form.append('images', new Blob([avif]), `${i}.avif`);
  return [
    { name: `batch of 15 M numbers (${(numbers.length / 2 ** 20).toFixed(0)} MB JSON)`, path: '/batch', init: () => json(numbers) },
    {
      name: `gzip bomb (${(zeros.length / 1024).toFixed(0)} KB → 200 MB)`,
      path: '/predict',
      init: () => ({ method: 'POST', body: zeros, headers: { 'Content-Type': 'image/jpeg', 'Content-Encoding': 'gzip' } }),
    },
    {
      name: 'chunked 100 MB body',
      path: '/predict',
      init: () => ({ method: 'POST', body: chunkedBody(100 * 2 ** 20), duplex: 'half', headers: { 'Content-Type': 'application/octet-stream' } }),
    },
    {
      name: `6000×6000 AVIF (${avif.length} bytes)`,
      path: '/predict',
      init: () => ({ method: 'POST', body: avif, headers: { 'Content-Type': 'image/avif' } }),
    },
    { name: 'batch of 20 × 6000×6000 AVIF', path: '/batch', init: () => ({ method: 'POST', body: form }) },
    { name: 'JSON nested 1 M deep', path: '/predict', init: () => json(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`) },
    {
      name: 'batch of 20 × 2000×2000 photo JPEG (valid, for scale)',
      path: '/batch',
      init: () => ({
        method: 'POST',
        body: multipartBatch(Array.from({ length: 20 }, () => photo)).body as unknown as ArrayBuffer,
        headers: { 'Content-Type': multipartBatch([]).type },
      }),
    },
  ];
}

async function hostileSuite(store: string, model: string, photos: Map<string, Buffer>): Promise<void> {
  console.log('\n## hostile requests (one server; RSS rise = highest RSS during the request − RSS before it)');
  const server = await startServer({ MODEL_STORE: store, DEFAULT_MODEL: model });
  try {
    await waitForFirstPrediction(server, photos.get('256x256')!);
    const pid = server.child.pid!;
    console.log('\n| request | status | code | RSS rise MB | server CPU ms | wall ms |');
    console.log('| --- | ---: | --- | ---: | ---: | ---: |');
    for (const c of await hostileCases(photos.get('2000x2000')!)) {
      const init = c.init();
      const before = rssMb(pid);
      const cpuBefore = cpuMs(pid);
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMb(pid));
      }, 5);
      const started = performance.now();
      const result = await send(`${server.url}${c.path}`, init);
      const wall = performance.now() - started;
      clearInterval(sampler);
      peak = Math.max(peak, rssMb(pid));
      console.log(
        `| ${c.name} | ${result.status} | ${result.code} | ${(peak - before).toFixed(1)} | ${(cpuMs(pid) - cpuBefore).toFixed(0)} | ${wall.toFixed(0)} |`,
      );
    }
  } finally {
    await stopServer(server);
  }
}

async function memorySuite(store: string, model: string, photos: Map<string, Buffer>): Promise<void> {
  const total = args.memoryRequests;
  console.log(`\n## memory: ${total} mixed valid and invalid requests`);
  const server = await startServer({ MODEL_STORE: store, DEFAULT_MODEL: model });
  try {
    await waitForFirstPrediction(server, photos.get('256x256')!);
    const pid = server.child.pid!;
    const seeds: Array<[string, Buffer]> = [...photos.entries()].filter(([name]) => name !== '4000x3000');
    const fuzz = fuzzImages(
      seeds.concat([
        ['avif', await sharp(photos.get('256x256')).avif().toBuffer()],
        ['png', await sharp(photos.get('256x256')).png().toBuffer()],
        ['webp', await sharp(photos.get('256x256')).webp().toBuffer()],
      ]),
      500,
      args.seed,
    );
    const batch = multipartBatch(Array.from({ length: 5 }, () => photos.get('1000x1000')!));
    const kinds: Array<() => RequestInit & { path: string }> = [
      () => ({ path: '/predict', method: 'POST', body: photos.get('1000x1000')! as unknown as ArrayBuffer, headers: { 'Content-Type': 'image/jpeg' } }),
      () => ({ path: '/predict', method: 'POST', body: photos.get('2000x2000')! as unknown as ArrayBuffer, headers: { 'Content-Type': 'image/jpeg' } }),
      () => ({ path: '/batch', method: 'POST', body: batch.body as unknown as ArrayBuffer, headers: { 'Content-Type': batch.type } }),
      () => ({
        path: '/predict',
        method: 'POST',
        body: JSON.stringify({ image: photos.get('256x256')!.toString('base64') }),
        headers: { 'Content-Type': 'application/json' },
      }),
      () => ({ path: '/batch', method: 'POST', body: `{"images":[${'1,'.repeat(5000)}1]}`, headers: { 'Content-Type': 'application/json' } }),
      () => ({ path: '/predict', method: 'POST', body: 'not an image', headers: { 'Content-Type': 'image/png' } }),
      () => ({ path: '/nope', method: 'GET' }),
      () => ({ path: '/health', method: 'GET' }),
    ];
    const samples: Array<[number, number]> = [];
    const statuses = new Map<number, number>();
    let next = 0;
    for (let i = 1; i <= total; i += 1) {
      // Every third request is a fuzzed image, the rest cycle through the kinds above.
      const request =
        i % 3 === 0
          ? {
              path: '/predict',
              method: 'POST',
              body: fuzz[next++ % fuzz.length]!.bytes as unknown as ArrayBuffer,
              headers: { 'Content-Type': 'application/octet-stream' },
            }
          : kinds[i % kinds.length]!();
      const { path: target, ...init } = request;
      const result = await send(`${server.url}${target}`, init);
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      if (i % 500 === 0 || i === total) samples.push([i, rssMb(pid)]);
    }
    console.log(
      `statuses: ${[...statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status}×${count}`)
        .join(', ')}`,
    );
    console.log(`rss_mb by request: ${samples.map(([i, mb]) => `${i}:${mb.toFixed(0)}`).join(' ')}`);
    const half = samples.find(([i]) => i >= total / 2)![1];
    const last = samples[samples.length - 1]![1];
    console.log(`rss_mb_after_${total}_requests: ${last.toFixed(1)}`);
    console.log(`peak_rss_mb: ${peakRssMb(pid).toFixed(1)}`);
    console.log(`rss_growth_over_last_half: ${(((last - half) / half) * 100).toFixed(1)} %`);
  } finally {
    await stopServer(server);
  }
}

async function fuzzSuite(store: string, model: string): Promise<void> {
  const names = FUZZ_SEED_FILES;
  const seeds = names.map((name) => [name, fs.readFileSync(path.join(root, 'functions', 'test', 'fixtures', 'images', name))] as [string, Buffer]);
  const cases = fuzzImages(seeds, args.fuzzImages, args.seed);
  console.log(`\n## fuzz: ${cases.length} mutated images, seed ${args.seed}; every ${FUZZ_BATCH_EVERY}th request a /batch of ${FUZZ_BATCH_SIZE}`);
  const server = await startServer({ MODEL_STORE: store, DEFAULT_MODEL: model });
  try {
    await waitForFirstPrediction(server, seeds[0]![1]);
    const pid = server.child.pid!;
    const rssStart = rssMb(pid);
    const codes = new Map<string, number>();
    const bad: string[] = [];
    const started = performance.now();
    let requests = 0;
    for (let next = 0; next < cases.length; requests += 1) {
      const asBatch = requests % FUZZ_BATCH_EVERY === FUZZ_BATCH_EVERY - 1;
      const group = cases.slice(next, next + (asBatch ? FUZZ_BATCH_SIZE : 1));
      next += group.length;
      const result = asBatch
        ? await send(
            `${server.url}/batch`,
            (() => {
              const batch = multipartBatch(group.map((item) => item.bytes));
              return { method: 'POST', body: batch.body as unknown as ArrayBuffer, headers: { 'Content-Type': batch.type } };
            })(),
          )
        : await send(`${server.url}/predict`, {
            method: 'POST',
            body: group[0]!.bytes as unknown as ArrayBuffer,
            headers: { 'Content-Type': 'application/octet-stream' },
          });
      const key = `${asBatch ? 'batch' : 'predict'} ${result.status} ${result.code || 'ok'}`;
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (result.status === 0 || result.status >= 500) bad.push(`${group.map((item) => item.name).join(',')}: ${key}`);
    }
    for (const [key, count] of [...codes.entries()].sort()) console.log(`${key}: ${count}`);
    console.log(`requests: ${requests}`);
    console.log(`images_per_second: ${(cases.length / ((performance.now() - started) / 1000)).toFixed(1)}`);
    console.log(`failures (5xx or dropped): ${bad.length}${bad.length > 0 ? `\n  ${bad.slice(0, 20).join('\n  ')}` : ''}`);
    console.log(`rss_mb_before: ${rssStart.toFixed(1)}`);
    console.log(`rss_mb_after: ${rssMb(pid).toFixed(1)}`);
    console.log(`peak_rss_mb: ${peakRssMb(pid).toFixed(1)}`);
  } finally {
    await stopServer(server);
  }
}

/** The fuzz suite's mix: 3,000 images in about 2,400 requests, as the fuzz run the RSS target is set for. */
const FUZZ_BATCH_EVERY = 9;
const FUZZ_BATCH_SIZE = 3;

async function decodeCostSuite(): Promise<void> {
  console.log('\n## decode cost per format (sharp, one thread, flat-colour images resized to 128×128)');
  console.log('\n| size | format | bytes | CPU ms | ms per MP |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  sharp.concurrency(1);
  sharp.cache(false);
  for (const [width, height] of [
    [2000, 2000],
    [4000, 3000],
    [6000, 6000],
  ] as const) {
    const base = sharp({ create: { width, height, channels: 3, background: { r: 120, g: 30, b: 200 } } });
    for (const format of ['jpeg', 'png', 'webp', 'avif'] as const) {
      const bytes = await (format === 'avif' ? base.clone().avif({ effort: 0 }) : base.clone()[format]()).toBuffer();
      const before = process.cpuUsage();
      await sharp(bytes, { sequentialRead: true, limitInputPixels: false }).resize(128, 128, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
      const used = process.cpuUsage(before);
      const ms = (used.user + used.system) / 1000;
      console.log(`| ${width}×${height} | ${format} | ${bytes.length} | ${ms.toFixed(0)} | ${(ms / ((width * height) / 1e6)).toFixed(1)} |`);
    }
  }
}

async function bulkSuite(store: string, model: string, photos: Map<string, Buffer>): Promise<void> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bulk-'));
  const photo = photos.get('1000x1000')!;
  for (let i = 0; i < 200; i += 1) fs.writeFileSync(path.join(folder, `${String(i).padStart(4, '0')}.jpg`), photo);
  const config = loadConfig({ MODEL_STORE: store, DEFAULT_MODEL: model });
  console.log(`\n## bulk: detector score --local on 200 × 1000×1000 JPEG (${(photo.length / 1024).toFixed(0)} KB each)`);
  for (const batch of [1, 16]) {
    const out = path.join(folder, `results-${batch}.jsonl`);
    const items = await listSources(folder, storeOpener(config));
    const summary = await runScore({
      items,
      out,
      shard: null,
      groupSize: batch,
      concurrency: 1,
      scorer: localScorer(config, model, createLogger({ level: 'error' }), storeOpener(config)),
      progressStream: { write: () => true },
    });
    console.log(
      `batch ${batch}: ${(summary.scored / summary.seconds).toFixed(1)} images/s (${summary.scored} scored, ${summary.failed} failed, ${summary.seconds.toFixed(1)} s, model load included)`,
    );
  }
  fs.rmSync(folder, { recursive: true, force: true });
}

/** p50 and p95 of `rounds` timed calls of `run`, after WARMUP untimed ones. */
async function timed(rounds: number, run: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < rounds + WARMUP; i += 1) {
    const started = performance.now();
    await run();
    if (i >= WARMUP) times.push(performance.now() - started);
  }
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

/** Signature validation with and without the shipped trust material, and the watermark check per megapixel. */
async function trustAndWatermarkCosts(adobe: Buffer): Promise<void> {
  const evidenceDir = path.join(root, 'functions', 'test', 'fixtures', 'evidence');
  const openai = fs.readFileSync(path.join(evidenceDir, 'openai-gpt-image.png'));
  const trusting = new C2paWasmReader({ trust: () => loadTrustMaterial(new FileBlobStore(path.join(root, 'models', 'trust'))) });
  const trustStarted = performance.now();
  await trusting.warm();
  const trustMs = performance.now() - trustStarted;
  const untrusting = new C2paWasmReader();
  const rounds = Math.max(10, Math.floor(requests / 2));
  console.log('\n| signed file | trust material | validation | p50 ms | p95 ms | calls |');
  console.log('| --- | --- | --- | ---: | ---: | ---: |');
  for (const [name, bytes, format] of [
    ['OpenAI PNG (1.4 MB)', openai, 'png'],
    ['Adobe JPEG (ocsp.jpg)', adobe, 'jpeg'],
  ] as const) {
    for (const [label, reader] of [
      ['none', untrusting],
      ['models/trust', trusting],
    ] as const) {
      const validation = (await extractEvidence(bytes, format, reader)).c2pa.validation;
      const t = await timed(rounds, () => extractEvidence(bytes, format, reader));
      console.log(`| ${name} | ${label} | ${validation} | ${t.p50.toFixed(1)} | ${t.p95.toFixed(1)} | ${rounds} |`);
    }
  }
  console.log(`trust material first load (models/trust, read and handed to the reader): ${trustMs.toFixed(0)} ms`);

  const decoder = createDecoder({ imageDecoder: 'sharp', maxPixels: 40_000_000 });
  console.log('\n| watermark check | stored-pixel decode p50 ms | decoder p50 ms | decoder ms per MP | calls |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [width, height] of [
    [512, 512],
    [1024, 1024],
    [2048, 2048],
  ] as const) {
    const raw = await sharp(await makePhoto(width, height))
      .raw()
      .toBuffer();
    const png = await sharp(raw, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer();
    const header = readImageHeader(png, { maxImageBytes: 64 * 1024 * 1024, maxPixels: 40_000_000, minImageSide: 1 });
    const calls = width > 1024 ? 10 : 20;
    const decode = await timed(calls, () => decoder.decodeStored!(png, header));
    const stored = await decoder.decodeStored!(png, header);
    const check = await timed(calls, () => Promise.resolve(decodeInvisibleWatermark(stored.pixels, stored.width, stored.height)));
    const megapixels = (width * height) / 1e6;
    console.log(`| ${width}×${height} PNG | ${decode.p50.toFixed(1)} | ${check.p50.toFixed(1)} | ${(check.p50 / megapixels).toFixed(1)} | ${calls} |`);
  }
}

async function evidenceSuite(store: string, model: string, photos: Map<string, Buffer>): Promise<void> {
  console.log('\n## evidence: metadata evidence per image (in-process) and /explain (HTTP)');
  const reader = new C2paWasmReader();
  const photo = photos.get('1000x1000')!;
  const signed = fs.readFileSync(path.join(root, 'functions', 'test', 'fixtures', 'evidence', 'ocsp.jpg'));
  const cases: Array<[string, Buffer, 'jpeg' | 'png', number]> = [
    [`1000×1000 JPEG, no manifest (${(photo.length / 1024).toFixed(0)} KB)`, photo, 'jpeg', Math.max(requests * 25, 500)],
    [
      '1000×1000 JPEG with camera EXIF',
      withJpegSegments(photo, [exifSegment({ 0x010f: 'Canon', 0x0110: 'Canon EOS R5' })]),
      'jpeg',
      Math.max(requests * 25, 500),
    ],
    [
      'PNG with 1000 text chunks',
      withPngChunks(
        await picture({ r: 200, g: 200, b: 200 }, 'png'),
        Array.from({ length: 1000 }, (_, i) => tEXt(`note${i}`, `text chunk number ${i}`)),
      ),
      'png',
      Math.max(requests * 5, 200),
    ],
  ];
  const loadStarted = performance.now();
  await reader.warm();
  const loadMs = performance.now() - loadStarted;
  console.log('| image | p50 ms | p95 ms | calls |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, bytes, format, rounds] of cases) {
    const t = await timed(rounds, () => extractEvidence(bytes, format, reader));
    console.log(`| ${name} | ${t.p50.toFixed(3)} | ${t.p95.toFixed(3)} | ${rounds} |`);
  }
  const c2pa = await timed(Math.max(10, Math.floor(requests / 2)), () => extractEvidence(signed, 'jpeg', reader));
  console.log(
    `| signed C2PA JPEG (${(signed.length / 1024).toFixed(0)} KB), WebAssembly reader | ${c2pa.p50.toFixed(1)} | ${c2pa.p95.toFixed(1)} | ${Math.max(10, Math.floor(requests / 2))} |`,
  );
  console.log(
    `C2PA reader first load (import + compile ${(fs.statSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')).size / 1e6).toFixed(1)} MB of WebAssembly): ${loadMs.toFixed(0)} ms`,
  );

  await trustAndWatermarkCosts(signed);

  const server = await startServer({ MODEL_STORE: store, DEFAULT_MODEL: model });
  try {
    await waitForFirstPrediction(server, photos.get('256x256')!);
    console.log(`\n| endpoint (${model}) | image | p50 ms | p95 ms | requests |`);
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const size of ['256x256', '1000x1000']) {
      for (const endpoint of ['predict', 'explain']) {
        const t = await timed(requests, async () => {
          const response = await post(`${server.url}/${endpoint}`, photos.get(size)!, 'image/jpeg');
          if (response.status !== 200) throw new Error(`/${endpoint} answered ${response.status}: ${JSON.stringify(response.json)}`);
        });
        console.log(`| /${endpoint} | ${size} JPEG | ${fmt(t.p50)} | ${fmt(t.p95)} | ${requests} |`);
      }
    }
  } finally {
    await stopServer(server);
  }
}

async function main(): Promise<void> {
  const { store, model } = chooseModel();
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`model: ${model} from ${store}; suites: ${args.suites.join(', ')}`);
  const photos = new Map<string, Buffer>();
  for (const [name, width, height] of SIZES) photos.set(name, await makePhoto(width, height));
  for (const suite of args.suites) {
    if (suite === 'latency') await latencySuite(store, model, photos);
    else if (suite === 'memory') await memorySuite(store, model, photos);
    else if (suite === 'hostile') await hostileSuite(store, model, photos);
    else if (suite === 'fuzz') await fuzzSuite(store, model);
    else if (suite === 'bulk') await bulkSuite(store, model, photos);
    else if (suite === 'evidence') await evidenceSuite(store, model, photos);
    else await decodeCostSuite();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
