/**
 * Starts a registered function through the Functions Framework's own test server on a free
 * loopback port and gives back a tiny fetch-based client. Every request goes through the real
 * framework middleware (body parsers, rawBody, routing) exactly as in production.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

/** RequestInit whose body may also be a Buffer (a valid fetch body at run time). */
export type TestRequestInit = Omit<RequestInit, 'body'> & { body?: unknown };

export interface FunctionClient {
  url: string;
  request(path: string, init?: TestRequestInit): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function startFunction(name: string): Promise<FunctionClient> {
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async request(path, init = {}) {
      const response = await fetch(`${url}${path}`, init as RequestInit);
      const text = await response.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      return { status: response.status, headers: response.headers, body, text };
    },
    // Every connection goes, idle or not: a kept-alive socket would hold Jest's worker open after the tests.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A multipart/form-data body with the given file parts (field, filename, bytes, content type). */
export function multipart(parts: Array<{ field: string; filename?: string; bytes: Buffer | Uint8Array; type?: string }>): FormData {
  const form = new FormData();
  for (const part of parts) {
    form.append(part.field, new Blob([part.bytes as unknown as ArrayBuffer], { type: part.type ?? 'application/octet-stream' }), part.filename ?? 'upload.bin');
  }
  return form;
}

/** Writes a multipart body by hand, for malformed variants. */
export function rawMultipart(boundary: string, parts: Array<{ field: string; filename: string; bytes: Buffer }>, terminate = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.field}"; filename="${part.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    );
    chunks.push(part.bytes);
    chunks.push(Buffer.from('\r\n'));
  }
  if (terminate) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
