/**
 * JPEG robustness of a trained run: `python3 -m training.robustness <run> --quality Q` re-encodes
 * each validation image as JPEG before the contract preprocessing and writes robustness.json with
 * the accuracy drop in points. The gate's maxJpegDropPoints reads that number.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { TrainingFailedError } from './errors';
import type { Robustness } from './run-dir';
import { runPythonModule } from './run-python';

export interface RobustnessRequest {
  python: string;
  /** Folder holding the `training` package. */
  cwd: string;
  runDir: string;
  datasetRoot: string;
  quality: number;
  threads: number;
  /** Output is appended here. */
  logFile: string;
}

export async function measureRobustness(request: RobustnessRequest): Promise<Robustness> {
  const args = [
    '-m',
    'training.robustness',
    request.runDir,
    '--dataset',
    request.datasetRoot,
    '--quality',
    String(request.quality),
    '--split',
    'val',
    '--threads',
    String(request.threads),
  ];
  await runPythonModule({ python: request.python, cwd: request.cwd, args, logFile: request.logFile, what: 'measuring JPEG robustness' });
  const result = JSON.parse(await readFile(path.join(request.runDir, 'robustness.json'), 'utf8')) as Robustness;
  if (typeof result.drop_points !== 'number') throw new TrainingFailedError(`${path.join(request.runDir, 'robustness.json')} has no drop_points`);
  return result;
}
