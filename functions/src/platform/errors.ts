/**
 * One error hierarchy for the whole service. Every error that may reach a client carries a stable,
 * machine-readable `code`, an HTTP `status` and a message that is safe to show and says what was
 * wrong and what would be right. Anything that is not an AppError is a bug and becomes a generic 500.
 */
export interface AppErrorOptions {
  cause?: unknown;
  /** Extra response headers (Allow, Retry-After, ...). */
  headers?: Record<string, string>;
}

/**
 * The root of every error this project raises on purpose, in serving, the pipeline and the scripts:
 * a stable machine-readable `code`, a message in words, and `cause`.
 */
export class DetectorError extends Error {
  readonly code: string;
  /** Marks instances across realms (jest, worker threads) where `instanceof` fails. */
  readonly isDetectorError = true;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

export function isDetectorError(value: unknown): value is DetectorError {
  return typeof value === 'object' && value !== null && (value as { isDetectorError?: unknown }).isDetectorError === true;
}

/**
 * An error about the service's own storage, model files, telemetry or settings. It is never shown
 * to a client: the one error mapper logs it with its details and answers a generic 500 (or the
 * caller turns it into a 503 such as model_unavailable).
 */
export class InternalError extends DetectorError {}

/** An error a client may see: its HTTP status, extra headers and a message safe to show. */
export class AppError extends DetectorError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Marks instances across realms (jest, worker threads) where `instanceof` fails. */
  readonly isAppError = true;

  constructor(status: number, code: string, message: string, options: AppErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = status;
    this.headers = Object.freeze({ ...(options.headers ?? {}) });
  }
}

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { isAppError?: unknown }).isAppError === true &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { status?: unknown }).status === 'number'
  );
}

/** 400: the request is malformed, or the image is missing or cannot be decoded. */
export class BadRequestError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(400, code, message, options);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required: send it as X-API-Key or Authorization: Bearer <key>') {
    super(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(403, code, message, options);
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(404, code, message, options);
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, allowed: readonly string[]) {
    super(405, 'method_not_allowed', `method ${method} is not allowed here; use ${allowed.join(' or ')}`, {
      headers: { Allow: allowed.join(', ') },
    });
  }
}

/** 409: the request contradicts what is stored (feedback giving an image another label). */
export class ConflictError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(409, code, message, options);
  }
}

/** 413: too many bytes, too many pixels or too many batch items. */
export class PayloadTooLargeError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(413, code, message, options);
  }
}

/** 415: the body or the image is of a type this service does not accept. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(code: string, message: string, options?: AppErrorOptions) {
    super(415, code, message, options);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(429, 'rate_limited', `too many requests; retry after ${seconds} s`, {
      headers: { 'Retry-After': String(seconds) },
    });
  }
}

/** 503: the model (or another dependency) cannot serve right now; the client should retry. */
export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds = 5, options: AppErrorOptions = {}) {
    super(503, code, message, {
      ...options,
      headers: { ...(options.headers ?? {}), 'Retry-After': String(retryAfterSeconds) },
    });
  }
}
