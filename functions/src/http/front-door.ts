/**
 * The front door: runs on every request before any of the Functions Framework's middleware, so
 * that limits hold before a byte of the body is buffered or inflated. The framework parses bodies
 * with body-parser at a 1 GB limit, inflates gzip/deflate/br bodies, parses JSON and urlencoded
 * bodies into objects, and answers its own 404s and parser errors as HTML or empty bodies. Here:
 *
 * - every request gets its request id first (a sane incoming `X-Request-Id` is kept), so every
 *   answer, including parser failures and framework 404s, carries it;
 * - a `Content-Encoding` other than identity is refused (415) before reading: images and base64
 *   are already compressed, and inflating is how a 200 KB body becomes 200 MB;
 * - a `Content-Length` over `MAX_REQUEST_BYTES` is refused (413) before reading, and a chunked
 *   body is counted as it arrives and cut off at the limit;
 * - the framework's parsers never read the body: the Content-Type is set aside, so that none of
 *   them matches, and `restoreContentType` gives it back to the handler, which reads the body
 *   itself into one buffer of the declared length (`read-body.ts`) and parses JSON only after
 *   checking its shape (`image-inputs.ts`);
 * - `/favicon.ico` and `/robots.txt` get the JSON 404 of every other unknown path;
 * - whatever the framework's middleware throws (an aborted body, say) goes through the one error
 *   mapper (`error-response.ts`) instead of Express's HTML page.
 *
 * Express is patched once per process (`installFrontDoor`, called by `registerFunctions`); the
 * limits are those of the service registered last, like the framework's own function registry.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { NotFoundError, ServiceUnavailableError, UnsupportedMediaTypeError } from '../errors';
import type { Logger } from '../logger';
import { toErrorResponse } from './error-response';
import { requestTooLarge } from './read-body';
import { requestIdFrom } from './request-id';

export interface FrontDoorOptions {
  maxRequestBytes: number;
  logger: Logger;
}

type Next = (error?: unknown) => void;
interface ExpressLikeApplication {
  handle(req: unknown, res: unknown, callback?: Next): void;
}

const ORIGINAL_CONTENT_TYPE = Symbol.for('ai-photo-detector.original-content-type');
const FRAMEWORK_ROUTES = new Set(['/favicon.ico', '/robots.txt']);
/** A body cut off at the limit is drained (and dropped) up to this many times the limit, then the connection is closed. */
const DRAIN_FACTOR = 4;

let current: FrontDoorOptions | null = null;
let installed = false;

/** What shutdown needs: the servers requests arrived on, and how many are still being answered. */
const servers = new Set<Server>();
let inFlight = 0;
let draining = false;
const idleWaiters = new Set<() => void>();

/** Installs the front door on the framework's Express (once per process) and sets its limits. */
export function installFrontDoor(options: FrontDoorOptions): void {
  current = options;
  if (installed) return;
  let express: { application: ExpressLikeApplication };
  try {
    const frameworkPath = require.resolve('@google-cloud/functions-framework');
    // The framework's own copy of Express, resolved from where the framework is installed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    express = require(require.resolve('express', { paths: [frameworkPath] })) as { application: ExpressLikeApplication };
  } catch {
    return;
  }
  // eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(this, …)
  const original = express.application.handle;
  express.application.handle = function handle(this: ExpressLikeApplication, req: unknown, res: unknown, callback?: Next): void {
    const options = current;
    // A mounted sub-application, or no service registered: leave Express alone.
    if (callback !== undefined || options === null) {
      original.call(this, req, res, callback);
      return;
    }
    const request = req as IncomingMessage;
    const response = res as ServerResponse;
    request.headers['x-request-id'] = requestIdFrom(request.headers['x-request-id']);
    track(request, response);
    try {
      if (draining) throw new ServiceUnavailableError('shutting_down', 'this instance is shutting down; retry, another instance will answer', 1);
      admit(request, options.maxRequestBytes);
    } catch (error) {
      answer(error, request, response, options.logger, true);
      return;
    }
    countBodyBytes(request, response, options);
    hideContentType(request);
    original.call(this, req, res, (error?: unknown) => answer(error, request, response, options.logger, false));
  };
  installed = true;
}

function track(request: IncomingMessage, response: ServerResponse): void {
  const server = (request.socket as { server?: unknown } | undefined)?.server;
  if (server !== undefined && server !== null && typeof (server as Server).close === 'function') servers.add(server as Server);
  inFlight += 1;
  response.once('close', () => {
    inFlight -= 1;
    if (inFlight === 0) for (const wake of [...idleWaiters]) wake();
  });
}

