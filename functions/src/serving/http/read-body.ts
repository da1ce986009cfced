/**
 * Reads a request body into memory once, within a byte limit. With a Content-Length the bytes go
 * straight into one buffer of that size (no list of chunks concatenated at the end, which would
 * hold the body twice); a chunked body is collected and joined once. A body that passes the limit
 * is 413 request_too_large, one that ends short of its Content-Length is 400 incomplete_body.
 */
import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError, isAppError } from '../../platform/errors';

export interface BodyHolder {
  headers: IncomingMessage['headers'];
  rawBody?: Buffer;
  body?: unknown;
}

/** Sets `req.rawBody` (and `req.body`) from the stream, unless something has read it already. */
export async function readBody(
  req: BodyHolder & Partial<Pick<IncomingMessage, 'on' | 'removeListener' | 'readable' | 'readableEnded' | 'complete'>>,
  limit: number,
): Promise<void> {
  if (req.rawBody !== undefined || typeof req.on !== 'function' || req.readableEnded === true || req.complete === true) return;
  const declared = req.headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
  if (length === 0 || (length === null && req.headers['transfer-encoding'] === undefined)) {
    req.rawBody = Buffer.alloc(0);
    req.body = req.rawBody;
    return;
  }
  if (length !== null && length > limit) throw requestTooLarge(String(length), limit);
  const stream = req as IncomingMessage;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const whole = length === null ? null : Buffer.allocUnsafe(length);
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('aborted', onAborted);
    };
    const fail = (error: unknown) => {
      cleanup();
      stream.resume();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > (length ?? limit)) {
        fail(
          length === null
            ? requestTooLarge(`more than ${limit}`, limit)
            : new BadRequestError('incomplete_body', `the request body is longer than its Content-Length of ${length} bytes`),
        );
        return;
      }
      if (whole !== null) chunk.copy(whole, received);
      else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = () => {
      cleanup();
      if (whole !== null && received !== length) {
        reject(new BadRequestError('incomplete_body', `the request body ended after ${received} of its declared ${length} bytes`));
        return;
      }
      resolve(whole ?? Buffer.concat(chunks, received));
    };
    const onError = (error: unknown) =>
      fail(isAppError(error) ? error : new BadRequestError('incomplete_body', 'the request body could not be read to its end', { cause: error }));
    const onAborted = () => fail(new BadRequestError('incomplete_body', 'the client aborted the request before its body was complete'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
  });
  req.rawBody = body;
  req.body = body;
}

/** 413 request_too_large: `size` is the body's length in words ("1073741824", "more than 200000"). */
export function requestTooLarge(size: string, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError('request_too_large', `the request body is ${size} bytes; the limit is ${limit} bytes (MAX_REQUEST_BYTES)`);
}
