/**
 * CustomJobService: the port through which the Vertex runner creates, reads and cancels Vertex AI
 * custom jobs. Production adapter: AiplatformCustomJobService (@google-cloud/aiplatform over REST);
 * tests point the same adapter at a local server speaking the Vertex AI REST protocol.
 */
import type { CustomJobRequest } from './custom-job-request';

export type JobState =
  | 'JOB_STATE_UNSPECIFIED'
  | 'JOB_STATE_QUEUED'
  | 'JOB_STATE_PENDING'
  | 'JOB_STATE_RUNNING'
  | 'JOB_STATE_SUCCEEDED'
  | 'JOB_STATE_FAILED'
  | 'JOB_STATE_CANCELLING'
  | 'JOB_STATE_CANCELLED'
  | 'JOB_STATE_PAUSED'
  | 'JOB_STATE_EXPIRED'
  | 'JOB_STATE_UPDATING'
  | 'JOB_STATE_PARTIALLY_SUCCEEDED';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
]);

export interface CustomJobStatus {
  /** projects/<p>/locations/<r>/customJobs/<id> */
  name: string;
  state: JobState;
  /** google.rpc.Status of a failed job. */
  error: { code: number; message: string } | null;
}

/** A call the service refused: `code` is the google.rpc code (8 RESOURCE_EXHAUSTED, 7 PERMISSION_DENIED, …). */
export class CustomJobServiceError extends Error {
  constructor(
    readonly code: number | null,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'CustomJobServiceError';
  }
}

export interface CustomJobService {
  /** parent: projects/<p>/locations/<r>. */
  create(parent: string, job: CustomJobRequest): Promise<CustomJobStatus>;
  get(name: string): Promise<CustomJobStatus>;
  cancel(name: string): Promise<void>;
}
