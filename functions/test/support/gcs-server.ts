/**
 * A local Cloud Storage server for tests: enough of the JSON API for the real @google-cloud/storage
 * client, pointed at it with `new GcsBlobStore({ bucket, prefix, apiEndpoint: server.url })`.
 *
 *   const server = await startGcsServer();
 *   server.put('bucket', 'models/v1/model.onnx', bytes);  // seed an object (new generation)
 *   server.get('bucket', 'models/v1/model.onnx');         // Buffer, or undefined when absent
 *   server.requests;                                      // [{ method: 'GET', path: '/storage/v1/b/...?alt=media' }]
 *   server.failNext(1, 503);                              // the next request is answered 503
 *   await server.close();
 *
 * Served: object metadata (GET /storage/v1/b/:bucket/o/:object), media download (`?alt=media`,
 * optionally pinned with `generation`), listing (GET /storage/v1/b/:bucket/o with `prefix`,
 * `maxResults` (default 1000, like the real API) and `pageToken`/`nextPageToken`), uploads
 * (POST /upload/storage/v1/b/:bucket/o with `uploadType=multipart` or `uploadType=media`) and delete.
 * `ifGenerationMatch` / `ifGenerationNotMatch` are honoured on every object request (`0` means "does
 * not exist"); a failed precondition is a 412 and a missing object a 404, both with the real API's
 * JSON error body. Every bucket exists and starts empty. Generations are distinct, increasing
 * integers, sent as decimal strings like the real API. Anything else is answered 501, so a client
 * call the server does not understand fails loudly instead of looking like a missing object.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** The request target as sent: path and query string. */
  path: string;
}

export interface GcsServer {
  /** Base URL (`http://127.0.0.1:PORT`), the `apiEndpoint` for the client. */
  readonly url: string;
  /** Every request received, in order, including the ones answered by `failNext`. */
  readonly requests: RecordedRequest[];
  /** Stores an object directly, as another writer would; it gets a new generation. */
  put(bucket: string, name: string, data: Buffer | string): void;
  /** The object's current content, or undefined when there is none. */
  get(bucket: string, name: string): Buffer | undefined;
  /** Answers the next `count` requests, whatever they are, with `status` and a JSON error body. */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

interface StoredObject {
  data: Buffer;
  generation: bigint;
  contentType: string;
  created: Date;
}

const DEFAULT_PAGE_SIZE = 1000;

export async function startGcsServer(): Promise<GcsServer> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const requests: RecordedRequest[] = [];
  let nextGeneration = BigInt(Date.now()) * 1000n;
  let failures: { remaining: number; status: number } = { remaining: 0, status: 0 };

  const objectsOf = (bucket: string): Map<string, StoredObject> => {
    let objects = buckets.get(bucket);
    if (objects === undefined) {
      objects = new Map();
      buckets.set(bucket, objects);
    }
    return objects;
  };

  const store = (bucket: string, name: string, data: Buffer, contentType: string): StoredObject => {
    nextGeneration += 1n;
    const object: StoredObject = { data, generation: nextGeneration, contentType, created: new Date() };
    objectsOf(bucket).set(name, object);
    return object;
  };

  let baseUrl = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    requests.push({ method, path: target });
    const body = await readBody(req);

    if (failures.remaining > 0) {
      failures.remaining -= 1;
      sendError(res, failures.status, `injected failure (status ${failures.status})`, 'backendError');
      return;
    }

