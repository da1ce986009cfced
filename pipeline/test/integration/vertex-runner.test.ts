/**
 * The Vertex AI runner through the production adapter (@google-cloud/aiplatform over REST) against a
 * local server speaking the Vertex AI REST protocol, with the staging bucket on the local Cloud
 * Storage server. The "job" is the test: as the server is polled, it writes what the trainer in the
 * container would write through /gcs/… (train_log.jsonl, then the run folder). Covers success (state
 * and log lines followed, run folder fetched), a failed job, a refused create (quota), cancellation,
 * and a whole pipeline run that publishes — or, when the job fails, publishes nothing.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GcsBlobStore } from '../../../functions/src/platform/storage/gcs-blob-store';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { startGcsServer, type GcsServer } from '../../../functions/test/support/gcs-server';
import { parseCommandLine } from '../../src/cli';
import { isPipelineError } from '../../src/errors';
import { runPipeline } from '../../src/pipeline';
import type { TrainerJob } from '../../src/trainer/trainer-runner';
import { trainerJob } from '../../src/training-jobs';
import { AiplatformCustomJobService } from '../../src/vertex/aiplatform-custom-job-service';
import type { VertexSettings } from '../../src/vertex/custom-job-request';
import { VertexTrainerRunner } from '../../src/vertex/vertex-trainer-runner';
import { generateImages, writeDataset } from '../support/datasets';
import { splitOf, writeFakeRun } from '../support/fake-run';
import { type JobScript, startVertexServer, type VertexServer } from '../support/vertex-server';

const BUCKET = 'demo-data';
const SETTINGS: VertexSettings = {
  project: 'demo-project',
  region: 'europe-west1',
  staging: `gs://${BUCKET}/vertex-staging`,
  image: 'europe-west1-docker.pkg.dev/demo-project/detector-training/training-cuda:t1',
  serviceAccount: 'detector-vertex@demo-project.iam.gserviceaccount.com',
  compute: {},
  timeoutSeconds: 3600,
};

let root: string;
let gcs: GcsServer;
let files: Record<string, Buffer>;
let localDataset: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'vertex-runner-'));
  gcs = await startGcsServer();
  files = await generateImages({ train: { REAL: 8, FAKE: 8 }, val: { REAL: 6, FAKE: 6 } }, { formats: ['png'] });
  localDataset = writeDataset(path.join(root, 'dataset'), files);
  for (const [key, bytes] of Object.entries(files)) gcs.put(BUCKET, `datasets/tiny/1/${key}`, bytes);
  gcs.put(BUCKET, 'datasets/tiny/1/dataset.json', readFileSync(path.join(localDataset, 'dataset.json')));
});

afterAll(async () => {
  await gcs.close();
  rmSync(root, { recursive: true, force: true });
});

const line = (value: object) => `${JSON.stringify(value)}\n`;
const START = line({ event: 'start', total_steps: 4, epochs: 1 });
const STEP = line({ event: 'step', epoch: 1, step: 2, total_steps: 4, loss: 0.5, images_per_s: 900 });
const DONE = line({ event: 'done', best_epoch: 1, best_val: { accuracy: 1 }, seconds: 3 });

/** What the container writes under the stage's run folder, as the job goes on. */
function container(runPrefix: string, runFolder: string | null): JobScript {
  return (_job, read) => {
    if (read === 1) return { state: 'JOB_STATE_PENDING' };
    if (read === 2) {
      gcs.put(BUCKET, `${runPrefix}/train_log.jsonl`, START + STEP);
      return { state: 'JOB_STATE_RUNNING' };
    }
    gcs.put(BUCKET, `${runPrefix}/train_log.jsonl`, START + STEP + DONE);
    if (runFolder !== null) {
      for (const name of [
        'model.onnx',
        'metadata.json',
        'split.json',
        'torch_eval.json',
        'training.json',
        'parity/inputs.f32',
        'parity/logits.f32',
        'parity/meta.json',
      ]) {
        gcs.put(BUCKET, `${runPrefix}/${name}`, readFileSync(path.join(runFolder, name)));
      }
    }
    return { state: 'JOB_STATE_SUCCEEDED' };
  };
}

function runner(server: VertexServer, runId: string, progress: { text: string }): VertexTrainerRunner {
  return new VertexTrainerRunner({
    settings: SETTINGS,
    service: new AiplatformCustomJobService({ region: SETTINGS.region, apiEndpoint: server.url }),
    staging: new GcsBlobStore({ bucket: BUCKET, prefix: 'vertex-staging', apiEndpoint: gcs.url }),
    model: 'tiny',
    runId,
    progressStream: { write: (text: string) => (progress.text += text) },
    progressIntervalMs: 1,
    pollIntervalMs: 1,
  });
}

