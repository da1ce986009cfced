/**
 * Turns a request into image inputs: multipart/form-data (parsed by busboy from the body the
 * framework already buffered), a raw image body, or JSON with base64 images or gs:// URIs.
 * Structural problems of the request are thrown as AppErrors; problems of one batch item are
 * returned as that item's error so the other items still run.
 */
import Busboy from 'busboy';
import Ajv from 'ajv';
import { AppError, BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../platform/errors';
import { batchItemSchema, batchJsonRequestSchema, feedbackJsonRequestSchema, predictJsonRequestSchema } from '../api/schemas';
import { describeAjvErrors } from '../../platform/ajv-errors';
import { imageTooLarge } from '../../detector/image/image-header';
import { checkJsonShape } from './json-shape';
import type { ImageSource } from '../../detector/scoring/image-source';

export interface InputLimits {
  maxImageBytes: number;
  maxRequestBytes: number;
  maxBatchItems: number;
}

export interface ImageInput {
  /** Client-chosen id (JSON batch) or the item's index. */
  id: string | null;
  /** Multipart filename, when there was one. */
  filename: string | null;
  source: ImageSource | null;
  /** Set when this item alone is unusable. */
  error: AppError | null;
}

export interface IncomingRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body?: unknown;
  rawBody?: Buffer;
}

/** Made on first use: compiling the JSON schemas costs about 50 ms of a cold start whose first request is an upload. */
function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
const ajv = once(() => new Ajv({ allErrors: true, strict: false }));
const validateFeedbackJson = once(() =>
  ajv().compile<{ label: string; note?: string; image?: string; uri?: string; request_id?: string }>(feedbackJsonRequestSchema),
);
const validatePredictJson = once(() => ajv().compile(predictJsonRequestSchema));
const validateBatchJson = once(() => ajv().compile<{ images: unknown[] }>(batchJsonRequestSchema));
const validateBatchItem = once(() => ajv().compile(batchItemSchema));

const FILE_FIELDS = ['image', 'file'];
/** Non-file form fields tolerated (browsers may add a few); more is refused, never silently cut. */
const MAX_FORM_FIELDS = 100;

