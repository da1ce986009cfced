/**
 * TrainerRunner on Vertex AI: each training stage is a custom job on a GPU worker pool running the
 * CUDA training image. The job reads the dataset and writes its run folder through the Cloud
 * Storage mount (/gcs/…) under <staging>/<run id>/<stage>/run/; the runner follows the job's state
 * and the run's train_log.jsonl (the trainer rewrites it after every line, so it is current in the
 * bucket) into the same progress display as a local run, then copies the run folder into the local
 * work folder for evaluate → reference → gate → publish. A job that fails, is cancelled, expires or
 * cannot be created ends the stage with TrainingFailedError, before anything is published.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { type BlobStore, FileBlobStore, isBlobNotFound } from '../../../functions/src/platform';
import { TrainingFailedError, UsageError } from '../errors';
import { Progress, type ProgressStream } from '../progress';
import type { RecipeCompute } from '../recipe';
import { quoteArgument, type TrainerEvent, TrainerEventFollower } from '../trainer/trainer-process';
import type { TrainerJob, TrainerRun, TrainerRunner } from '../trainer/trainer-runner';
import { buildCustomJobRequest, fusePath, resolveCompute, type VertexSettings } from './custom-job-request';
import { type CustomJobService, CustomJobServiceError, type CustomJobStatus, TERMINAL_STATES } from './custom-job-service';

export interface VertexTrainerRunnerOptions {
  settings: VertexSettings;
  service: CustomJobService;
  /** The staging prefix (settings.staging) as a store. */
  staging: BlobStore;
  model: string;
  /** Names this run's folder under the staging prefix, e.g. shoes-20261201T100000Z. */
  runId: string;
  progressStream: ProgressStream;
  progressIntervalMs: number;
  /** Between two reads of the job (default 15 s). */
  pollIntervalMs?: number;
  /** Waits `ms`, resolving early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** What a failed job or refused call means for the person running the pipeline. */
export function describeJobFailure(code: number | null, message: string, compute: RecipeCompute, region: string): string {
  const machine = `${compute.machine_type}${compute.accelerator_type === undefined ? '' : ` with ${compute.accelerator_count ?? 1}× ${compute.accelerator_type}`}`;
  switch (code) {
    case 8:
      return `Vertex AI quota exhausted for ${machine} in ${region} (RESOURCE_EXHAUSTED): request more quota (IAM & Admin → Quotas, "Custom model training ${compute.accelerator_type ?? 'CPU'}"), or choose another region or accelerator (--vertex-region, --accelerator-type); ${message}`;
    case 7:
      return `Vertex AI refused the job (PERMISSION_DENIED): the identity running the pipeline needs roles/aiplatform.user and roles/iam.serviceAccountUser on the job's service account; ${message}`;
    case 14:
      return `Vertex AI had no capacity or the worker was preempted (UNAVAILABLE): run the pipeline again, or choose another region or accelerator; ${message}`;
    case 4:
      return `the Vertex AI job ran past its timeout (DEADLINE_EXCEEDED): raise --vertex-timeout or train fewer epochs; ${message}`;
    case 3:
      return `Vertex AI rejected the job request (INVALID_ARGUMENT): ${message}`;
    default:
      return `the Vertex AI job failed${code === null ? '' : ` (code ${code})`}: ${message}`;
  }
}

