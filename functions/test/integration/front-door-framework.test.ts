/**
 * framework-hooks.ts is the one file that reaches into the Functions Framework: its copy of Express and
 * the server it makes. These tests fail, naming what moved, when an upgrade of the framework changes
 * either; and they check what the server hook gives: errors that Node's HTTP parser answers before
 * any JavaScript runs (a 64 KB query string, a bare CR in a header) come back in the service's JSON
 * error format, over a raw socket as a client would see them.
 */
import * as net from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { frameworkExpressPath } from '../../src/serving/http/framework-hooks';
import { startService } from '../support/test-service';
import { type FunctionClient, startFunction } from '../support/function-server';

let client: FunctionClient;

beforeAll(async () => {
  startService();
  client = await startFunction('app');
});

afterAll(async () => {
  await client.close();
});

/** Sends raw bytes and reads the whole answer (the server closes the connection after it). */
function rawRequest(url: string, bytes: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('the Functions Framework, as front-door.ts expects it', () => {
  it('has its own Express, whose application.handle the front door wraps', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express = require(frameworkExpressPath()) as { application?: { handle?: unknown } };
    expect(typeof express.application?.handle).toBe('function');
    expect((express.application?.handle as { name?: string }).name).toBe('handle');
  });

  it('makes its server with http.createServer, so the server gets the clientError answer before its first request', () => {
    const server = getTestServer('app');
    expect(server.listenerCount('clientError')).toBe(1);
  });

  it('runs every request through the wrapped Express handle (a request id on a framework route)', async () => {
    const response = await client.request('/favicon.ico');
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toMatch(/.+/);
    expect(response.body.error.code).toBe('not_found');
  });
});

describe("errors Node's HTTP parser answers before the app", () => {
  it.each([
    {
      name: 'a 64 KB query string',
      bytes: `GET /health?${'q='.padEnd(64 * 1024, 'x')} HTTP/1.1\r\nHost: localhost\r\n\r\n`,
      status: 431,
      code: 'headers_too_large',
      message: /over \d+ bytes; send a shorter URL/,
    },
    {
      name: 'a bare CR in a header',
      bytes: 'GET /health HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rb\r\n\r\n',
      status: 400,
      code: 'malformed_request',
      message: /not valid HTTP\/1\.1 .*end every header line with CRLF/,
    },
  ])('$name: $status $code in the JSON error format', async ({ bytes, status, code, message }) => {
    const response = await rawRequest(client.url, bytes);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['connection']).toBe('close');
    const body = JSON.parse(response.body) as { error: { code: string; message: string; request_id: string } };
    expect(body.error).toEqual({ code, message: expect.stringMatching(message), request_id: response.headers['x-request-id'] });
  });

  it('leaves the connection usable for nothing else, and the server for everything else', async () => {
    expect((await client.request('/health')).status).toBe(200);
  });
});
