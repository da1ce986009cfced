/**
 * JPEG robustness of a trained run: `python3 -m training.robustness <run> --quality Q` re-encodes
 * each validation image as JPEG before the contract preprocessing and writes robustness.json with
 * the accuracy drop in points. The gate's maxJpegDropPoints reads that number.
 */
import { spawn } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { TrainingFailedError } from './errors';
import type { Robustness } from './run-dir';
import { quoteArgument } from './run-trainer';

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
  const commandLine = [request.python, ...args].map(quoteArgument).join(' ');
  const output: string[] = [];
  const status = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    const child = spawn(request.python, args, { cwd: request.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const text = output.join('');
  await appendFile(request.logFile, `$ ${commandLine}\n${text}`);
  if (status.code !== 0) {
    const tail = text.trim().split('\n').slice(-10).join('\n  ');
    throw new TrainingFailedError(`measuring JPEG robustness failed (${commandLine}): ${status.error?.message ?? `exit status ${status.code}`}\n  ${tail}`);
  }
  const result = JSON.parse(await readFile(path.join(request.runDir, 'robustness.json'), 'utf8')) as Robustness;
  if (typeof result.drop_points !== 'number') throw new TrainingFailedError(`${path.join(request.runDir, 'robustness.json')} has no drop_points`);
  return result;
}
