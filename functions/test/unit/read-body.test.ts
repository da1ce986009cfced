import { PassThrough } from 'node:stream';
import { readBody as read } from '../../src/serving/http/read-body';

/** The PassThrough stands in for an IncomingMessage: readBody uses only its stream events. */
const readBody = (req: unknown, limit: number) => read(req as Parameters<typeof read>[0], limit);

/** A readable stream with request headers, fed `chunks` and then ended (or not). */
function request(headers: Record<string, string>, chunks: string[], end = true) {
  const stream = new PassThrough() as PassThrough & { headers: Record<string, string>; rawBody?: Buffer; body?: unknown };
  stream.headers = headers;
  setImmediate(() => {
    for (const chunk of chunks) stream.write(chunk);
    if (end) stream.end();
    else stream.destroy(new Error('socket hang up'));
  });
  return stream;
}

describe('readBody', () => {
  it('reads a declared length into one buffer', async () => {
    const req = request({ 'content-length': '11' }, ['hello', ' ', 'world']);
    await readBody(req, 100);
    expect(req.rawBody?.toString()).toBe('hello world');
    expect(req.body).toBe(req.rawBody);
  });

  it('reads a chunked body', async () => {
    const req = request({ 'transfer-encoding': 'chunked' }, ['a', 'b', 'c']);
    await readBody(req, 100);
    expect(req.rawBody?.toString()).toBe('abc');
  });

  it.each([
    ['a declared length over the limit', { 'content-length': '101' }, ['x'], true, { status: 413, code: 'request_too_large' }],
    ['a chunked body over the limit', { 'transfer-encoding': 'chunked' }, ['x'.repeat(60), 'x'.repeat(60)], true, { status: 413, code: 'request_too_large' }],
    ['a body longer than its Content-Length', { 'content-length': '3' }, ['abcd'], true, { status: 400, code: 'incomplete_body' }],
    ['a body shorter than its Content-Length', { 'content-length': '10' }, ['abc'], true, { status: 400, code: 'incomplete_body' }],
    ['a connection lost mid-body', { 'content-length': '10' }, ['abc'], false, { status: 400, code: 'incomplete_body' }],
  ])('refuses %s', async (_name, headers, chunks, end, expected) => {
    await expect(readBody(request(headers as Record<string, string>, chunks, end), 100)).rejects.toMatchObject(expected);
  });

  it('leaves a body that was already read alone', async () => {
    const req = request({ 'content-length': '3' }, ['abc']);
    req.rawBody = Buffer.from('kept');
    await readBody(req, 100);
    expect(req.rawBody.toString()).toBe('kept');
  });

  it('gives an empty buffer when there is no body', async () => {
    const req = request({}, []);
    await readBody(req, 100);
    expect(req.rawBody?.length).toBe(0);
  });
});
