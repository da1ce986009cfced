/**
 * A local Vertex AI server for tests: the custom-job part of the REST API (v1) that
 * @google-cloud/aiplatform's JobServiceClient speaks with `fallback: true`, so that the production
 * adapter runs unchanged against it (only the endpoint and the credentials differ).
 *
 *   const server = await startVertexServer({ script: (job, reads) => … });
 *   new AiplatformCustomJobService({ region: 'europe-west1', apiEndpoint: server.url });
 *
 * Served:
 *   POST /v1/projects/:p/locations/:l/customJobs          create: the CustomJob, JOB_STATE_QUEUED
 *   GET  /v1/projects/:p/locations/:l/customJobs/:id      get: the state the script gives for this read
 *   POST /v1/projects/:p/locations/:l/customJobs/:id:cancel  cancel: CANCELLING, then CANCELLED on the next read
 * Enums arrive as numbers (the client asks for `enum-encoding=int`) or names, and are answered as
 * names. Errors use Google's JSON error body ({"error": {"code", "message", "status"}}). Anything else
 * is a 501, so an unexpected call fails loudly.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredJob {
  name: string;
  /** The CustomJob as the client sent it (parsed JSON). */
  request: Record<string, unknown>;
  state: string;
  error: { code: number; message: string } | null;
  /** How many times it has been read with GET. */
  reads: number;
  cancelRequested: boolean;
}

/** Returns the state for the n-th GET of a job (and an error for a failed one); called before answering. */
export type JobScript = (
  job: StoredJob,
  read: number,
) => { state: string; error?: { code: number; message: string } } | Promise<{ state: string; error?: { code: number; message: string } }>;

export interface VertexServer {
  readonly url: string;
  readonly jobs: StoredJob[];
  readonly requests: Array<{ method: string; path: string }>;
  /** Answers the next create with this HTTP status and google.rpc status name. */
  failNextCreate(status: number, rpcStatus: string, message: string): void;
  close(): Promise<void>;
}

const HTTP_OF: Record<string, number> = { RESOURCE_EXHAUSTED: 429, PERMISSION_DENIED: 403, NOT_FOUND: 404, INVALID_ARGUMENT: 400, UNAVAILABLE: 503 };
const RPC_CODE: Record<string, number> = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 };

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

function sendError(response: ServerResponse, rpcStatus: string, message: string, httpStatus = HTTP_OF[rpcStatus] ?? 500): void {
  send(response, httpStatus, { error: { code: httpStatus, message, status: rpcStatus } });
}

function view(job: StoredJob): Record<string, unknown> {
  return {
    ...job.request,
    name: job.name,
    state: job.state,
    createTime: '2026-12-01T10:00:00Z',
    ...(job.error === null ? {} : { error: { code: job.error.code, message: job.error.message } }),
  };
}

export async function startVertexServer(options: { script: JobScript }): Promise<VertexServer> {
  const jobs: StoredJob[] = [];
  const requests: Array<{ method: string; path: string }> = [];
  let createFailure: { status: number; rpcStatus: string; message: string } | null = null;

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    requests.push({ method: request.method ?? 'GET', path: `${url.pathname}${url.search}` });
    void (async () => {
      const collection = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+)\/customJobs$/.exec(url.pathname);
      const single = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/customJobs\/[^/:]+)(:cancel)?$/.exec(url.pathname);
      if (collection !== null && request.method === 'POST') {
        const sent = JSON.parse(await body(request)) as Record<string, unknown>;
        if (createFailure !== null) {
          const failure = createFailure;
          createFailure = null;
          return sendError(response, failure.rpcStatus, failure.message, failure.status);
        }
        if (typeof sent.displayName !== 'string' || typeof sent.jobSpec !== 'object')
          return sendError(response, 'INVALID_ARGUMENT', 'CustomJob needs displayName and jobSpec');
        const job: StoredJob = {
          name: `${collection[1]}/customJobs/${1000 + jobs.length}`,
          request: sent,
          state: 'JOB_STATE_QUEUED',
          error: null,
          reads: 0,
          cancelRequested: false,
        };
        jobs.push(job);
        return send(response, 200, view(job));
      }
      if (single !== null) {
        const job = jobs.find((candidate) => candidate.name === single[1]);
        if (job === undefined) return sendError(response, 'NOT_FOUND', `CustomJob ${single[1]} not found`);
        if (single[2] === ':cancel' && request.method === 'POST') {
          await body(request);
          job.cancelRequested = true;
          if (!['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED'].includes(job.state)) job.state = 'JOB_STATE_CANCELLING';
          return send(response, 200, {});
        }
        if (single[2] === undefined && request.method === 'GET') {
          job.reads += 1;
          if (job.cancelRequested && job.state === 'JOB_STATE_CANCELLING') job.state = 'JOB_STATE_CANCELLED';
          else if (!job.cancelRequested) {
            const next = await options.script(job, job.reads);
            job.state = next.state;
            job.error = next.error ?? null;
          }
          return send(response, 200, view(job));
        }
      }
      sendError(response, 'UNIMPLEMENTED', `the Vertex AI test server does not serve ${request.method} ${url.pathname}`, 501);
    })().catch((error: unknown) => sendError(response, 'INTERNAL', String(error), 500));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    jobs,
    requests,
    failNextCreate(status, rpcStatus, message) {
      createFailure = { status, rpcStatus, message };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export { RPC_CODE };
