/**
 * Step 2, train: run the Python trainer with a progress bar (skipped for a completed run), then
 * measure the model's accuracy after JPEG re-encoding when the run has not already.
 */
import * as path from 'node:path';
import { measureRobustness } from '../robustness';
import { readRunDir, type RunDir } from '../run-dir';
import { quoteArgument, runTrainer } from '../run-trainer';
import type { StepContext } from './step-context';

export interface TrainStepInput {
  existingRun: RunDir | null;
  localRoot: string;
  /** python3 arguments (buildTrainerArgs), writing into <workDir>/run. */
  trainerArgs: string[];
}

export async function trainStep(input: TrainStepInput, context: StepContext): Promise<RunDir> {
  const { options, deps, step } = context;
  let runDir: RunDir;
  if (input.existingRun !== null) {
    step('train', `skipped: evaluating the completed run ${input.existingRun.dir}`);
    runDir = input.existingRun;
  } else {
    const logFile = path.join(options.workDir, 'train.log');
    step('train', `running ${[options.python, ...input.trainerArgs].map(quoteArgument).join(' ')}`, { log: logFile });
    const result = await runTrainer({
      command: options.python,
      args: input.trainerArgs,
      cwd: deps.repoRoot,
      logFile,
      progressStream: deps.progressStream,
      progressIntervalMs: options.progressIntervalMs,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    step('train', `done in ${result.seconds.toFixed(1)}s`, { best_epoch: result.done.best_epoch, best_val: result.done.best_val });
    runDir = await readRunDir(path.join(options.workDir, 'run'));
  }
  if (runDir.robustness === null && options.robustnessQuality !== null) {
    step('train', `measuring accuracy after JPEG re-encoding at quality ${options.robustnessQuality}`);
    runDir.robustness = await measureRobustness({
      python: options.python,
      cwd: deps.repoRoot,
      runDir: runDir.dir,
      datasetRoot: input.localRoot,
      quality: options.robustnessQuality,
      threads: options.trainer.threads,
      logFile: path.join(options.workDir, 'train.log'),
    });
    step('train', `JPEG q${runDir.robustness.quality}: accuracy drops ${runDir.robustness.drop_points.toFixed(2)} points`);
  }
  return runDir;
}
