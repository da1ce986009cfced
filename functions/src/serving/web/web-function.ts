/**
 * Serves the web page (page-assets.ts) with a Content-Security-Policy that allows nothing from
 * another origin: the page's own script and stylesheet, images from the files the user picked,
 * and requests to this service only.
 */
import type { Request, Response } from '@google-cloud/functions-framework';
import { MethodNotAllowedError, NotFoundError } from '../../platform/errors';
import { toErrorResponse } from '../http/error-response';
import { requestIdFrom } from '../http/request-id';
import { APP_JS, type ImageRetention, indexHtml, STYLE_CSS } from './page-assets';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SCRIPT = { type: 'text/javascript; charset=utf-8', body: APP_JS };
const STYLE = { type: 'text/css; charset=utf-8', body: STYLE_CSS };
/**
 * Locally the router hands over /, /web/app.js and /web/style.css; deployed as the `web` function
 * (https://<region>-<project>.cloudfunctions.net/web) the same files arrive as /, /app.js and
 * /style.css. The page names them relative to itself (web/app.js), which resolves to both.
 */
function assets(retention: ImageRetention): Record<string, { type: string; body: string }> {
  const page = { type: 'text/html; charset=utf-8', body: indexHtml(retention) };
  return { '/': page, '/web': page, '/web/app.js': SCRIPT, '/app.js': SCRIPT, '/web/style.css': STYLE, '/style.css': STYLE };
}

/** `retention`: what the service keeps of an image (the page says so); the defaults are the settings' defaults. */
export function makeWebFunction(retention: ImageRetention = { recentPredictions: 200, recentSeconds: 900 }) {
  const ASSETS = assets(retention);
  return (req: Request, res: Response): Promise<void> => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const asset = ASSETS[req.path ?? '/'];
    const refusal =
      asset === undefined
        ? new NotFoundError('not_found', 'there is no such page')
        : req.method !== 'GET' && req.method !== 'HEAD'
          ? new MethodNotAllowedError(req.method, ['GET'])
          : null;
    if (refusal !== null || asset === undefined) {
      const mapped = toErrorResponse(refusal, requestId);
      res
        .status(mapped.status)
        .set({ ...mapped.headers, 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId })
        .send(JSON.stringify(mapped.body));
      return Promise.resolve();
    }
    res.status(200).set({
      'Content-Type': asset.type,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
      'X-Request-Id': requestId,
    });
    res.send(req.method === 'HEAD' ? '' : asset.body);
    return Promise.resolve();
  };
}