function job(runId: string, initFrom: string | null = null): TrainerJob {
  const parsed = parseCommandLine(['--dataset', `gs://${BUCKET}/datasets/tiny/1`, '--name', 'tiny', '--work-dir', path.join(root, runId), '--epochs', '1'], {
    config: loadPipelineSettings({ MODEL_STORE: path.join(root, 'models') }),
    repoRoot: root,
    now: new Date(),
    systemPython: true,
  });
  if (parsed.help) throw new Error('unexpected --help');
  return trainerJob(parsed.options, { stage: 'train', dataset: { uri: `gs://${BUCKET}/datasets/tiny/1`, local: null }, initFrom });
}

describe('VertexTrainerRunner', () => {
  it('creates the job, follows its states and log lines, and fetches the run folder', async () => {
    const progress = { text: '' };
    const server = await startVertexServer({ script: container('vertex-staging/ok/train/run', null) });
    try {
      const run = await runner(server, 'ok', progress).run(job('ok', `gs://${BUCKET}/vertex-staging/ok/pretrain/run/checkpoint.pt`));
      expect(run.done.best_epoch).toBe(1);
      expect(run.checkpoint).toBe(`gs://${BUCKET}/vertex-staging/ok/train/run/checkpoint.pt`);
      expect(server.jobs).toHaveLength(1);
      const sent = server.jobs[0]!.request as {
        displayName: string;
        jobSpec: {
          workerPoolSpecs: Array<{ machineSpec: Record<string, unknown>; containerSpec: { args: string[]; imageUri: string } }>;
          serviceAccount: string;
        };
      };
      expect(sent.displayName).toBe('detector-tiny-train-ok');
      const pool = sent.jobSpec.workerPoolSpecs[0]!;
      expect(pool.machineSpec.machineType).toBe('g2-standard-8');
      // The REST client sends enums as numbers (NVIDIA_L4 is 11 in google.cloud.aiplatform.v1.AcceleratorType).
      expect([11, 'NVIDIA_L4']).toContain(pool.machineSpec.acceleratorType);
      expect(pool.containerSpec.imageUri).toBe(SETTINGS.image);
      expect(pool.containerSpec.args.join(' ')).toContain(`--dataset /gcs/${BUCKET}/datasets/tiny/1 --out /gcs/${BUCKET}/vertex-staging/ok/train/run`);
      expect(pool.containerSpec.args.join(' ')).toContain(`--init-from /gcs/${BUCKET}/vertex-staging/ok/pretrain/run/checkpoint.pt`);
      expect(pool.containerSpec.args.slice(-2)).toEqual(['--device', 'cuda']);
      expect(sent.jobSpec.serviceAccount).toBe(SETTINGS.serviceAccount);
      expect(server.requests.map((request) => `${request.method} ${request.path.split('?')[0]}`)).toEqual([
        'POST /v1/projects/demo-project/locations/europe-west1/customJobs',
        ...Array(3).fill('GET /v1/projects/demo-project/locations/europe-west1/customJobs/1000'),
      ]);
      expect(progress.text).toContain('Vertex AI job projects/demo-project/locations/europe-west1/customJobs/1000 is JOB_STATE_RUNNING');
      expect(progress.text).toContain('train: 4 steps planned');
      expect(readFileSync(path.join(root, 'ok', 'run', 'train_log.jsonl'), 'utf8')).toBe(START + STEP + DONE);
      const log = readFileSync(path.join(root, 'ok', 'train.log'), 'utf8');
      expect(log).toContain('"machineType": "g2-standard-8"');
      expect(log).toContain('JOB_STATE_SUCCEEDED');
      expect(log.match(/"event":"step"/g)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('uploads a local --init-from checkpoint next to the stage', async () => {
    const server = await startVertexServer({ script: container('vertex-staging/init/train/run', null) });
    try {
      const checkpoint = path.join(root, 'local-checkpoint.pt');
      writeFileSync(checkpoint, 'weights');
      await runner(server, 'init', { text: '' }).run(job('init', checkpoint));
      expect(gcs.get(BUCKET, 'vertex-staging/init/train/init/checkpoint.pt')?.toString()).toBe('weights');
      const args = (server.jobs[0]!.request as { jobSpec: { workerPoolSpecs: Array<{ containerSpec: { args: string[] } }> } }).jobSpec.workerPoolSpecs[0]!
        .containerSpec.args;
      expect(args.join(' ')).toContain(`--init-from /gcs/${BUCKET}/vertex-staging/init/train/init/checkpoint.pt`);
    } finally {
      await server.close();
    }
  });

  it('ends with a training failure that carries the job error and the trainer message', async () => {
    const server = await startVertexServer({
      script: (_job, read) => {
        if (read === 1) {
          gcs.put(BUCKET, 'vertex-staging/failed/train/run/train_log.jsonl', START + line({ event: 'error', message: 'RuntimeError: CUDA out of memory' }));
          return { state: 'JOB_STATE_RUNNING' };
        }
        return { state: 'JOB_STATE_FAILED', error: { code: 3, message: 'The replica workerpool0-0 exited with a non-zero status of 1.' } };
      },
    });
    try {
      const failure = runner(server, 'failed', { text: '' }).run(job('failed'));
      await expect(failure).rejects.toMatchObject({ code: 'training_failed' });
      await expect(failure).rejects.toThrow(/JOB_STATE_FAILED: The replica workerpool0-0 exited.*the trainer reported: RuntimeError: CUDA out of memory/);
      expect(existsSync(path.join(root, 'failed', 'run'))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('says what to do when the quota refuses the job', async () => {
    const server = await startVertexServer({ script: () => ({ state: 'JOB_STATE_SUCCEEDED' }) });
    try {
      server.failNextCreate(
        429,
        'RESOURCE_EXHAUSTED',
        'The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus',
      );
      const failure = runner(server, 'quota', { text: '' }).run(job('quota'));
      await expect(failure).rejects.toMatchObject({ code: 'training_failed' });
      await expect(failure).rejects.toThrow(
        /quota exhausted for g2-standard-8 with 1× NVIDIA_L4 in europe-west1 \(RESOURCE_EXHAUSTED\).*custom_model_training_nvidia_l4_gpus/,
      );
      expect(server.jobs).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('cancels the job when the run is interrupted, and waits for it to stop', async () => {
    const controller = new AbortController();
    const server = await startVertexServer({
      script: () => {
        controller.abort();
        return { state: 'JOB_STATE_RUNNING' };
      },
    });
    try {
      const failure = runner(server, 'cancel', { text: '' }).run(job('cancel'), controller.signal);
      await expect(failure).rejects.toThrow(/was cancelled/);
      expect(
        server.requests.some(
          (request) => request.method === 'POST' && request.path.startsWith('/v1/projects/demo-project/locations/europe-west1/customJobs/1000:cancel'),
        ),
      ).toBe(true);
      expect(server.jobs[0]!.state).toBe('JOB_STATE_CANCELLED');
    } finally {
      await server.close();
    }
  });
});

describe('the pipeline with --runner vertex', () => {
  async function pipeline(server: VertexServer, runId: string) {
    const settings = loadPipelineSettings({
      MODEL_STORE: path.join(root, 'models'),
      STORAGE_API_ENDPOINT: gcs.url,
      GOOGLE_CLOUD_PROJECT: 'demo-project',
      LOG_LEVEL: 'error',
      METRICS_SINK: 'none',
    });
    const argv = [
      ...['--dataset', `gs://${BUCKET}/datasets/tiny/1`, '--name', 'tiny', '--work-dir', path.join(root, runId), '--cache-dir', path.join(root, 'cache')],
      ...['--runner', 'vertex', '--vertex-staging', SETTINGS.staging, '--vertex-image', SETTINGS.image],
      ...['--min-train-per-class', '4', '--min-eval-per-class', '4', '--no-robustness', '--max-ece', '0.2'],
    ];
    const parsed = parseCommandLine(argv, { config: settings, repoRoot: root, now: new Date('2026-12-01T10:00:00Z'), systemPython: true });
    if (parsed.help) throw new Error('unexpected --help');
    const staging = new GcsBlobStore({ bucket: BUCKET, prefix: 'vertex-staging', apiEndpoint: gcs.url });
    return runPipeline(parsed.options, {
      config: settings,
      logger: createMemoryLogger(),
      progressStream: { write: () => true },
      repoRoot: root,
      now: () => new Date('2026-12-01T10:00:00Z'),
      trainerRunner: new VertexTrainerRunner({
        settings: parsed.options.vertex!,
        service: new AiplatformCustomJobService({ region: 'europe-west1', apiEndpoint: server.url }),
        staging,
        model: 'tiny',
        runId,
        progressStream: { write: () => true },
        progressIntervalMs: 1,
        pollIntervalMs: 1,
      }),
    });
  }

  it('trains on Vertex AI, then evaluates, gates and publishes here', async () => {
    const fakeRun = await writeFakeRun(path.join(root, 'fake-run'), { datasetRoot: localDataset, split: splitOf(files) });
    const server = await startVertexServer({ script: container('vertex-staging/publish/train/run', fakeRun) });
    try {
      const result = await pipeline(server, 'publish');
      expect(result.status).toBe('published');
      expect(readdirSync(path.join(root, 'publish', 'run')).sort()).toEqual([
        'metadata.json',
        'model.onnx',
        'parity',
        'split.json',
        'torch_eval.json',
        'train_log.jsonl',
        'training.json',
      ]);
      expect(existsSync(path.join(root, 'models', 'tiny', 'production.json'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('publishes nothing when the job fails', async () => {
    const before = readdirSync(path.join(root, 'models', 'tiny')).sort();
    const server = await startVertexServer({ script: () => ({ state: 'JOB_STATE_FAILED', error: { code: 14, message: 'The worker was preempted.' } }) });
    try {
      const error = await pipeline(server, 'preempted').catch((caught: unknown) => caught);
      expect(isPipelineError(error) && error.code).toBe('training_failed');
      expect((error as Error).message).toContain('had no capacity or the worker was preempted (UNAVAILABLE)');
      expect(readdirSync(path.join(root, 'models', 'tiny')).sort()).toEqual(before);
    } finally {
      await server.close();
    }
  });
});
