/** Builds the OpenAPI 3.1 document from the same schemas that validate requests. */
import {
  batchItemSchema,
  batchJsonRequestSchema,
  batchResponseSchema,
  errorResponseSchema,
  healthResponseSchema,
  predictJsonRequestSchema,
  predictResponseSchema,
} from './schemas';

function component(schema: { $id: string }): Record<string, unknown> {
  const { $id: _id, ...rest } = schema as Record<string, unknown>;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function errors(...statuses: number[]): Record<string, unknown> {
  const text: Record<number, string> = {
    400: 'Malformed request, missing or undecodable image (see error.code).',
    401: 'Missing or invalid API key.',
    403: 'The gs:// bucket is not in ALLOWED_BUCKETS.',
    404: 'Unknown model, or an object that does not exist.',
    405: 'Wrong method; see the Allow header.',
    413: 'Too many bytes, pixels or batch items.',
    415: 'Unsupported content type or image format.',
    429: 'Rate limited; see Retry-After.',
    503: 'Model unavailable; see Retry-After.',
  };
  return Object.fromEntries(
    statuses.map((status) => [String(status), { description: text[status], content: { 'application/json': { schema: ref('ErrorResponse') } } }]),
  );
}

const modelParameter = {
  name: 'model',
  in: 'query',
  required: false,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
  description: 'Model name; DEFAULT_MODEL when absent.',
};

const security = [{ apiKey: [] }, { bearer: [] }];

export function buildOpenApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'AI Product Photo Detector',
      version,
      description:
        'Tells whether a product photo was made by a generative model. Images: JPEG, PNG, WebP, AVIF (format from magic bytes; the first frame of animations).',
    },
    paths: {
      '/predict': {
        post: {
          summary: 'Score one image',
          parameters: [modelParameter],
          security,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', properties: { image: { type: 'string', format: 'binary', description: 'Field "image" (or "file").' } } },
              },
              'image/*': { schema: { type: 'string', format: 'binary' } },
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              'application/json': { schema: ref('PredictJsonRequest') },
            },
          },
          responses: {
            '200': { description: 'The verdict.', content: { 'application/json': { schema: ref('PredictResponse') } } },
            ...errors(400, 401, 403, 404, 405, 413, 415, 429, 503),
          },
        },
      },
      '/batch': {
        post: {
          summary: 'Score several images in one inference call',
          parameters: [modelParameter],
          security,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': { schema: { type: 'object', description: 'One file part per image; the filename is echoed back.' } },
              'application/json': { schema: ref('BatchJsonRequest') },
            },
          },
          responses: {
            '200': {
              description: 'One result per item, in request order; an item that failed carries an error instead of a verdict.',
              content: { 'application/json': { schema: ref('BatchResponse') } },
            },
            ...errors(400, 401, 404, 405, 413, 415, 429, 503),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness, version and model state; ?deep=1 loads the model and runs one inference',
          parameters: [modelParameter, { name: 'deep', in: 'query', required: false, schema: { enum: ['0', '1'] } }],
          responses: {
            '200': { description: 'Healthy.', content: { 'application/json': { schema: ref('HealthResponse') } } },
            '503': { description: 'Deep check failed.', content: { 'application/json': { schema: ref('HealthResponse') } } },
          },
        },
      },
      '/drift': {
        get: { summary: 'Latest drift report per model', security, responses: { '200': { description: 'Reports.' }, ...errors(401, 404) } },
        post: { summary: 'Compute drift reports now (Cloud Scheduler)', security, responses: { '200': { description: 'New reports.' }, ...errors(401, 405) } },
      },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        PredictJsonRequest: component(predictJsonRequestSchema),
        BatchJsonRequest: {
          ...component(batchJsonRequestSchema),
          properties: { images: { type: 'array', items: ref('BatchItem'), maxItems: 20 } },
        },
        BatchItem: component(batchItemSchema),
        PredictResponse: component(predictResponseSchema),
        BatchResponse: component(batchResponseSchema),
        HealthResponse: component(healthResponseSchema),
        ErrorResponse: component(errorResponseSchema),
      },
    },
  };
}
