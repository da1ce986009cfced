/** Builds the OpenAPI 3.1 document from the same schemas that validate requests. */
import { emptyEvidence } from '../../detector/evidence/extract-evidence';
import {
  batchItemSchema,
  batchJsonRequestSchema,
  batchResponseSchema,
  errorResponseSchema,
  feedbackJsonRequestSchema,
  feedbackResponseSchema,
  explainResponseSchema,
  healthResponseSchema,
  predictJsonRequestSchema,
  predictResponseSchema,
} from './schemas';

function component(schema: { $id: string }): Record<string, unknown> {
  const { $id: _id, ...rest } = schema as Record<string, unknown>;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** What each error status means here, with one real answer of it as the example. */
const ERRORS: Record<number, { description: string; code: string; message: string }> = {
  400: {
    description: 'Malformed request, missing or undecodable image (see error.code).',
    code: 'undecodable_image',
    message: 'the JPEG image could not be decoded: premature end of JPEG image',
  },
  401: {
    description: 'Missing or invalid API key.',
    code: 'unauthorized',
    message: 'a valid API key is required: send it as X-API-Key or Authorization: Bearer <key>',
  },
  403: {
    description: 'The gs:// bucket is not in ALLOWED_BUCKETS.',
    code: 'bucket_not_allowed',
    message: 'bucket "someone-elses-bucket" is not in ALLOWED_BUCKETS',
  },
  404: {
    description: 'Unknown model, or an object that does not exist.',
    code: 'unknown_model',
    message: 'unknown model "nope": no production version of it is published in the model store',
  },
  409: {
    description: 'The image is already in the feedback with the other label.',
    code: 'feedback_conflict',
    message:
      'this image (sha256 3f1c…) is already in the feedback as real; feedback never relabels an image, a person reviewing shoes/train/REAL/3f1c….jpg does',
  },
  405: { description: 'Wrong method; see the Allow header.', code: 'method_not_allowed', message: 'method GET is not allowed here; use POST' },
  413: {
    description: 'Too many bytes, pixels, batch items or too costly to decode.',
    code: 'too_many_pixels',
    message: 'image is 60000×60000 pixels (3600.0 MP); the limit is 40.0 MP',
  },
  415: {
    description: 'Unsupported content type, encoding, charset or image format.',
    code: 'unsupported_format',
    message: 'GIF images are not supported; send a JPEG, PNG, WebP or AVIF image',
  },
  429: { description: 'Rate limited; see Retry-After.', code: 'rate_limited', message: 'too many requests; retry after 1 s' },
  500: {
    description: 'A bug (internal: the details are in the log under the request id).',
    code: 'internal',
    message: 'internal error; it has been logged with this request id',
  },
  503: {
    description:
      'Model unavailable or instance shutting down (see Retry-After), or default_model_not_published: DEFAULT_MODEL names a model the store does not have (no Retry-After: retrying will not mend it; the message lists the models it has).',
    code: 'model_unavailable',
    message: 'model "shoes" could not be loaded; retry shortly',
  },
};

function errors(...statuses: number[]): Record<string, unknown> {
  return Object.fromEntries(
    [...statuses, 500].map((status) => {
      const known = ERRORS[status]!;
      const example = { error: { code: known.code, message: known.message, request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a' } };
      return [String(status), { description: known.description, content: { 'application/json': { schema: ref('ErrorResponse'), example } } }];
    }),
  );
}

/** The evidence of a camera JPEG without manifest or generator marks, for the examples. */
const NO_EVIDENCE = { ...emptyEvidence(), exif: { make: 'Canon', model: 'Canon EOS R5', software: null, user_comment: null } };

const VERDICT_EXAMPLE = {
  prediction: 'real',
  verdict: 'real',
  decided_by: 'pixels',
  verdict_reasons: ['EXIF names a camera (Canon Canon EOS R5): reported, not trusted', 'P(AI) 0.0395 is below the threshold 0.5'],
  probability: 0.0395,
  confidence: 'high',
  threshold: 0.5,
  model: { name: 'shoes', version: '20261126T073803Z-2fbd56b5' },
  image: { width: 320, height: 240, format: 'jpeg', bytes: 17969 },
  timing_ms: { decode: 5.25, inference: 2.32, total: 8.1 },
  evidence: NO_EVIDENCE,
  generator: null,
};

const GENERATED_EXAMPLE = {
  ...VERDICT_EXAMPLE,
  verdict: 'ai_generated',
  decided_by: 'metadata',
  verdict_reasons: ['png:parameters was written by stable-diffusion-webui'],
  image: { width: 1024, height: 1024, format: 'png', bytes: 1450211 },
  evidence: {
    ...NO_EVIDENCE,
    exif: { make: null, model: null, software: null, user_comment: null },
    generators: [{ generator: 'stable-diffusion-webui', source: 'png:parameters', model: 'sd_xl_base_1.0' }],
    text_chunks: { count: 1, keywords: ['parameters'] },
  },
  generator: { name: 'Stable Diffusion web UI', model: 'sd_xl_base_1.0', vendor: null, source: 'png:parameters' },
};

/** OpenAI's Content Credentials (functions/test/fixtures/evidence/openai-gpt-image.png), as the service reads them. */
const OPENAI_SIGNER = {
  organization: 'OpenAI OpCo, LLC',
  common_name: 'OpenAI Media Service',
  issuer_organization: 'Trufo Inc.',
  issuer_common_name: 'Trufo C2PA Claim Signing CA (2025)',
  not_before: '2026-03-23T02:53:02+00:00',
  not_after: '2027-03-24T02:53:02+00:00',
  algorithm: 'es256',
  timestamp: '2026-05-05T08:45:35.537091+00:00',
};

const C2PA_EXAMPLE = {
  ...VERDICT_EXAMPLE,
  prediction: 'ai_generated',
  verdict: 'ai_generated',
  decided_by: 'c2pa',
  probability: 0.8123,
  confidence: 'high',
  verdict_reasons: ['a C2PA manifest with intact signature and hash binding (valid) declares trainedAlgorithmicMedia'],
  image: { width: 1254, height: 1254, format: 'png', bytes: 1475901 },
  evidence: {
    ...NO_EVIDENCE,
    exif: { make: null, model: null, software: null, user_comment: null },
    c2pa: {
      present: true,
      validation: 'valid',
      codes: [],
      claim_generator: 'OpenAI Media Service API',
      digital_source_types: ['trainedAlgorithmicMedia'],
      trust_list: '2026-08.1',
      signer: OPENAI_SIGNER,
      manifests: [
        {
          label: 'urn:c2pa:c09c079d-8bf9-4eb7-b033-e82e07b70c36',
          active: true,
          validation: 'valid',
          codes: [],
          claim_generator: 'OpenAI Media Service API',
          signer: OPENAI_SIGNER,
          digital_source_types: ['trainedAlgorithmicMedia'],
        },
      ],
      actions: [
        { action: 'c2pa.created', digital_source_type: 'trainedAlgorithmicMedia', software_agent: 'gpt-image pre-2.0' },
        { action: 'c2pa.converted', digital_source_type: null, software_agent: null },
      ],
      origin: 'generated',
    },
  },
  generator: { name: 'gpt-image pre-2.0', model: null, vendor: 'OpenAI OpCo, LLC', source: 'c2pa' },
};

/** Four of the sixteen cells of an occlusion map of a 320×240 photo (shoes: 128×128 cover, so the centre 240×240). */
const EXPLAIN_EXAMPLE = {
  ...VERDICT_EXAMPLE,
  explanation: {
    method: 'occlusion',
    rows: 4,
    cols: 4,
    cells: [
      { row: 0, col: 0, box: { x: 40, y: 0, width: 60, height: 60 }, probability: 0.0371, drop: 0.0024, weight: 0.024 },
      { row: 0, col: 1, box: { x: 100, y: 0, width: 60, height: 60 }, probability: 0.0412, drop: -0.0017, weight: 0 },
      { row: 1, col: 1, box: { x: 100, y: 60, width: 60, height: 60 }, probability: 0.0188, drop: 0.0207, weight: 0.207 },
      { row: 3, col: 3, box: { x: 220, y: 180, width: 60, height: 60 }, probability: 0.0402, drop: -0.0007, weight: 0 },
    ],
  },
  heatmap: { width: 320, height: 240, format: 'png' },
  heatmap_png: 'iVBORw0KGgoAAAANSUhEUgAAAUAAAADwCAIAAAD+Tyo8AAA…',
  timing_ms: { decode: 5.25, inference: 2.32, explain_inference: 9.8, total: 31.4 },
  request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a',
};

const modelParameter = {
  name: 'model',
  in: 'query',
  required: false,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
  description: 'Model name; DEFAULT_MODEL when absent.',
};

const security = [{ apiKey: [] }, { bearer: [] }];
/** Open to everyone, stated explicitly. */
const open: never[] = [];

/** The request body of the one-image operations (/predict, /explain): any of the four input forms. */
const oneImageBody = {
  required: true,
  content: {
    'multipart/form-data': {
      schema: { type: 'object', properties: { image: { type: 'string', format: 'binary', description: 'Field "image" (or "file").' } } },
    },
    'image/*': { schema: { type: 'string', format: 'binary' } },
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
    'application/json': { schema: ref('PredictJsonRequest'), example: { image: '/9j/4AAQSkZJRgABAQAAAQABAAD…' } },
  },
};

export function buildOpenApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'AI Product Photo Detector',
      version,
      description:
        'Tells whether a product photo was made by a generative model. Images: JPEG, PNG, WebP, AVIF (format from magic bytes; the first frame of animations).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      { url: 'http://localhost:8080', description: 'npm start: every function on one port' },
      {
        url: 'https://{region}-{project}.cloudfunctions.net',
        description: 'A deployment (terraform output base_url): each function at /<name>',
        variables: { region: { default: 'europe-west1' }, project: { default: 'my-project' } },
      },
    ],
    paths: {
      '/predict': {
        post: {
          summary: 'Score one image',
          operationId: 'predict',
          parameters: [modelParameter],
          security,
          requestBody: oneImageBody,
          responses: {
            '200': {
              description: 'The verdict.',
              content: {
                'application/json': {
                  schema: ref('PredictResponse'),
                  examples: {
                    pixels: {
                      summary: 'Decided by the pixels (camera EXIF is reported, not trusted)',
                      value: { ...VERDICT_EXAMPLE, request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a' },
                    },
                    generatorChunk: {
                      summary: "Decided by a generator's own PNG chunk",
                      value: { ...GENERATED_EXAMPLE, request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a' },
                    },
                    c2pa: {
                      summary: "Decided by OpenAI's C2PA manifest declaring trainedAlgorithmicMedia, its signer on the C2PA trust list",
                      value: { ...C2PA_EXAMPLE, request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a' },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 403, 404, 405, 413, 415, 429, 503),
          },
        },
      },
      '/batch': {
        post: {
          summary: 'Score several images in one inference call',
          operationId: 'batch',
          parameters: [modelParameter],
          security,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': { schema: { type: 'object', description: 'One file part per image; the filename is echoed back.' } },
              'application/json': {
                schema: ref('BatchJsonRequest'),
                example: {
                  images: [
                    { id: 'sku-1', image: '/9j/4AAQSkZJRgABAQAAAQABAAD…' },
                    { id: 'sku-2', uri: 'gs://shop-photos/listing/42.jpg' },
                  ],
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'One result per item, in request order; an item that failed carries an error instead of a verdict.',
              content: {
                'application/json': {
                  schema: ref('BatchResponse'),
                  example: {
                    results: [
                      { id: 'sku-1', ...VERDICT_EXAMPLE },
                      { id: 'sku-2', error: { code: 'too_many_pixels', message: 'image is 60000×60000 pixels (3600.0 MP); the limit is 40.0 MP' } },
                    ],
                    total: 2,
                    succeeded: 1,
                    failed: 1,
                    model: VERDICT_EXAMPLE.model,
                    timing_ms: { decode: 12.3, inference: 4.1, total: 17.9 },
                    request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a',
                  },
                },
              },
            },
            ...errors(400, 401, 404, 405, 413, 415, 429, 503),
          },
        },
      },
      '/explain': {
        post: {
          summary: 'Score one image and show where: a per-patch grid and a heatmap PNG',
          description:
            "Same inputs, limits and auth as /predict, and the same scoring path. Models that score patches return their patch grid; whole-image models (shoes, cifake) get an occlusion map: each of 4×4 cells of the model input is greyed out and all 16 variants are scored in one more inference call. The heatmap is the image, at most 512 px on its long side, tinted red by each cell's weight.",
          operationId: 'explain',
          parameters: [modelParameter],
          security,
          requestBody: oneImageBody,
          responses: {
            '200': {
              description: 'The verdict, the grid and the heatmap.',
              content: { 'application/json': { schema: ref('ExplainResponse'), example: EXPLAIN_EXAMPLE } },
            },
            ...errors(400, 401, 403, 404, 405, 413, 415, 429, 503),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness, version and model state; ?deep=1 loads the model and runs one inference',
          operationId: 'health',
          security: open,
          parameters: [modelParameter, { name: 'deep', in: 'query', required: false, schema: { enum: ['0', '1'] } }],
          responses: {
            '200': {
              description: 'Healthy.',
              content: {
                'application/json': {
                  schema: ref('HealthResponse'),
                  example: {
                    status: 'ok',
                    version: '0.1.0',
                    uptime_s: 12.5,
                    default_model: 'shoes',
                    decoder: 'sharp',
                    models: [
                      {
                        name: 'shoes',
                        loaded: true,
                        version: '20261126T073803Z-2fbd56b5',
                        sha256: 'ab12…',
                        loaded_at: '2026-12-01T10:00:00.000Z',
                        last_error: null,
                        last_error_at: null,
                      },
                    ],
                  },
                },
              },
            },
            '503': { description: 'Deep check failed.', content: { 'application/json': { schema: ref('HealthResponse') } } },
            ...errors(400, 405),
          },
        },
      },
      '/drift': {
        get: {
          summary: 'Latest drift report per model',
          operationId: 'getDriftReports',
          security,
          parameters: [modelParameter],
          responses: { '200': { description: 'Reports.', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(400, 401, 404, 429) },
        },
        post: {
          summary: 'Compute drift reports now (Cloud Scheduler)',
          operationId: 'computeDriftReports',
          security,
          responses: { '200': { description: 'New reports.', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(401, 429, 503) },
        },
      },
      '/feedback': {
        post: {
          summary: 'Say what an image really is',
          description:
            'Stores the image once per sha256 under FEEDBACK_STORE/<model>/ in the dataset layout. The next training run with --with-feedback adds it to the train split only (never val or test) and the gate still decides. Same API keys, rate limit and size limits as /predict.',
          operationId: 'feedback',
          parameters: [{ ...modelParameter, description: 'Model the feedback is for; DEFAULT_MODEL (or the model of the named prediction) when absent.' }],
          security,
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['label'],
                  properties: {
                    image: { type: 'string', format: 'binary', description: 'Field "image" (or "file"); or give request_id.' },
                    request_id: { type: 'string', description: 'The request_id of a recent /predict answer of the same instance.' },
                    label: { enum: ['real', 'ai_generated'] },
                    note: { type: 'string', maxLength: 1000 },
                  },
                },
              },
              'image/*': { schema: { type: 'string', format: 'binary', description: 'The image bytes, with ?label=real|ai_generated and optionally &note=.' } },
              'application/json': {
                schema: ref('FeedbackJsonRequest'),
                example: { request_id: '6f1c0e1e-8a51-4a5e-9d7e-3f9f4b6f2b1a', label: 'ai_generated', note: 'Midjourney' },
              },
            },
          },
          responses: {
            '201': { description: 'Stored.', content: { 'application/json': { schema: ref('FeedbackResponse') } } },
            '200': { description: 'Already stored with this label; nothing new.', content: { 'application/json': { schema: ref('FeedbackResponse') } } },
            ...errors(400, 401, 404, 405, 409, 413, 415, 429),
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          operationId: 'getOpenApiDocument',
          security: open,
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(405) },
        },
      },
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
        ExplainResponse: component(explainResponseSchema),
        HealthResponse: component(healthResponseSchema),
        ErrorResponse: component(errorResponseSchema),
        FeedbackJsonRequest: component(feedbackJsonRequestSchema),
        FeedbackResponse: component(feedbackResponseSchema),
      },
    },
  };
}
