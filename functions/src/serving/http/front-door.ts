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
 * - what Node's HTTP parser refuses before any of this runs (a request line or headers over 16 KB,
 *   a bare CR in a header) is answered in the same JSON error format, from the server's
 *   'clientError' event, instead of Node's bare `431` or `400` with no body;
 * - shutdown: the requests in flight are tracked, so that `drainRequests` can wait for them and
 *   `cutOffRequests` can answer the ones still running at the end of the grace period with 503
 *   shutting_down. A handler claims its response (`claimResponse`) before it records telemetry and
 *   answers; from then on the front door leaves it alone.
 *
 * It reaches the framework's Express and server through framework-hooks.ts, the one file that
 * knows the framework's internals, once per process (`installFrontDoor`, called by
 * `registerFunctions`). The limits are those of the service registered last, like the framework's
 * own function registry.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { maxHeaderSize } from 'node:http';
import type { Duplex } from 'node:stream';
import { BadRequestError, NotFoundError, ServiceUnavailableError, UnsupportedMediaTypeError } from '../../platform/errors';
import type { Logger } from '../../platform/logger';
import { toErrorResponse } from './error-response';
import { requestTooLarge } from './read-body';
import { requestIdFrom } from './request-id';
import { onFrameworkServer, wrapExpressHandle } from './framework-hooks';

export interface FrontDoorOptions {
  maxRequestBytes: number;
  logger: Logger;
}

const ORIGINAL_CONTENT_TYPE = Symbol.for('ai-photo-detector.original-content-type');
const FRAMEWORK_ROUTES = new Set(['/favicon.ico', '/robots.txt']);
/** A body cut off at the limit is drained (and dropped) up to this many times the limit, then the connection is closed. */
const DRAIN_FACTOR = 4;

let current: FrontDoorOptions | null = null;
let installed = false;

/** What shutdown needs: the servers requests arrived on, and the requests still being answered. */
const servers = new Set<Server>();
const open = new Map<ServerResponse, IncomingMessage>();
/** Responses a handler has claimed: it is about to record and send them, the front door must not answer. */
const claimed = new WeakSet<ServerResponse>();
/** Responses the front door answered itself (a refusal, a cut-off body, shutdown). */
const answered = new WeakSet<ServerResponse>();
let draining = false;
const idleWaiters = new Set<() => void>();
/**
 * Connections on which no request has arrived yet: a client that connected before the signal may
 * still be sending its first request's headers (a loaded client takes a while to build an 8-photo
 * form), and shutdown waits for it as for a request in flight.
 */
const fresh = new Set<Duplex>();
/** Every connection of the servers the hook saw. */
const sockets = new Set<Duplex>();

/** Installs the front door on the framework's Express and server (once per process) and sets its limits. */
export function installFrontDoor(options: FrontDoorOptions): void {
  current = options;
  if (installed) return;
  wrapExpressHandle((original, req, res) => {
    const options = current;
    // No service registered: leave Express alone.
    if (options === null) {
      original(req, res);
      return;
    }
    const request = req as IncomingMessage;
    const response = res as ServerResponse;
    request.headers['x-request-id'] = requestIdFrom(request.headers['x-request-id']);
    track(request, response);
    try {
      admit(request, options.maxRequestBytes);
    } catch (error) {
      answer(error, request, response, options.logger, true);
      return;
    }
    if (draining) {
      refuseWhileDraining(request, response, options);
      return;
    }
    countBodyBytes(request, response, options);
    hideContentType(request);
    original(req, res, (error?: unknown) => answer(error, request, response, options.logger, false));
  });
  onFrameworkServer(watchServer);
  installed = true;
}

