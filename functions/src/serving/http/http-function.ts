/**
 * Wraps a handler into a Functions Framework HTTP function with everything every endpoint shares:
 * X-Request-Id, GET …/openapi.json, the method check (405 + Allow), optional API keys, the
 * per-client token bucket, the one error-to-response mapping, the observer's flush inside the
 * request, and one structured access-log line per request.
 *
 * Telemetry follows the answer: the images a handler scored are given to the observer only when
 * this function sends their 200, never when the front door has answered for it (a body cut off at
 * the limit, 503 shutting_down at the end of the shutdown grace period). So every image answered
 * leaves one record, and no record is made for an answer the client never got.
 */
import { performance } from 'node:perf_hooks';
import type { Request, Response } from '@google-cloud/functions-framework';
import { MethodNotAllowedError, RateLimitedError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import type { ScoredImage, ScoreObserver } from '../../monitoring/observer';
import type { ApiKeyAuth } from './api-key-auth';
import { toErrorResponse } from './error-response';
import type { TokenBucketLimiter } from './rate-limiter';
import { clientAddress } from './client-address';
import { claimResponse, isDraining, restoreContentType } from './front-door';
import { readBody } from './read-body';
import { redactUrl } from './redact-url';
import { requestIdFrom } from './request-id';

/** How long a request waits for a telemetry flush it started before answering; the flush goes on after. */
const FLUSH_WAIT_MS = 250;

export interface HandlerResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** The model that served the request, for the access log and metrics. */
  model?: { name: string; version: string } | null;
  /** The images scored, recorded (telemetry, metrics) when the answer is sent. */
  scored?: readonly ScoredImage[];
}

export interface RequestContext {
  req: Request;
  requestId: string;
  principal: string;
  logger: Logger;
}

export interface HttpFunctionDeps {
  logger: Logger;
  auth: ApiKeyAuth;
  limiter: TokenBucketLimiter;
  observer: ScoreObserver;
  openApi: () => unknown;
  projectId: string | null;
  /** Proxies in front that append to X-Forwarded-For (see client-address.ts). */
  trustedProxyHops: number;
  /** MAX_REQUEST_BYTES: the most body bytes read. */
  maxRequestBytes: number;
}

export interface RouteOptions {
  name: string;
  /** Accepted methods; 'any' for a handler that answers every method (the router's 404). */
  methods: readonly string[] | 'any';
  /** Whether API keys and the rate limit apply (health stays open). */
  protected: boolean;
}

export type Handler = (context: RequestContext) => Promise<HandlerResult>;

export function makeHttpFunction(deps: HttpFunctionDeps, route: RouteOptions, handler: Handler) {
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    restoreContentType(req);
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const client = clientAddress(req, deps.trustedProxyHops);
    const logger = deps.logger.child({ request_id: requestId, function: route.name, ...traceFields(req, deps.projectId) });
    let result: HandlerResult;
    let errorCode: string | null = null;
    try {
      if (req.method === 'GET' && (req.path ?? '').endsWith('/openapi.json')) {
        result = { status: 200, body: deps.openApi() };
      } else {
        if (route.methods !== 'any' && !route.methods.includes(req.method)) throw new MethodNotAllowedError(req.method, route.methods);
        let principal = `ip:${client}`;
        if (route.protected) {
          const auth = deps.auth.authenticate(req.headers);
          if (auth.principal !== 'anonymous') principal = auth.principal;
          const decision = deps.limiter.take(principal);
          if (!decision.allowed) throw new RateLimitedError(decision.retryAfterSeconds);
        }
        // Only once the client is admitted is its body read (front-door.ts has kept the parsers off it).
        await readBody(req, deps.maxRequestBytes);
        result = await handler({ req, requestId, principal, logger });
      }
    } catch (error) {
      const response = toErrorResponse(error, requestId);
      errorCode = response.body.error.code;
      if (response.internal) logger.error('unhandled error', { error });
      result = { status: response.status, body: response.body, headers: response.headers };
    }
    const latencyMs = performance.now() - started;
    deps.observer.requestFinished({ function: route.name, status: result.status, code: errorCode, latencyMs, model: result.model ?? null });
    // The front door may have answered already (a chunked body cut off at the limit, shutdown).
    if (!claimResponse(res)) return;
    if (result.scored !== undefined && result.scored.length > 0) deps.observer.scored(result.scored);
    // Once shutdown has begun, an answer waits for its records to be written, however long that
    // takes on a loaded machine: a SIGKILL at the end of the grace period must never find an image
    // answered 200 without its record. Before that, a slow store delays no answer by more than FLUSH_WAIT_MS.
    const flushed = deps.observer.flushIfDue();
    await (isDraining() ? flushed : waitAtMost(flushed, FLUSH_WAIT_MS));
    const payload = JSON.stringify(result.body);
    if (res.headersSent) return;
    res.status(result.status);
    res.set({ ...(result.headers ?? {}), 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId, 'Cache-Control': 'no-store' });
    res.send(payload);
    logger.log({
      severity: result.status >= 500 ? 'ERROR' : result.status >= 400 ? 'WARNING' : 'INFO',
      message: `${req.method} ${route.name} ${result.status}`,
      httpRequest: {
        requestMethod: req.method,
        requestUrl: redactUrl(req.originalUrl ?? req.url ?? ''),
        status: result.status,
        responseSize: String(Buffer.byteLength(payload)),
        latency: `${(latencyMs / 1000).toFixed(4)}s`,
        remoteIp: client,
        userAgent: req.get?.('user-agent'),
      },
      error_code: errorCode ?? undefined,
      model: result.model?.name,
      model_version: result.model?.version,
      latency_ms: Math.round(latencyMs * 100) / 100,
    });
  };
}

function traceFields(req: Request, projectId: string | null): Record<string, string> {
  const header = req.get?.('x-cloud-trace-context');
  const trace = header?.split('/')[0];
  if (projectId === null || trace === undefined || !/^[0-9a-f]{32}$/i.test(trace)) return {};
  return { 'logging.googleapis.com/trace': `projects/${projectId}/traces/${trace}` };
}

/** Resolves when `work` settles or after `ms`, whichever is first; `work` never rejects here. */
function waitAtMost(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work.catch(() => undefined), limit]).finally(() => clearTimeout(timer));
}
