/**
 * CustomJobService on @google-cloud/aiplatform's JobServiceClient, over its REST transport
 * (`fallback: true`), against <region>-aiplatform.googleapis.com with Application Default
 * Credentials. `apiEndpoint` (VERTEX_API_ENDPOINT, e.g. http://127.0.0.1:8123) points the same
 * client at another server; requests then carry no Google credentials.
 */
import { v1 } from '@google-cloud/aiplatform';
import type { CustomJobRequest } from './custom-job-request';
import { type CustomJobService, CustomJobServiceError, type CustomJobStatus, type JobState } from './custom-job-service';

export interface AiplatformCustomJobServiceOptions {
  region: string;
  /** A URL like http://127.0.0.1:8123 for a local server; default: https://<region>-aiplatform.googleapis.com. */
  apiEndpoint?: string | null;
}

type FetchInit = NonNullable<Parameters<typeof fetch>[1]>;

/** A client that adds no credentials, for servers that are not Google's. */
const noCredentials = {
  getRequestHeaders: () => Promise.resolve(new Headers()),
  fetch: (url: string, init: Pick<FetchInit, 'method' | 'headers' | 'body' | 'signal'>) =>
    fetch(url, {
      method: init.method ?? 'GET',
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined || init.body === null ? {} : { body: init.body }),
      ...(init.signal === undefined || init.signal === null ? {} : { signal: init.signal }),
    }),
};

type ClientOptions = NonNullable<ConstructorParameters<typeof v1.JobServiceClient>[0]>;

function clientOptions(options: AiplatformCustomJobServiceOptions): ClientOptions {
  if (options.apiEndpoint === undefined || options.apiEndpoint === null || options.apiEndpoint === '') {
    return { apiEndpoint: `${options.region}-aiplatform.googleapis.com`, fallback: true };
  }
  let url: URL;
  try {
    url = new URL(options.apiEndpoint);
  } catch {
    throw new TypeError(`invalid Vertex AI apiEndpoint ${JSON.stringify(options.apiEndpoint)}: use a URL like "http://127.0.0.1:8123"`);
  }
  const google = url.hostname.endsWith('.googleapis.com');
  return {
    apiEndpoint: url.hostname,
    port: Number(url.port || (url.protocol === 'http:' ? 80 : 443)),
    protocol: url.protocol.replace(':', ''),
    fallback: true,
    ...(google ? {} : { authClient: noCredentials as never }),
  };
}

interface RawJob {
  name?: string | null;
  state?: string | number | null;
  error?: { code?: number | null; message?: string | null } | null;
}

const STATE_NAMES: readonly JobState[] = [
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_UPDATING',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
];

function statusOf(job: RawJob): CustomJobStatus {
  const state = typeof job.state === 'number' ? (STATE_NAMES[job.state] ?? 'JOB_STATE_UNSPECIFIED') : ((job.state ?? 'JOB_STATE_UNSPECIFIED') as JobState);
  const error =
    job.error !== null && job.error !== undefined && (job.error.code ?? 0) !== 0 ? { code: job.error.code ?? 2, message: job.error.message ?? '' } : null;
  return { name: job.name ?? '', state, error };
}

function serviceError(what: string, error: unknown): CustomJobServiceError {
  const code = typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null;
  const message = error instanceof Error ? error.message : String(error);
  return new CustomJobServiceError(code, `${what}: ${message}`, { cause: error });
}

export class AiplatformCustomJobService implements CustomJobService {
  private readonly client: InstanceType<typeof v1.JobServiceClient>;

  constructor(options: AiplatformCustomJobServiceOptions) {
    this.client = new v1.JobServiceClient(clientOptions(options));
  }

  async create(parent: string, job: CustomJobRequest): Promise<CustomJobStatus> {
    try {
      const [created] = await this.client.createCustomJob({ parent, customJob: job as never });
      return statusOf(created as RawJob);
    } catch (error) {
      throw serviceError(`creating a custom job in ${parent}`, error);
    }
  }

  async get(name: string): Promise<CustomJobStatus> {
    try {
      const [job] = await this.client.getCustomJob({ name });
      return statusOf(job as RawJob);
    } catch (error) {
      throw serviceError(`reading custom job ${name}`, error);
    }
  }

  async cancel(name: string): Promise<void> {
    try {
      await this.client.cancelCustomJob({ name });
    } catch (error) {
      throw serviceError(`cancelling custom job ${name}`, error);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