    const url = new URL(target, 'http://localhost');
    const query = url.searchParams;
    const objectMatch = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    const listMatch = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
    const uploadMatch = /^\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);

    if (objectMatch?.[1] !== undefined && objectMatch[2] !== undefined && (method === 'GET' || method === 'DELETE')) {
      const bucket = decodeURIComponent(objectMatch[1]);
      const name = decodeURIComponent(objectMatch[2]);
      const objects = objectsOf(bucket);
      const object = objects.get(name);
      const pinned = query.get('generation');
      if (object === undefined || (pinned !== null && pinned !== String(object.generation))) {
        sendError(res, 404, `No such object: ${bucket}/${name}`, 'notFound');
        return;
      }
      if (!preconditionsHold(res, query, object.generation)) return;
      if (method === 'DELETE') {
        objects.delete(name);
        res.writeHead(204).end();
        return;
      }
      if (query.get('alt') === 'media') {
        const hashes = `crc32c=${crc32cBase64(object.data)},md5=${md5Base64(object.data)}`;
        res.writeHead(200, {
          'content-type': object.contentType,
          'content-length': String(object.data.length),
          'x-goog-generation': String(object.generation),
          'x-goog-metageneration': '1',
          'x-goog-hash': hashes,
          'x-goog-stored-content-encoding': 'identity',
          'x-goog-stored-content-length': String(object.data.length),
        });
        res.end(object.data);
        return;
      }
      sendJson(res, 200, resource(baseUrl, bucket, name, object));
      return;
    }

    if (listMatch?.[1] !== undefined && method === 'GET') {
      const bucket = decodeURIComponent(listMatch[1]);
      const prefix = query.get('prefix') ?? '';
      const pageSize = Number(query.get('maxResults') ?? DEFAULT_PAGE_SIZE);
      if (!Number.isInteger(pageSize) || pageSize < 1) {
        sendError(res, 400, `Invalid value for maxResults: ${query.get('maxResults')}`, 'invalid');
        return;
      }
      const token = query.get('pageToken');
      const after = token === null ? null : Buffer.from(token, 'base64url').toString('utf8');
      const names = [...objectsOf(bucket).keys()]
        .filter((name) => name.startsWith(prefix) && (after === null || name > after))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const page = names.slice(0, pageSize);
      const items = page.map((name) => resource(baseUrl, bucket, name, objectsOf(bucket).get(name) as StoredObject));
      const last = page[page.length - 1];
      sendJson(res, 200, {
        kind: 'storage#objects',
        ...(items.length > 0 ? { items } : {}),
        ...(names.length > page.length && last !== undefined ? { nextPageToken: Buffer.from(last, 'utf8').toString('base64url') } : {}),
      });
      return;
    }

    if (uploadMatch?.[1] !== undefined && method === 'POST') {
      const bucket = decodeURIComponent(uploadMatch[1]);
      const upload = parseUpload(query.get('uploadType'), req.headers['content-type'], body);
      if (typeof upload === 'string') {
        sendError(res, upload.startsWith('uploadType') ? 501 : 400, upload, 'invalid');
        return;
      }
      const name = query.get('name') ?? upload.name;
      if (name === undefined || name.length === 0) {
        sendError(res, 400, 'Required parameter: name', 'required');
        return;
      }
      const current = objectsOf(bucket).get(name);
      if (!preconditionsHold(res, query, current?.generation ?? 0n)) return;
      const object = store(bucket, name, upload.data, upload.contentType);
      sendJson(res, 200, resource(baseUrl, bucket, name, object));
      return;
    }

    sendError(res, 501, `${method} ${url.pathname} is not implemented by the test server`, 'notImplemented');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, `test server error: ${String(error)}`, 'backendError');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    requests,
    put(bucket, name, data) {
      store(bucket, name, Buffer.from(data), 'application/octet-stream');
    },
    get(bucket, name) {
      const object = buckets.get(bucket)?.get(name);
      return object === undefined ? undefined : Buffer.from(object.data);
    },
    failNext(count, status) {
      failures = { remaining: count, status };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** Answers 412 and returns false when `ifGenerationMatch` / `ifGenerationNotMatch` do not hold. */
function preconditionsHold(res: ServerResponse, query: URLSearchParams, current: bigint): boolean {
  for (const [parameter, wantsMatch] of [
    ['ifGenerationMatch', true],
    ['ifGenerationNotMatch', false],
  ] as const) {
    const value = query.get(parameter);
    if (value === null) continue;
    if (!/^\d+$/.test(value)) {
      sendError(res, 400, `Invalid argument: ${parameter}=${value}`, 'invalid');
      return false;
    }
    if ((BigInt(value) === current) !== wantsMatch) {
      sendError(res, 412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
      return false;
    }
  }
  return true;
}

interface Upload {
  name?: string;
  data: Buffer;
  contentType: string;
}

/** Returns the upload, or a message saying why the request body is not one. */
function parseUpload(uploadType: string | null, contentType: string | undefined, body: Buffer): Upload | string {
  if (uploadType === 'media') {
    return { data: body, contentType: contentType ?? 'application/octet-stream' };
  }
  if (uploadType !== 'multipart') {
    return `uploadType=${uploadType ?? ''} is not implemented by the test server (use multipart or media)`;
  }
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType ?? '')?.[1];
  if (boundary === undefined) return 'multipart upload without a boundary in Content-Type';
  const parts = splitBuffer(Buffer.concat([Buffer.from('\r\n'), body]), Buffer.from(`\r\n--${boundary}`))
    .slice(1)
    .filter((part) => !part.subarray(0, 2).equals(Buffer.from('--')));
  const [metadataPart, mediaPart] = parts.map(parsePart);
  if (metadataPart === undefined || mediaPart === undefined || parts.length !== 2) {
    return `multipart upload needs 2 parts (metadata, media); got ${parts.length}`;
  }
  let metadata: { name?: unknown; contentType?: unknown };
  try {
    metadata = JSON.parse(metadataPart.body.toString('utf8')) as typeof metadata;
  } catch {
    return 'the first multipart part is not JSON metadata';
  }
  return {
    ...(typeof metadata.name === 'string' ? { name: metadata.name } : {}),
    data: mediaPart.body,
    contentType: typeof metadata.contentType === 'string' ? metadata.contentType : (mediaPart.contentType ?? 'application/octet-stream'),
  };
}

function parsePart(part: Buffer): { contentType: string | undefined; body: Buffer } {
  const headerEnd = part.indexOf('\r\n\r\n');
  const headers = part.subarray(0, Math.max(headerEnd, 0)).toString('latin1');
  return {
    contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim(),
    body: headerEnd < 0 ? Buffer.alloc(0) : part.subarray(headerEnd + 4),
  };
}

function splitBuffer(buffer: Buffer, separator: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  for (let at = buffer.indexOf(separator); at >= 0; at = buffer.indexOf(separator, start)) {
    pieces.push(buffer.subarray(start, at));
    start = at + separator.length;
  }
  pieces.push(buffer.subarray(start));
  return pieces;
}

function resource(baseUrl: string, bucket: string, name: string, object: StoredObject): Record<string, unknown> {
  const encoded = encodeURIComponent(name);
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/o/${encoded}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${bucket}/o/${encoded}?generation=${object.generation}&alt=media`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: md5Base64(object.data),
    crc32c: crc32cBase64(object.data),
    etag: `${object.generation}`,
    timeCreated: object.created.toISOString(),
    updated: object.created.toISOString(),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The real API's error shape: `{ error: { code, message, errors: [{ message, domain, reason }] } }`. */
function sendError(res: ServerResponse, status: number, message: string, reason: string): void {
  sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli) as the API sends it: 4 big-endian bytes, base64. */
function crc32cBase64(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
