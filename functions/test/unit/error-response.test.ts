import {
  BadRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
} from '../../src/platform/errors';
import { toErrorResponse } from '../../src/serving/http/error-response';
import { ConfigError } from '../../src/platform/settings';
import { AppError, DetectorError, InternalError, isDetectorError } from '../../src/platform/errors';
import { InvalidModelFileError } from '../../src/detector/model/model-metadata';
import { BlobNotFoundError, PreconditionFailedError } from '../../src/platform/storage/blob-store';
import { StorageTimeoutError } from '../../src/platform/storage/deadline-blob-store';

describe('toErrorResponse', () => {
  it.each([
    [new BadRequestError('invalid_base64', 'bad'), 400, 'invalid_base64', {}],
    [new UnauthorizedError(), 401, 'unauthorized', { 'WWW-Authenticate': 'Bearer' }],
    [new MethodNotAllowedError('GET', ['POST']), 405, 'method_not_allowed', { Allow: 'POST' }],
    [new PayloadTooLargeError('too_many_pixels', 'big'), 413, 'too_many_pixels', {}],
    [new RateLimitedError(0.2), 429, 'rate_limited', { 'Retry-After': '1' }],
    [new ServiceUnavailableError('model_unavailable', 'later', 7), 503, 'model_unavailable', { 'Retry-After': '7' }],
  ])('keeps status, code and headers of %p', (error, status, code, headers) => {
    const response = toErrorResponse(error, 'req-1');
    expect(response.status).toBe(status);
    expect(response.body.error).toEqual({ code, message: error.message, request_id: 'req-1' });
    expect(response.headers).toEqual(headers);
    expect(response.internal).toBe(false);
  });

  it('maps the framework body parser errors to 4xx', () => {
    const parseFailed = Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed', status: 400, expose: true });
    expect(toErrorResponse(parseFailed, 'r').body.error.code).toBe('invalid_json');
    expect(toErrorResponse(parseFailed, 'r').status).toBe(400);
    const tooLarge = Object.assign(new Error('too large'), { type: 'entity.too.large', limit: 10, length: 20, expose: true });
    expect(toErrorResponse(tooLarge, 'r')).toMatchObject({ status: 413, body: { error: { code: 'request_too_large' } } });
  });

  it('hides the details of unknown errors behind a generic 500', () => {
    const response = toErrorResponse(new TypeError('secret path /srv/x is broken'), 'req-9');
    expect(response.status).toBe(500);
    expect(response.internal).toBe(true);
    expect(JSON.stringify(response.body)).not.toContain('secret');
    expect(response.body.error.code).toBe('internal');
  });

  it.each([
    ['a missing blob', new BlobNotFoundError('gs://private-bucket/models', 'shoes/v1/model.onnx')],
    ['a lost compare-and-swap', new PreconditionFailedError('/srv/models', 'shoes/production.json', '17')],
    ['a storage deadline', new StorageTimeoutError('gs://private-bucket/telemetry', 'write x', 10000)],
    ['a bad model file', new InvalidModelFileError('shoes/v1/metadata.json', 'input.name is missing')],
    ['bad settings', new ConfigError(['MODEL_STORE must be …'])],
  ])('answers %s, an error about our own storage or files, as a generic 500 that names nothing', (_name, error) => {
    expect(error).toBeInstanceOf(InternalError);
    expect(isDetectorError(error)).toBe(true);
    const response = toErrorResponse(error, 'req-1');
    expect(response).toMatchObject({ status: 500, internal: true, body: { error: { code: 'internal' } } });
    expect(JSON.stringify(response.body)).not.toMatch(/private-bucket|srv|shoes|MODEL_STORE/);
  });

  it('has one root: client errors and internal errors are both DetectorErrors with a code', () => {
    const client = new BadRequestError('invalid_json', 'bad');
    expect(client).toBeInstanceOf(AppError);
    expect(client).toBeInstanceOf(DetectorError);
    expect(new BlobNotFoundError('l', 'k').code).toBe('blob_not_found');
    expect(new BlobNotFoundError('l', 'k').name).toBe('BlobNotFoundError');
  });
});
