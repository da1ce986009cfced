/**
 * Runs the Python trainer (`python3 -m training.train …`) as a child process. Its stdout carries
 * one JSON object per line (start, step, epoch, export, done, error); its stderr is chatter. Every
 * line of both goes to the full log file; the JSON lines drive a progress bar with an ETA.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { TrainingFailedError } from '../errors';
import { Progress, type ProgressStream } from '../progress';

export interface ValMetrics {
  accuracy: number;
  precision?: number;
  recall?: number;
  f1?: number;
  roc_auc: number | null;
  loss?: number;
}

export type TrainerEvent =
  | { event: 'start'; total_steps: number; epochs?: number; train_images?: number; val_images?: number; test_images?: number; [field: string]: unknown }
  | { event: 'step'; epoch: number; step: number; total_steps: number; loss: number | null; images_per_s: number | null; lr?: number }
  | { event: 'epoch'; epoch: number; step?: number; train_loss: number | null; val: ValMetrics; seconds: number }
  | { event: 'export'; [field: string]: unknown }
  | { event: 'done'; best_epoch: number; best_val: Record<string, unknown>; seconds: number; [field: string]: unknown }
  | { event: 'error'; message: string };

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isNumberOrNull = (value: unknown): value is number | null => value === null || isNumber(value);

/**
 * Parses one stdout line: a known event with the fields it needs, or null for anything else (a
 * stray print, an unknown event, a malformed object), which is logged but never fatal.
 */
export function parseTrainerLine(line: string): TrainerEvent | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  switch (record.event) {
    case 'start':
      return isNumber(record.total_steps) ? (record as TrainerEvent) : null;
    case 'step':
      return isNumber(record.step) && isNumber(record.total_steps) && isNumber(record.epoch) && isNumberOrNull(record.loss)
        ? ({ images_per_s: null, ...record } as TrainerEvent)
        : null;
    case 'epoch': {
      const val = record.val as Record<string, unknown> | undefined;
      return isNumber(record.epoch) && typeof val === 'object' && val !== null && isNumber(val.accuracy) ? (record as TrainerEvent) : null;
    }
    case 'export':
      return record as TrainerEvent;
    case 'done':
      return isNumber(record.best_epoch) ? (record as TrainerEvent) : null;
    case 'error':
      return typeof record.message === 'string' ? (record as TrainerEvent) : null;
    default:
      return null;
  }
}

/** What the progress line shows, folded from the events so far. */
export interface TrainingState {
  totalSteps: number;
  step: number;
  epoch: number;
  epochs: number | null;
  loss: number | null;
  imagesPerSecond: number | null;
  lastVal: ValMetrics | null;
}

export function initialState(): TrainingState {
  return { totalSteps: 0, step: 0, epoch: 0, epochs: null, loss: null, imagesPerSecond: null, lastVal: null };
}

export function foldEvent(state: TrainingState, event: TrainerEvent): TrainingState {
  switch (event.event) {
    case 'start':
      return { ...state, totalSteps: event.total_steps, epochs: isNumber(event.epochs) ? event.epochs : state.epochs };
    case 'step':
      return { ...state, step: event.step, totalSteps: event.total_steps, epoch: event.epoch, loss: event.loss, imagesPerSecond: event.images_per_s };
    case 'epoch':
      return { ...state, epoch: event.epoch, lastVal: event.val, step: isNumber(event.step) ? event.step : state.step };
    default:
      return state;
  }
}

/** The text after the step counter: epoch, loss, last validation accuracy, throughput. */
export function describeState(state: TrainingState): string {
  const parts = [`epoch ${state.epoch}${state.epochs === null ? '' : `/${state.epochs}`}`];
  if (state.loss !== null) parts.push(`loss ${state.loss.toFixed(4)}`);
  if (state.lastVal !== null) parts.push(`val acc ${state.lastVal.accuracy.toFixed(4)}`);
  if (state.imagesPerSecond !== null) parts.push(`${Math.round(state.imagesPerSecond)} img/s`);
  return parts.join(' · ');
}

/**
 * Turns the trainer's stdout lines, wherever they come from (a child process, a log object of a
 * remote job), into events, a progress bar and epoch notes.
 */
