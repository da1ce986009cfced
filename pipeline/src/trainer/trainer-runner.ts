/**
 * TrainerRunner: the port through which the pipeline runs one training stage of `python3 -m
 * training.train` and gets its run folder into a local folder. Adapters: LocalTrainerRunner (a
 * child process on this machine, the default) and VertexTrainerRunner (a Vertex AI custom job,
 * pipeline/src/vertex/vertex-trainer-runner.ts).
 */
import * as path from 'node:path';
import type { RecipeCompute } from '../recipe';
import { quoteArgument, runTrainer, type TrainerResult } from './trainer-process';
import type { ProgressStream } from '../progress';

/** Where the trainer, wherever it runs, sees its dataset, its output folder and --init-from. */
export interface TrainerPaths {
  dataset: string;
  out: string;
  initFrom: string | null;
}

export interface TrainerJob {
  /** 'pretrain' for a recipe's pre-training stage, 'train' for the model itself. */
  stage: 'pretrain' | 'train';
  /** python3 arguments for a trainer that sees `paths`. */
  buildArgs: (paths: TrainerPaths) => string[];
  /** The dataset: its location (folder or gs://) and a local copy, where one was made. */
  dataset: { uri: string; local: string | null };
  /** Local folder where the finished run folder must be. */
  outDir: string;
  /** A local checkpoint, or an earlier stage's `checkpoint`. */
  initFrom: string | null;
  /** Every line of the trainer's output. */
  logFile: string;
  /** The worker pool a remote runner asks for. */
  compute: RecipeCompute | null;
}

export interface TrainerRun extends TrainerResult {
  /** What a later stage's --init-from names to start from this stage's checkpoint.pt. */
  checkpoint: string;
}

export interface TrainerRunner {
  readonly name: 'local' | 'vertex';
  /** Whether the runner needs local copies of gs:// datasets (the local one does). */
  readonly needsLocalDataset: boolean;
  run(job: TrainerJob, signal?: AbortSignal): Promise<TrainerRun>;
  /** The command it will run, for the plan and the log. */
  describe(job: TrainerJob): string;
}

export interface LocalTrainerRunnerOptions {
  python: string;
  cwd: string;
  progressStream: ProgressStream;
  progressIntervalMs: number;
}

export class LocalTrainerRunner implements TrainerRunner {
  readonly name = 'local';
  readonly needsLocalDataset = true;

  constructor(private readonly options: LocalTrainerRunnerOptions) {}

  private argsOf(job: TrainerJob): string[] {
    if (job.dataset.local === null) throw new Error(`the local trainer needs a local copy of ${job.dataset.uri}`);
    return job.buildArgs({ dataset: job.dataset.local, out: job.outDir, initFrom: job.initFrom });
  }

  describe(job: TrainerJob): string {
    return [this.options.python, ...this.argsOf(job)].map(quoteArgument).join(' ');
  }

  async run(job: TrainerJob, signal?: AbortSignal): Promise<TrainerRun> {
    const result = await runTrainer({
      command: this.options.python,
      args: this.argsOf(job),
      cwd: this.options.cwd,
      logFile: job.logFile,
      progressStream: this.options.progressStream,
      progressIntervalMs: this.options.progressIntervalMs,
      ...(signal === undefined ? {} : { signal }),
    });
    return { ...result, checkpoint: path.join(job.outDir, 'checkpoint.pt') };
  }
}
