/**
 * The Functions Framework parses request bodies (JSON, text, urlencoded) with Express middleware
 * before the function runs and offers no error hook: a malformed JSON body would get Express's
 * default HTML error page. This installs a final handler on Express apps created afterwards (the
 * framework creates its app after loading this module), so such requests get the service's JSON
 * error format, status and X-Request-Id like every other error.
 */
import { toErrorResponse } from './error-response';
import { requestIdFrom } from './request-id';
import type { Logger } from '../logger';

type Next = (error?: unknown) => void;
interface ExpressLikeApplication {
  handle(req: unknown, res: unknown, callback?: Next): void;
}
interface MinimalRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
}
interface MinimalResponse {
  headersSent: boolean;
  statusCode: number;
  setHeader(name: string, value: string): void;
  end(body: string): void;
}

let installed = false;

export function installBodyErrorHook(logger: Logger): void {
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
  const original = express.application.handle;
  express.application.handle = function handle(this: ExpressLikeApplication, req: unknown, res: unknown, callback?: Next): void {
    const done: Next = callback ?? ((error?: unknown) => finalHandler(error, req as MinimalRequest, res as MinimalResponse, logger));
    original.call(this, req, res, done);
  };
  installed = true;
}

function finalHandler(error: unknown, req: MinimalRequest, res: MinimalResponse, logger: Logger): void {
  if (res.headersSent) return;
  const requestId = requestIdFrom(req.headers['x-request-id']);
  const response =
    error === undefined
      ? { status: 404, headers: {}, body: { error: { code: 'not_found', message: 'no such endpoint', request_id: requestId } }, internal: false }
      : toErrorResponse(error, requestId);
  if (response.internal) logger.error('unhandled framework error', { error, request_id: requestId });
  else logger.warning(`${req.method ?? ''} rejected before the function ran: ${response.body.error.code}`, { request_id: requestId });
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('X-Request-Id', requestId);
  res.end(JSON.stringify(response.body));
}
