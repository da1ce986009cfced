/**
 * Runs one `python3 -m training.<module> …` helper of the pipeline (robustness, leave-one-source-out,
 * shortcut probes) to completion: its stdout and stderr are appended to the run's log file, and a
 * non-zero exit becomes a TrainingFailedError that names the command and quotes the last lines.
 */
import { spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { TrainingFailedError } from './errors';
import { quoteArgument } from './trainer/trainer-process';

export async function runPythonModule(request: { python: string; cwd: string; args: readonly string[]; logFile: string; what: string }): Promise<void> {
  const commandLine = [request.python, ...request.args].map(quoteArgument).join(' ');
  const output: string[] = [];
  const status = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    const child = spawn(request.python, request.args, { cwd: request.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const text = output.join('');
  await appendFile(request.logFile, `$ ${commandLine}\n${text}`);
  if (status.code !== 0) {
    const tail = text.trim().split('\n').slice(-10).join('\n  ');
    throw new TrainingFailedError(`${request.what} failed (${commandLine}): ${status.error?.message ?? `exit status ${status.code}`}\n  ${tail}`);
  }
}
