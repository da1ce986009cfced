/**
 * `npm run bench`: latency, throughput, cold start and memory of the real server on loopback.
 *
 * For JPEG photos of 256², 1000², 2000² and 4000×3000 pixels and for a batch of 20, it prints
 * p50/p95 latency through real HTTP (a functions-framework process serving `app`) with each
 * decoder, bare decode (header check + decode + resize) and bare inference time in-process, cold
 * start (process spawn to the first 200 from /predict), and peak RSS after 1000 requests.
 *
 * Options: --model <name> (default: DEFAULT_MODEL or shoes; falls back to the test model when the
 * store lacks it), --store <dir>, --requests <n> per size (default 40), --decoders sharp,jimp.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createDecoder } from '../functions/src/app';
import { loadConfig, repoRoot } from '../functions/src/config';
import { createLogger } from '../functions/src/logger';
import { ModelRegistry } from '../functions/src/model/model-registry';
import { createOnnxEngine } from '../functions/src/model/onnx-session';
import { inferBatch, prepareImage } from '../functions/src/scoring/score-images';
import { FileBlobStore } from '../functions/src/storage/file-blob-store';

const SIZES: Array<[string, number, number]> = [
  ['256x256', 256, 256],
  ['1000x1000', 1000, 1000],
  ['2000x2000', 2000, 2000],
  ['4000x3000', 4000, 3000],
];

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    store: { type: 'string' },
    requests: { type: 'string', default: '40' },
    decoders: { type: 'string', default: 'sharp,jimp' },
    'rss-requests': { type: 'string', default: '1000' },
  },
});

const root = repoRoot();
const requests = Number(args.requests);
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
  const base = await sharp(path.join(root, 'functions', 'test', 'fixtures', 'images', 'photo.jpg')).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  let seed = width * 31 + height;
  for (let i = 0; i < base.length; i += 1) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    base[i] = Math.max(0, Math.min(255, base[i]! + ((seed >> 16) % 25) - 12));
  }
  return sharp(base, { raw: { width, height, channels: 3 } }).jpeg({ quality: 88 }).toBuffer();
}

function chooseModel(): { store: string; model: string } {
  const store = args.store ?? path.join(root, 'models');
  const wanted = args.model ?? process.env.DEFAULT_MODEL ?? 'shoes';
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
    env: { ...process.env, ...env, LOG_LEVEL: 'error', RATE_LIMIT_PER_SECOND: '0', METRICS_SINK: 'none', PORT: String(port) },
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

async function main(): Promise<void> {
  const { store, model } = chooseModel();
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  console.log(`model: ${model} from ${store}`);
  const photos = new Map<string, Buffer>();
  for (const [name, width, height] of SIZES) photos.set(name, await makePhoto(width, height));
  const batch = multipartBatch(Array.from({ length: 20 }, () => photos.get('1000x1000')!));
  const decoders = args.decoders.split(',').map((name) => name.trim()) as Array<'sharp' | 'jimp'>;

  // Bare decode and inference, in-process, through the serving code.
  const logger = createLogger({ level: 'error' });
  const registry = new ModelRegistry({ store: new FileBlobStore(store), createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: 1 }), refreshMs: 3_600_000, logger });
  const loaded = await registry.get(model);
  const bare = new Map<string, { decode: number; inference: number }>();
  for (const decoderName of decoders) {
    const config = loadConfig({ IMAGE_DECODER: decoderName });
    const decoder = createDecoder(config);
    for (const [name] of SIZES) {
      const photo = photos.get(name)!;
      const rounds = decoderName === 'jimp' && name !== '256x256' ? Math.max(3, Math.floor(requests / 8)) : requests;
      const decodeTimes: number[] = [];
      const inferenceTimes: number[] = [];
      for (let i = 0; i < rounds + WARMUP; i += 1) {
        const started = performance.now();
        const prepared = await prepareImage(photo, loaded, decoder, config);
        const decoded = performance.now();
        await inferBatch(loaded, [prepared]);
        if (i >= WARMUP) {
          decodeTimes.push(decoded - started);
          inferenceTimes.push(performance.now() - decoded);
        }
      }
      bare.set(`${decoderName}/${name}`, { decode: percentile(decodeTimes, 50), inference: percentile(inferenceTimes, 50) });
    }
  }

  const rows: string[] = [];
  const summary: Record<string, number> = {};
  for (const decoderName of decoders) {
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
        for (let i = 0; i < rounds + WARMUP; i += 1) {
          const started = performance.now();
          const response = await post(`${server.url}/predict`, photo, 'image/jpeg');
          if (response.status !== 200) throw new Error(`/predict answered ${response.status}: ${JSON.stringify(response.json)}`);
          if (i >= WARMUP) times.push(performance.now() - started);
        }
        const b = bare.get(`${decoderName}/${name}`)!;
        const p50 = percentile(times, 50);
        rows.push(`| ${decoderName} | ${name} (${(photo.length / 1024).toFixed(0)} KB) | ${fmt(p50)} | ${fmt(percentile(times, 95))} | ${fmt(b.decode)} | ${fmt(b.inference)} | ${(p50 / (b.decode + b.inference)).toFixed(2)}× | ${times.length} |`);
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
      rows.push(`| ${decoderName} | batch of 20 × 1000x1000 | ${fmt(percentile(batchTimes, 50))} | ${fmt(percentile(batchTimes, 95))} | | | | ${batchTimes.length} |`);
      if (decoderName === decoders[0]) {
        const photo = photos.get('1000x1000')!;
        const total = Number(args['rss-requests']);
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

  console.log('\n| decoder | input | HTTP p50 ms | HTTP p95 ms | bare decode p50 ms | bare inference p50 ms | HTTP p50 / (decode + inference) | requests |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
  console.log('');
  for (const [key, value] of Object.entries(summary)) console.log(`${key}: ${value.toFixed(1)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
