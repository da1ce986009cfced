/** Chooses the trainer runner of --runner: this machine (local) or Vertex AI custom jobs (vertex). */
import * as path from 'node:path';
import { openBlobStore, type OpenBlobStoreOptions } from '../../../functions/src/platform';
import type { PipelineDeps, PipelineOptions } from '../steps/step-context';
import { LocalTrainerRunner, type TrainerRunner } from './trainer-runner';
import { AiplatformCustomJobService } from '../vertex/aiplatform-custom-job-service';
import { VertexTrainerRunner } from '../vertex/vertex-trainer-runner';

export function chooseTrainerRunner(options: PipelineOptions, deps: PipelineDeps, storeOptions: OpenBlobStoreOptions): TrainerRunner {
  if (options.runner === 'local' || options.vertex === null) {
    return new LocalTrainerRunner({
      python: options.python,
      cwd: deps.repoRoot,
      progressStream: deps.progressStream,
      progressIntervalMs: options.progressIntervalMs,
    });
  }
  return new VertexTrainerRunner({
    settings: options.vertex,
    service: new AiplatformCustomJobService({ region: options.vertex.region, apiEndpoint: deps.config.vertexApiEndpoint }),
    staging: openBlobStore(options.vertex.staging, storeOptions),
    model: options.name,
    // The work folder's name (<model>-<UTC timestamp> by default) names the run in the bucket too.
    runId: path.basename(options.workDir),
    progressStream: deps.progressStream,
    progressIntervalMs: options.progressIntervalMs,
  });
}
