/**
 * The pipeline's error hierarchy. Every failure a user can act on has a stable `code`, the process
 * exit status the CLI returns for it, and a message that says what was wrong and what would be
 * right. Anything else is a bug and exits with status 1.
 */
import { DetectorError } from '../../functions/src/platform';

export const EXIT_CODES = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  dataset_invalid: 3,
  training_failed: 4,
  train_serve_skew: 5,
  gate_rejected: 6,
  publish_conflict: 7,
} as const;

export type PipelineErrorCode = Exclude<keyof typeof EXIT_CODES, 'ok' | 'unexpected'>;

/** A failure of a pipeline run, in the project's one hierarchy (DetectorError), with the CLI's exit status. */
export class PipelineError extends DetectorError {
  /** Marks instances across realms (jest), where `instanceof` fails. */
  readonly isPipelineError = true;
  declare readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isPipelineError(value: unknown): value is PipelineError {
  return typeof value === 'object' && value !== null && (value as { isPipelineError?: unknown }).isPipelineError === true;
}

/** A command-line argument is missing or malformed. */
export class UsageError extends PipelineError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** The dataset breaks the dataset contract or a validation threshold; `report` is the rendered report. */
export class DatasetInvalidError extends PipelineError {
  constructor(
    message: string,
    readonly report: string,
    options?: { cause?: unknown },
  ) {
    super('dataset_invalid', message, options);
  }
}

/** The trainer exited with an error, or its run folder is incomplete. */
export class TrainingFailedError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('training_failed', message, options);
  }
}

/** PyTorch and the serving code disagree on the same model and images by more than the tolerances. */
export class SkewError extends PipelineError {
  constructor(message: string) {
    super('train_serve_skew', message);
  }
}

/** The model failed the gate; it was kept under `candidates/` with its report. */
export class GateRejectedError extends PipelineError {
  constructor(
    message: string,
    readonly candidateLocation: string,
  ) {
    super('gate_rejected', message);
  }
}

/** Another run moved production.json between this run's read and its write. */
export class PublishConflictError extends PipelineError {
  constructor(
    message: string,
    readonly ourVersion: string,
    readonly currentVersion: string | null,
    options?: { cause?: unknown },
  ) {
    super('publish_conflict', message, options);
  }
}