/** Every server made for the framework's app: its connections are known to shutdown, its parser errors answered in JSON. */
function watchServer(server: Server): void {
  servers.add(server);
  server.on('connection', (socket: Duplex) => {
    fresh.add(socket);
    sockets.add(socket);
    socket.once('close', () => {
      fresh.delete(socket);
      sockets.delete(socket);
      wakeIfIdle();
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, current?.logger));
}

/** What a 'clientError' is, in the service's error format; null when there is no one to tell. */
export function clientErrorResponse(error: NodeJS.ErrnoException): { status: number; reason: string; code: string; message: string } | null {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        code: 'headers_too_large',
        message: `the request line and headers are over ${maxHeaderSize} bytes; send a shorter URL (no long query string: images go in the body) and fewer or shorter headers`,
      };
    case 'HPE_REQUEST_TIMEOUT':
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        reason: 'Request Timeout',
        code: 'request_timeout',
        message: 'the request line and headers did not arrive in time; send the whole request promptly',
      };
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    default:
      return {
        status: 400,
        reason: 'Bad Request',
        code: 'malformed_request',
        message: `the request is not valid HTTP/1.1 (${(error as { reason?: string }).reason ?? error.code ?? 'parse error'}); end every header line with CRLF, with no bare CR or LF and no control characters in names or values`,
      };
  }
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, logger: Logger | undefined): void {
  const described = clientErrorResponse(error);
  const pending = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // A response already under way on this connection cannot be followed by another one.
  if (described === null || !socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  const requestId = requestIdFrom(undefined);
  const mapped = toErrorResponse(new BadRequestError(described.code, described.message), requestId);
  const body = JSON.stringify({ error: { ...mapped.body.error, code: described.code } });
  logger?.warning(`${described.status} ${described.code} from the HTTP parser`, {
    request_id: requestId,
    error_code: described.code,
    parser_error: error.code,
  });
  socket.end(
    `HTTP/1.1 ${described.status} ${described.reason}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function track(request: IncomingMessage, response: ServerResponse): void {
  const server = (request.socket as { server?: unknown } | undefined)?.server;
  if (server !== undefined && server !== null && typeof (server as Server).close === 'function') servers.add(server as Server);
  fresh.delete(request.socket);
  open.set(response, request);
  // While shutting down, no connection is kept alive for another request.
  if (draining) response.setHeader('Connection', 'close');
  response.once('close', () => {
    open.delete(response);
    wakeIfIdle();
  });
}

function wakeIfIdle(): void {
  if (open.size === 0 && fresh.size === 0) for (const wake of [...idleWaiters]) wake();
}

/**
 * Claims a response for the handler that is about to record its telemetry and send it. False when
 * the front door has answered it already (the handler must then neither record nor send).
 */
export function claimResponse(response: ServerResponse): boolean {
  if (answered.has(response) || response.headersSent) return false;
  claimed.add(response);
  return true;
}

/**
 * The first step of shutdown: every request that reaches the service from now on is answered 503
 * shutting_down (with Connection: close). The port stays open until `closeServers`: a request the
 * client sent before the signal but that was not yet read gets that answer, not a reset connection.
 */
export function stopAccepting(): void {
  if (draining) return;
  draining = true;
  for (const response of open.keys()) if (!response.headersSent) response.setHeader('Connection', 'close');
  // Keep-alive connections that have been answered and carry nothing now would only bring new
  // requests: close them. (Not server.closeIdleConnections(): it also closes connections whose
  // first request has not arrived yet.)
  const busy = new Set<Duplex>([...open.values()].map((request): Duplex => request.socket));
  for (const socket of sockets) if (!fresh.has(socket) && !busy.has(socket)) socket.destroy();
}

/** Whether shutdown has begun (stopAccepting was called). */
export function isDraining(): boolean {
  return draining;
}

/** The last step of shutdown: close the listening sockets and the idle connections. */
export function closeServers(): void {
  for (const server of servers) {
    server.close();
    server.closeIdleConnections();
  }
}

/**
 * Answers new requests 503 (`stopAccepting`) and waits up to `timeoutMs` for the requests in flight
 * to be answered and for connections on which a request is still arriving. Resolves with the number
 * of requests still in flight (0 when all finished).
 */
export async function drainRequests(timeoutMs: number): Promise<number> {
  stopAccepting();
  if (open.size === 0 && fresh.size === 0) return 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    function done(): void {
      clearTimeout(timer);
      idleWaiters.delete(done);
      resolve();
    }
    idleWaiters.add(done);
  });
  return open.size;
}

/**
 * The end of the grace period: every request still running that no handler has claimed is
 * answered 503 shutting_down now (its handler's answer and telemetry are dropped when it finishes).
 * Resolves with how many were cut off, once every request in flight is answered or after `waitMs`.
 */
export async function cutOffRequests(logger: Logger, waitMs: number): Promise<number> {
  let cut = 0;
  for (const [response, request] of open) {
    if (claimed.has(response) || response.headersSent) continue;
    answer(
      new ServiceUnavailableError('shutting_down', 'this instance shut down before the request was finished; retry, another instance will answer', 1),
      request,
      response,
      logger,
      true,
    );
    cut += 1;
  }
  await drainRequests(waitMs);
  return cut;
}

/** Requests being answered right now (for shutdown and tests). */
export function requestsInFlight(): number {
  return open.size;
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

/**
 * A request that arrives during shutdown: its body (within the limit) is read and dropped, then it
 * is answered 503 shutting_down, so that a client still uploading reads the answer instead of a
 * reset connection. A body that does not end within a second is answered anyway.
 */
function refuseWhileDraining(request: IncomingMessage, response: ServerResponse, options: FrontDoorOptions): void {
  const refuse = (): void => {
    clearTimeout(timer);
    answer(
      new ServiceUnavailableError('shutting_down', 'this instance is shutting down; retry, another instance will answer', 1),
      request,
      response,
      options.logger,
      true,
    );
  };
  const timer = setTimeout(refuse, 1000);
  countBodyBytes(request, response, options);
  request.once('end', refuse);
  request.once('error', refuse);
  request.resume();
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
  answered.add(response);
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