/**
 * The first step of shutdown: stop accepting connections, close idle keep-alive ones, answer any
 * new request on a busy one with 503 shutting_down, and wait up to `timeoutMs` for the requests in
 * flight to be answered. Resolves with the number still in flight (0 when all finished).
 */
export async function drainRequests(timeoutMs: number): Promise<number> {
  draining = true;
  for (const server of servers) {
    server.close();
    server.closeIdleConnections();
  }
  if (inFlight === 0) return 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      idleWaiters.delete(done);
      resolve();
    }
    idleWaiters.add(done);
  });
  return inFlight;
}

/** Requests being answered right now (for shutdown and tests). */
export function requestsInFlight(): number {
  return inFlight;
}

/** Gives the handler back the Content-Type the client sent (the front door hid it from the body parsers). */
export function restoreContentType(req: { headers: Record<string, string | string[] | undefined> }): void {
  const holder = req as unknown as Record<symbol, string | undefined>;
  const original = holder[ORIGINAL_CONTENT_TYPE];
  if (original === undefined) return;
  req.headers['content-type'] = original;
  holder[ORIGINAL_CONTENT_TYPE] = undefined;
}

/** Refuses what can be refused from the request line and headers alone. */
export function admit(request: Pick<IncomingMessage, 'headers' | 'url'>, maxRequestBytes: number): void {
  const pathname = (request.url ?? '/').split('?')[0] ?? '/';
  if (FRAMEWORK_ROUTES.has(pathname)) {
    throw new NotFoundError('not_found', `there is nothing at ${pathname}; the API is /predict, /batch, /health, /drift and /openapi.json`);
  }
  const encoding = headerValue(request.headers['content-encoding']).trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new UnsupportedMediaTypeError(
      'unsupported_content_encoding',
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not accepted; send the body uncompressed (images and base64 are already compressed)`,
    );
  }
  const declared = headerValue(request.headers['content-length']).trim();
  if (declared !== '' && /^\d+$/.test(declared) && Number(declared) > maxRequestBytes) {
    throw requestTooLarge(declared, maxRequestBytes);
  }
}

/**
 * Counts body bytes as they arrive (before any parser buffers them) and fails the read with 413
 * once they pass the limit: this is what bounds a chunked body, which declares no length.
 */
function countBodyBytes(request: IncomingMessage, response: ServerResponse, options: FrontDoorOptions): void {
  const limit = options.maxRequestBytes;
  let received = 0;
  let refused = false;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- always called with .call(this, …)
  const emit = request.emit;
  request.emit = function countingEmit(this: IncomingMessage, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'data') {
      received += (args[0] as Buffer).length;
      if (refused) {
        // The rest is read and dropped, so that the client can read the answer; a client that
        // keeps sending long after it is one is cut off.
        if (received > DRAIN_FACTOR * limit) request.destroy();
        return false;
      }
      if (received > limit) {
        refused = true;
        const error = requestTooLarge(`more than ${limit}`, limit);
        // Answer now rather than after the handler has read off the rest.
        answer(error, request, response, options.logger, false);
        request.resume();
        // Whoever was reading gets the same error and lets go of what it buffered.
        return emit.call(this, 'error', error);
      }
    }
    return emit.call(this, event, ...args);
  } as IncomingMessage['emit'];
}

function hideContentType(request: IncomingMessage): void {
  const type = request.headers['content-type'];
  if (type === undefined) return;
  (request as unknown as Record<symbol, string>)[ORIGINAL_CONTENT_TYPE] = type;
  delete request.headers['content-type'];
}

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Answers a request that never reached a function, through the one error mapper. */
function answer(error: unknown, request: IncomingMessage, response: ServerResponse, logger: Logger, close: boolean): void {
  if (response.headersSent) return;
  const requestId = headerValue(request.headers['x-request-id']);
  const mapped =
    error === undefined
      ? toErrorResponse(new NotFoundError('not_found', 'there is no such endpoint; the API is /predict, /batch, /health, /drift and /openapi.json'), requestId)
      : toErrorResponse(error, requestId);
  if (mapped.internal) logger.error('unhandled framework error', { error, request_id: requestId });
  else
    logger.warning(`${request.method ?? ''} ${mapped.status} ${mapped.body.error.code} before the function ran`, {
      request_id: requestId,
      error_code: mapped.body.error.code,
    });
  response.statusCode = mapped.status;
  for (const [name, value] of Object.entries(mapped.headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('X-Request-Id', requestId);
  response.setHeader('Cache-Control', 'no-store');
  // A body refused before it was read is never drained: close the connection after answering.
  if (close) response.setHeader('Connection', 'close');
  response.end(JSON.stringify(mapped.body));
}