function header(request: IncomingRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function mediaType(request: IncomingRequest): string {
  return header(request, 'content-type').split(';')[0]!.trim().toLowerCase();
}

function bodyBytes(request: IncomingRequest, limits: InputLimits): Buffer {
  const raw = request.rawBody ?? (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
  if (raw.length > limits.maxRequestBytes) {
    throw new PayloadTooLargeError('request_too_large', `the request body is ${raw.length} bytes; the limit is ${limits.maxRequestBytes} bytes`);
  }
  return raw;
}

const BINARY_TYPES = /^(image\/[a-z0-9.+-]+|application\/octet-stream)$/;

/** /predict: exactly one image. */
export async function readPredictInput(request: IncomingRequest, limits: InputLimits): Promise<ImageInput> {
  const type = mediaType(request);
  const raw = bodyBytes(request, limits);
  if (type === 'multipart/form-data') {
    const files = await parseMultipart(request, raw, limits, 1);
    const named = files.filter((file) => FILE_FIELDS.includes(file.field));
    if (named.length === 0) {
      const seen = files.map((file) => `"${file.field}"`).join(', ');
      throw new BadRequestError('missing_image', `no file in form field "image" (or "file")${seen === '' ? '' : `; got ${seen}`}`);
    }
    if (named.length > 1) throw new BadRequestError('too_many_images', `this endpoint takes one image and got ${named.length}; send several to /batch`);
    const input = named[0]!.input;
    if (input.error !== null) throw input.error;
    return input;
  }
  if (type === 'application/json') {
    const body = jsonBody(
      request,
      raw,
      PREDICT_JSON_SHAPE,
      () => new BadRequestError('invalid_request', 'the JSON body holds more values than {"image": "<base64>"} or {"uri": "gs://bucket/object"} needs'),
    );
    const wrongUri = uriProblem(body);
    if (wrongUri !== null) throw wrongUri;
    if (!validatePredictJson()(body)) {
      throw new BadRequestError(
        'invalid_request',
        `JSON body must be {"image": "<base64>"} or {"uri": "gs://bucket/object"}: ${describeAjvErrors(validatePredictJson().errors)}`,
      );
    }
    const input = fromJsonItem(body, null, limits);
    if (input.error !== null) throw input.error;
    return input;
  }
  if (BINARY_TYPES.test(type)) {
    if (raw.length === 0) throw new BadRequestError('missing_image', 'the request body is empty; send the image bytes');
    checkImageSize(raw.length, limits);
    return { id: null, filename: null, source: { kind: 'bytes', bytes: raw }, error: null };
  }
  throw unsupportedContentType(type);
}

/** /batch: up to maxBatchItems images. */
export async function readBatchInputs(request: IncomingRequest, limits: InputLimits): Promise<ImageInput[]> {
  const type = mediaType(request);
  const raw = bodyBytes(request, limits);
  let inputs: ImageInput[];
  if (type === 'multipart/form-data') {
    inputs = (await parseMultipart(request, raw, limits, limits.maxBatchItems)).map((file) => file.input);
  } else if (type === 'application/json') {
    const body = jsonBody(
      request,
      raw,
      batchJsonShape(limits),
      () =>
        new PayloadTooLargeError(
          'too_many_items',
          `the JSON body holds more values than a batch of ${limits.maxBatchItems} images ({"id", "image" | "uri"} each) needs; the limit is ${limits.maxBatchItems} images`,
        ),
    );
    // Count before the schema, whose error list would grow with the array.
    const images = (body as { images?: unknown } | null)?.images;
    if (Array.isArray(images)) checkBatchCount(images.length, limits);
    if (!validateBatchJson()(body)) {
      throw new BadRequestError(
        'invalid_request',
        `JSON body must be {"images": [{"id": "...", "image": "<base64>" | "uri": "gs://..."}]}: ${describeAjvErrors(validateBatchJson().errors)}`,
      );
    }
    const items = body.images;
    inputs = items.map((item, index) => {
      const id = typeof (item as { id?: unknown }).id === 'string' ? (item as { id: string }).id : String(index);
      const wrongUri = uriProblem(item);
      if (wrongUri !== null) return { id, filename: null, source: null, error: wrongUri };
      if (!validateBatchItem()(item)) {
        return {
          id,
          filename: null,
          source: null,
          error: new BadRequestError(
            'invalid_item',
            `item ${index} must have exactly one of "image" or "uri": ${describeAjvErrors(validateBatchItem().errors)}`,
          ),
        };
      }
      return fromJsonItem(item, id, limits);
    });
  } else if (type === '') {
    throw new BadRequestError('missing_image', 'send images as multipart/form-data or JSON {"images": [...]}');
  } else {
    throw unsupportedContentType(type, true);
  }
  if (inputs.length === 0) throw new BadRequestError('empty_batch', 'the batch holds no images; send 1 to ' + String(limits.maxBatchItems));
  return inputs;
}

/**
 * A "uri" that is not gs:// (an https:// URL, say) as a sentence instead of a schema dump. The URI
 * itself is not echoed (a signed URL carries a credential), only its scheme.
 */
function uriProblem(body: unknown): AppError | null {
  const uri = typeof body === 'object' && body !== null ? (body as { uri?: unknown }).uri : undefined;
  if (typeof uri !== 'string' || /^gs:\/\//i.test(uri)) return null;
  const scheme = /^([a-z][a-z0-9+.-]{0,15}):/i.exec(uri)?.[1]?.toLowerCase();
  const got = scheme === undefined ? 'a value with no scheme' : `a URI starting with ${scheme}:`;
  return new BadRequestError(
    'invalid_uri',
    `"uri" accepts only gs://bucket/object in the buckets this service allows (ALLOWED_BUCKETS), and got ${got}; ` +
      'other URLs are not fetched: send the image itself (multipart/form-data, an image/* body or {"image": "<base64>"})',
  );
}

function unsupportedContentType(type: string, batch = false): AppError {
  if (type === '') return new BadRequestError('missing_image', 'no image: send multipart/form-data, an image/* body or JSON');
  const accepted = batch ? 'multipart/form-data or application/json' : 'multipart/form-data, image/*, application/octet-stream or application/json';
  return new UnsupportedMediaTypeError('unsupported_content_type', `Content-Type ${type} is not accepted; use ${accepted}`);
}

function checkBatchCount(count: number, limits: InputLimits): void {
  if (count > limits.maxBatchItems) {
    throw new PayloadTooLargeError('too_many_items', `the batch holds ${count} images; the limit is ${limits.maxBatchItems}`);
  }
}

function checkImageSize(size: number, limits: InputLimits): void {
  if (size > limits.maxImageBytes) {
    throw imageTooLarge(size, limits.maxImageBytes);
  }
}

/** A {"image"} or {"uri"} body with room for whitespace-free variants of itself. */
const PREDICT_JSON_SHAPE = { maxValues: 16, maxDepth: 4 };

function batchJsonShape(limits: InputLimits) {
  // Root, the array, and per item its object plus id, image and uri; generous for malformed items.
  return { maxValues: 16 + 8 * limits.maxBatchItems, maxDepth: 4 };
}

function jsonBody(request: IncomingRequest, raw: Buffer, shape: { maxValues: number; maxDepth: number }, tooMany: () => AppError): unknown {
  if (request.body !== undefined && !Buffer.isBuffer(request.body) && typeof request.body === 'object' && request.body !== null) {
    return request.body;
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(header(request, 'content-type'))?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError('unsupported_charset', `charset ${JSON.stringify(charset.slice(0, 40))} is not supported; send JSON as UTF-8`);
  }
  if (raw.length === 0) throw new BadRequestError('invalid_json', 'the JSON body is empty');
  const verdict = checkJsonShape(raw, shape);
  if (!verdict.ok) {
    if (verdict.reason === 'too_deep')
      throw new BadRequestError(
        'invalid_request',
        `the JSON body nests deeper than ${shape.maxDepth} levels; send {"image": …}, {"uri": …} or {"images": [...]}`,
      );
    throw tooMany();
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequestError('invalid_json', 'the request body is not valid JSON');
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict base64 (standard or URL-safe; whitespace and a data: URL prefix tolerated). */
export function decodeBase64Image(text: string, limits: InputLimits): Buffer {
  const payload = text.replace(/^data:[^,]{0,100};base64,/, '').replace(/\s+/g, '');
  if (payload.length === 0) throw new BadRequestError('empty_image', 'the base64 image is empty');
  const standard = BASE64.test(payload);
  if ((!standard && !BASE64URL.test(payload)) || payload.length % 4 === 1) {
    throw new BadRequestError('invalid_base64', 'the "image" field is not valid base64');
  }
  const estimated = Math.floor((payload.length * 3) / 4) - (payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0);
  checkImageSize(estimated, limits);
  return Buffer.from(payload, standard ? 'base64' : 'base64url');
}

function fromJsonItem(item: { image?: string; uri?: string }, id: string | null, limits: InputLimits): ImageInput {
  try {
    if (item.image !== undefined) return { id, filename: null, source: { kind: 'bytes', bytes: decodeBase64Image(item.image, limits) }, error: null };
    return { id, filename: null, source: { kind: 'uri', uri: item.uri! }, error: null };
  } catch (error) {
    if (error instanceof AppError) return { id, filename: null, source: null, error };
    throw error;
  }
}

interface MultipartFile {
  field: string;
  input: ImageInput;
}

function parseMultipart(
  request: IncomingRequest,
  raw: Buffer,
  limits: InputLimits,
  maxFiles: number,
  /** Filled with the form's text fields, when given. */
  fields?: Record<string, string>,
): Promise<MultipartFile[]> {
  return new Promise((resolve, reject) => {
    let parser: Busboy.Busboy;
    try {
      parser = Busboy({
        headers: { 'content-type': header(request, 'content-type') },
        // The whole body is already in memory and within maxRequestBytes: a file is read to its end, so
        // that a too-large one can be answered with its size, but only maxImageBytes of it are kept.
        limits: { fileSize: limits.maxRequestBytes, files: maxFiles, fields: MAX_FORM_FIELDS, fieldSize: 64 * 1024, parts: maxFiles + MAX_FORM_FIELDS },
        // Filenames as browsers send them: UTF-8, not latin1.
        defParamCharset: 'utf8',
      });
    } catch (error) {
      reject(new BadRequestError('malformed_multipart', `multipart body cannot be parsed: ${(error as Error).message}`));
      return;
    }
    const files: MultipartFile[] = [];
    const pending: Promise<void>[] = [];
    let tooManyFiles = false;
    let tooManyFields = false;
    parser.on('file', (field, stream, info) => {
      const index = files.length;
      const chunks: Buffer[] = [];
      let size = 0;
      const file: MultipartFile = {
        field,
        input: { id: String(index), filename: info.filename ?? null, source: null, error: null },
      };
      files.push(file);
      pending.push(
        new Promise<void>((done) => {
          stream.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= limits.maxImageBytes) chunks.push(chunk);
          });
          // A body cut off mid-file errors the file stream too; the parser's own 'error' reports it.
          stream.on('error', () => done());
          stream.on('end', () => {
            if (stream.truncated === true || size > limits.maxImageBytes) {
              file.input.error = imageTooLarge(stream.truncated === true ? null : size, limits.maxImageBytes);
            } else if (size === 0) {
              file.input.error = new BadRequestError('empty_image', `the file${info.filename ? ` "${info.filename}"` : ''} is empty (0 bytes)`);
            } else {
              // One chunk is a view of the request body already in memory: keep it rather than copy it.
              file.input.source = { kind: 'bytes', bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) };
            }
            done();
          });
        }),
      );
    });
    if (fields !== undefined) {
      parser.on('field', (name: string, value: string) => {
        fields[name] = value;
      });
    }
    parser.on('filesLimit', () => {
      tooManyFiles = true;
    });
    // Past these limits busboy ignores the rest of the form: refuse instead of losing an image silently.
    const tooManyParts = () => {
      tooManyFields = true;
    };
    parser.on('fieldsLimit', tooManyParts);
    parser.on('partsLimit', tooManyParts);
    parser.on('error', (error: Error) => {
      reject(new BadRequestError('malformed_multipart', `multipart body cannot be parsed: ${error.message}`));
    });
    parser.on('close', () => {
      Promise.all(pending)
        .then(() => {
          if (tooManyFields) {
            throw new BadRequestError(
              'too_many_fields',
              `the form has more than ${MAX_FORM_FIELDS} fields besides the image files; send only the image part(s)`,
            );
          }
          if (tooManyFiles) {
            if (maxFiles === 1) throw new BadRequestError('too_many_images', '/predict takes one image; send several to /batch');
            throw new PayloadTooLargeError('too_many_items', `the batch holds more than ${maxFiles} images; the limit is ${maxFiles}`);
          }
          resolve(files);
        })
        .catch(reject);
    });
    parser.end(raw);
  });
}

/** What POST /feedback carries: an image or a request id, the label, an optional note. */
export interface FeedbackRequestInput {
  source: ImageSource | { kind: 'request_id'; requestId: string };
  label: 'real' | 'ai_generated';
  note: string | null;
}

const FEEDBACK_LABELS = ['real', 'ai_generated'] as const;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_NOTE = 1000;

function feedbackFields(fields: Readonly<Record<string, unknown>>, where: string): { label: 'real' | 'ai_generated'; note: string | null } {
  const label = fields.label;
  if (typeof label !== 'string' || !(FEEDBACK_LABELS as readonly string[]).includes(label)) {
    throw new BadRequestError('invalid_label', `feedback needs ${where} "label": "real" or "ai_generated"; got ${JSON.stringify(label ?? null)}`);
  }
  const note = fields.note;
  if (note !== undefined && (typeof note !== 'string' || note.length > MAX_NOTE)) {
    throw new BadRequestError('invalid_note', `the note must be text of at most ${MAX_NOTE} characters`);
  }
  return { label: label as 'real' | 'ai_generated', note: typeof note === 'string' && note.trim() !== '' ? note : null };
}

/**
 * /feedback: the image in any /predict form (multipart "image" with "label" and "note" fields; JSON
 * {"image" | "uri" | "request_id", "label", "note"}; a raw image body with ?label=&note=).
 */
export async function readFeedbackInput(request: IncomingRequest & { query?: unknown }, limits: InputLimits): Promise<FeedbackRequestInput> {
  const type = mediaType(request);
  const raw = bodyBytes(request, limits);
  if (type === 'multipart/form-data') {
    const fields: Record<string, string> = {};
    const files = (await parseMultipart(request, raw, limits, 1, fields)).filter((file) => FILE_FIELDS.includes(file.field));
    const named = feedbackFields(fields, 'a form field');
    const requestId = fields.request_id;
    if (files.length === 0) {
      if (requestId === undefined)
        throw new BadRequestError('missing_image', 'feedback needs the image (form field "image") or the "request_id" of a recent prediction');
      if (!REQUEST_ID.test(requestId)) throw new BadRequestError('invalid_request_id', 'request_id must be 1-128 letters, digits or ._:-');
      return { source: { kind: 'request_id', requestId }, ...named };
    }
    const input = files[0]!.input;
    if (input.error !== null) throw input.error;
    return { source: input.source!, ...named };
  }
  if (type === 'application/json') {
    const body = jsonBody(
      request,
      raw,
      PREDICT_JSON_SHAPE,
      () => new BadRequestError('invalid_request', 'the JSON body holds more values than feedback needs'),
    );
    const wrongUri = uriProblem(body);
    if (wrongUri !== null) throw wrongUri;
    if (!validateFeedbackJson()(body)) {
      throw new BadRequestError(
        'invalid_request',
        `JSON body must be {"image": "<base64>" | "uri": "gs://…" | "request_id": "…", "label": "real" | "ai_generated", "note"?: "…"}: ${describeAjvErrors(validateFeedbackJson().errors)}`,
      );
    }
    const named = feedbackFields(body, 'a field');
    if (body.request_id !== undefined) return { source: { kind: 'request_id', requestId: body.request_id }, ...named };
    const input = fromJsonItem(body, null, limits);
    if (input.error !== null) throw input.error;
    return { source: input.source!, ...named };
  }
  if (BINARY_TYPES.test(type)) {
    if (raw.length === 0) throw new BadRequestError('missing_image', 'the request body is empty; send the image bytes');
    checkImageSize(raw.length, limits);
    const query = (typeof request.query === 'object' && request.query !== null ? request.query : {}) as Record<string, unknown>;
    return { source: { kind: 'bytes', bytes: raw }, ...feedbackFields(query, 'the query parameter') };
  }
  throw unsupportedContentType(type);
}