export class VertexTrainerRunner implements TrainerRunner {
  readonly name = 'vertex';
  readonly needsLocalDataset = false;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly options: VertexTrainerRunnerOptions) {
    this.sleep = options.sleep ?? defaultSleep;
  }

  private stageKey(job: TrainerJob): string {
    return `${this.options.runId}/${job.stage}`;
  }

  private stageUri(job: TrainerJob): string {
    return `${this.options.settings.staging.replace(/\/+$/, '')}/${this.stageKey(job)}`;
  }

  /** The dataset as the job sees it: a gs:// one in place, a local one (a merge with feedback) uploaded beside the stage. */
  private datasetUri(job: TrainerJob): string {
    if (/^gs:\/\//i.test(job.dataset.uri)) return job.dataset.uri;
    if (job.dataset.local === null)
      throw new UsageError(
        `--runner vertex trains on a dataset in Cloud Storage; ${job.dataset.uri} is local: upload it first (scripts/ops/upload-dataset.ts)`,
      );
    return `${this.stageUri(job)}/dataset`;
  }

  private containerArgs(job: TrainerJob, initFrom: string | null): string[] {
    return job.buildArgs({ dataset: fusePath(this.datasetUri(job)), out: fusePath(`${this.stageUri(job)}/run`), initFrom });
  }

  private async uploadDataset(job: TrainerJob): Promise<void> {
    if (/^gs:\/\//i.test(job.dataset.uri) || job.dataset.local === null) return;
    const local = new FileBlobStore(job.dataset.local);
    for (const blob of await local.list('')) {
      await this.options.staging.write(`${this.stageKey(job)}/dataset/${blob.key}`, await local.read(blob.key));
    }
  }

  describe(job: TrainerJob): string {
    const compute = resolveCompute(this.options.settings.compute, job.compute);
    const initFrom =
      job.initFrom === null ? null : /^gs:\/\//i.test(job.initFrom) ? fusePath(job.initFrom) : fusePath(`${this.stageUri(job)}/init/checkpoint.pt`);
    const machine = `${compute.machine_type}${compute.accelerator_type === undefined ? '' : ` + ${compute.accelerator_count ?? 1}× ${compute.accelerator_type}`}`;
    return `Vertex AI custom job in ${this.options.settings.region} on ${machine}: python3 ${this.containerArgs(job, initFrom).map(quoteArgument).join(' ')}`;
  }

  async run(job: TrainerJob, signal?: AbortSignal): Promise<TrainerRun> {
    const { settings, service, staging } = this.options;
    const started = Date.now();
    const compute = resolveCompute(settings.compute, job.compute);
    const initFrom = await this.stageInitFrom(job);
    await this.uploadDataset(job);
    const args = this.containerArgs(job, initFrom);
    const request = buildCustomJobRequest({
      settings,
      recipeCompute: job.compute,
      model: this.options.model,
      stage: job.stage,
      runId: this.options.runId,
      args,
      stageUri: this.stageUri(job),
    });
    await mkdir(path.dirname(job.logFile), { recursive: true });
    await writeFile(job.logFile, `# Vertex AI custom job request\n${JSON.stringify(request, null, 2)}\n`);
    const parent = `projects/${settings.project}/locations/${settings.region}`;
    const fail = (code: number | null, message: string): TrainingFailedError =>
      new TrainingFailedError(`${job.stage}: ${describeJobFailure(code, message, compute, settings.region)}; log: ${job.logFile}`);

    let status: CustomJobStatus;
    try {
      status = await service.create(parent, request);
    } catch (error) {
      if (error instanceof CustomJobServiceError) throw fail(error.code, error.message);
      throw error;
    }
    await appendFile(job.logFile, `# created ${status.name}\n`);
    const progress = new Progress({ stream: this.options.progressStream, label: 'train: step', intervalMs: this.options.progressIntervalMs });
    progress.note(`train: Vertex AI job ${status.name} is ${status.state}`);
    const follower = new TrainerEventFollower(progress);
    const logKey = `${this.stageKey(job)}/run/train_log.jsonl`;
    let linesSeen = 0;
    const followLog = async (): Promise<void> => {
      const text = await readOptional(staging, logKey);
      if (text === null) return;
      const lines = text.split('\n').filter((line) => line.length > 0);
      const fresh = lines.slice(linesSeen);
      linesSeen = lines.length;
      if (fresh.length > 0) await appendFile(job.logFile, `${fresh.join('\n')}\n`);
      for (const line of fresh) follower.line(line);
    };

    let cancelled = false;
    try {
      let lastState = status.state;
      while (!TERMINAL_STATES.has(status.state)) {
        if (signal?.aborted === true && !cancelled) {
          cancelled = true;
          progress.note(`train: cancelling Vertex AI job ${status.name}`);
          await service.cancel(status.name);
        }
        await this.sleep(this.options.pollIntervalMs ?? 15_000, cancelled ? undefined : signal);
        status = await service.get(status.name);
        if (status.state !== lastState) {
          progress.note(`train: Vertex AI job ${status.name} is ${status.state}`);
          await appendFile(job.logFile, `# ${new Date().toISOString()} ${status.state}\n`);
          lastState = status.state;
        }
        await followLog();
      }
      await followLog();
    } catch (error) {
      if (error instanceof CustomJobServiceError) throw fail(error.code, error.message);
      throw error;
    } finally {
      progress.finish();
    }

    if (status.state !== 'JOB_STATE_SUCCEEDED') {
      if (cancelled || status.state === 'JOB_STATE_CANCELLED') throw fail(1, `job ${status.name} was cancelled`);
      const reported = follower.events.find((event): event is Extract<TrainerEvent, { event: 'error' }> => event.event === 'error');
      throw fail(
        status.error?.code ?? null,
        `job ${status.name} ended ${status.state}${status.error === null ? '' : `: ${status.error.message}`}${reported === undefined ? '' : `; the trainer reported: ${reported.message}`}`,
      );
    }
    await this.fetchRun(job);
    const done = follower.events.find((event): event is Extract<TrainerEvent, { event: 'done' }> => event.event === 'done');
    if (done === undefined) throw fail(null, `job ${status.name} succeeded but its ${logKey} has no "done" event`);
    return { events: follower.events, done, seconds: (Date.now() - started) / 1000, checkpoint: `${this.stageUri(job)}/run/checkpoint.pt` };
  }

  /** A local --init-from is uploaded next to the stage; a gs:// one (an earlier stage's) is read in place. */
  private async stageInitFrom(job: TrainerJob): Promise<string | null> {
    if (job.initFrom === null) return null;
    if (/^gs:\/\//i.test(job.initFrom)) return fusePath(job.initFrom);
    await this.options.staging.write(`${this.stageKey(job)}/init/checkpoint.pt`, await readFile(job.initFrom));
    return fusePath(`${this.stageUri(job)}/init/checkpoint.pt`);
  }

  /** Copies <stage>/run/** from the bucket into job.outDir. */
  private async fetchRun(job: TrainerJob): Promise<void> {
    const prefix = `${this.stageKey(job)}/run/`;
    const blobs = await this.options.staging.list(prefix);
    for (const blob of blobs) {
      const target = path.join(job.outDir, ...blob.key.slice(prefix.length).split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await this.options.staging.read(blob.key));
    }
  }
}

async function readOptional(store: BlobStore, key: string): Promise<string | null> {
  try {
    return (await store.read(key)).toString('utf8');
  } catch (error) {
    if (isBlobNotFound(error)) return null;
    throw error;
  }
}