export class TrainerEventFollower {
  readonly events: TrainerEvent[] = [];
  private state = initialState();

  constructor(
    private readonly progress: Progress,
    private readonly onEvent?: (event: TrainerEvent) => void,
  ) {}

  line(line: string): TrainerEvent | null {
    const event = parseTrainerLine(line);
    if (event === null) return null;
    this.events.push(event);
    this.state = foldEvent(this.state, event);
    this.onEvent?.(event);
    if (event.event === 'step') {
      this.progress.update(this.state.step, this.state.totalSteps, describeState(this.state));
    } else if (event.event === 'epoch') {
      const val = event.val;
      this.progress.note(
        `train: epoch ${event.epoch} done in ${event.seconds.toFixed(1)}s · train loss ${event.train_loss?.toFixed(4) ?? '-'} · ` +
          `val acc ${val.accuracy.toFixed(4)} · val ROC-AUC ${val.roc_auc?.toFixed(4) ?? '-'}`,
      );
    } else if (event.event === 'start') {
      this.progress.note(`train: ${event.total_steps} steps planned`);
    }
    return event;
  }
}

export interface RunTrainerOptions {
  /** Executable, e.g. /usr/bin/python3. */
  command: string;
  /** Arguments, e.g. ['-m', 'training.train', '--dataset', …]. */
  args: readonly string[];
  cwd: string;
  /** Every stdout and stderr line, as received. */
  logFile: string;
  progressStream: ProgressStream;
  progressIntervalMs?: number;
  onEvent?: (event: TrainerEvent) => void;
  /** Aborting kills the trainer (SIGTERM). */
  signal?: AbortSignal;
}

export interface TrainerResult {
  events: TrainerEvent[];
  done: Extract<TrainerEvent, { event: 'done' }>;
  seconds: number;
}

const STDERR_TAIL_LINES = 25;

export async function runTrainer(options: RunTrainerOptions): Promise<TrainerResult> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'w' });
  const commandLine = [options.command, ...options.args].map(quoteArgument).join(' ');
  log.write(`$ ${commandLine}\n`);
  const started = Date.now();
  const progress = new Progress({
    stream: options.progressStream,
    label: 'train: step',
    ...(options.progressIntervalMs === undefined ? {} : { intervalMs: options.progressIntervalMs }),
  });
  const follower = new TrainerEventFollower(progress, options.onEvent);
  const events = follower.events;
  const stderrTail: string[] = [];

  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const abort = (): void => {
    child.kill('SIGTERM');
  };
  options.signal?.addEventListener('abort', abort, { once: true });

  const stdoutDone = new Promise<void>((resolve) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      follower.line(line);
    });
    lines.on('close', resolve);
  });
  const stderrDone = new Promise<void>((resolve) => {
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    lines.on('close', resolve);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });

  const status = await exit;
  await Promise.all([stdoutDone, stderrDone]).catch(() => undefined);
  options.signal?.removeEventListener('abort', abort);
  progress.finish();
  await new Promise<void>((resolve) => log.end(resolve));

  const errorEvent = events.find((event): event is Extract<TrainerEvent, { event: 'error' }> => event.event === 'error');
  const done = events.find((event): event is Extract<TrainerEvent, { event: 'done' }> => event.event === 'done');
  const tail = stderrTail.length === 0 ? '' : `\nlast lines of its stderr:\n  ${stderrTail.join('\n  ')}`;
  if (status.error !== undefined) {
    throw new TrainingFailedError(`could not start the trainer (${commandLine}): ${status.error.message}`, { cause: status.error });
  }
  if (errorEvent !== undefined || status.code !== 0 || done === undefined) {
    const how =
      errorEvent !== undefined
        ? `the trainer reported: ${errorEvent.message}`
        : status.signal !== null
          ? `the trainer was killed by ${status.signal}`
          : status.code !== 0
            ? `the trainer exited with status ${status.code}`
            : 'the trainer exited without a "done" event';
    throw new TrainingFailedError(`${how}; full log: ${options.logFile}${tail}`);
  }
  return { events, done, seconds: (Date.now() - started) / 1000 };
}

/** Quotes an argument for display in a POSIX shell when it needs it. */
export function quoteArgument(argument: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, `'\\''`)}'`;
}
