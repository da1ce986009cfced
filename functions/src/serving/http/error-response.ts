/**
 * The one place that turns any thrown value into an HTTP error response. AppErrors keep their
 * status, code and message; errors raised by the framework's body parsers become the matching
 * 4xx; anything else is a bug: a generic 500 whose details go to the log, never to the client.
 */
import { AppError, isAppError } from '../../platform/errors';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: { error: { code: string; message: string; request_id: string } };
  /** True when the error is a bug that must be logged with its details. */
  internal: boolean;
}

interface BodyParserError {
  type: string;
  status?: number;
  limit?: number;
  length?: number;
  charset?: string;
  encoding?: string;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string' && 'expose' in error;
}

function fromBodyParser(error: BodyParserError): AppError | null {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError(400, 'invalid_json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new AppError(413, 'request_too_large', `the request body is ${error.length ?? 'too many'} bytes; the limit is ${error.limit ?? 'lower'} bytes`);
    case 'request.size.invalid':
    case 'request.aborted':
      return new AppError(400, 'incomplete_body', 'the request body ended before its declared Content-Length');
    case 'charset.unsupported':
      return new AppError(415, 'unsupported_charset', `charset ${error.charset ?? ''} is not supported; send UTF-8`);
    case 'encoding.unsupported':
      return new AppError(415, 'unsupported_content_encoding', `content encoding ${error.encoding ?? ''} is not supported; send identity or gzip`);
    default:
      return null;
  }
}

export function toErrorResponse(error: unknown, requestId: string): ErrorResponse {
  const known = isAppError(error) ? error : isBodyParserError(error) ? fromBodyParser(error) : null;
  if (known !== null) {
    return {
      status: known.status,
      headers: { ...known.headers },
      body: { error: { code: known.code, message: known.message, request_id: requestId } },
      internal: false,
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: { code: 'internal', message: 'internal error; it has been logged with this request id', request_id: requestId } },
    internal: true,
  };
}
