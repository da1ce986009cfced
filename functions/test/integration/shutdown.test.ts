/**
 * SIGTERM while requests are in flight: the one shutdown sequence stops accepting, lets every
 * in-flight request finish, then flushes their telemetry. Its own file, because draining is
 * process-wide (jest gives each file a fresh module registry).
 */
import { telemetryLines } from '../support/telemetry-fixtures';
import { EventEmitter } from 'node:events';
import { shutDown } from '../../src/serving/app';
import { requestsInFlight } from '../../src/serving/http/front-door';
import { createOnnxEngine, type InferenceEngine } from '../../src/detector/model/onnx-session';
import { installSigtermFlush, type SignalSource } from '../../src/serving/http/framework-hooks';
import { fixtureImage, startService, tempDir } from '../support/test-service';
import { startFunction } from '../support/function-server';

/** The real session, with each run held for `delayMs` so that requests are in flight when SIGTERM comes. */
const slowEngine =
  (delayMs: number) =>
  async (bytes: Uint8Array): Promise<InferenceEngine> => {
    const engine = await createOnnxEngine(bytes, { intraOpNumThreads: 1 });
    return {
      inputNames: engine.inputNames,
      outputNames: engine.outputNames,
      inputDims: (name) => engine.inputDims(name),
      run: async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return engine.run(...args);
      },
      release: () => engine.release(),
    };
  };

it('finishes every in-flight batch and writes its telemetry before exiting', async () => {
  const telemetry = tempDir('telemetry-');
  const { service } = startService(
    { TELEMETRY_STORE: telemetry, TELEMETRY_FLUSH_RECORDS: '10000', TELEMETRY_FLUSH_SECONDS: '3600' },
    { createEngine: slowEngine(400) },
  );
  const batch = await startFunction('batch');
  const photo = fixtureImage('photo.jpg');
  const sizes = [1, 3, 5, 2, 4, 6];
  const form = (count: number) => {
    const body = new FormData();
    for (let i = 0; i < count; i += 1) body.append('images', new Blob([photo as unknown as ArrayBuffer]), `${i}.jpg`);
    return body;
  };
  // The model loads first, so that all six are in inference together.
  expect((await batch.request('/', { method: 'POST', body: form(1) })).status).toBe(200);
  const answers = sizes.map((count) => batch.request('/', { method: 'POST', body: form(count) }));
  while (requestsInFlight() < sizes.length) await new Promise((resolve) => setTimeout(resolve, 5));

  const signals = new EventEmitter();
  let exited = false;
  const finished = new Promise<void>((resolve) => {
    installSigtermFlush(
      { flush: () => shutDown(service, 5000) },
      {
        emitter: signals as unknown as SignalSource,
        onDone: () => {
          exited = true;
          resolve();
        },
      },
    );
  });
  signals.emit('SIGTERM');

  const responses = await Promise.all(answers);
  expect(responses.map((response) => response.status)).toEqual(sizes.map(() => 200));
  expect(responses.map((response) => response.body.succeeded)).toEqual(sizes);
  await finished;
  expect(exited).toBe(true);
  // Every image answered 200 left a record: 1 (warm-up) + 21.
  expect(telemetryLines(telemetry)).toBe(1 + sizes.reduce((a, b) => a + b, 0));
  // The server no longer accepts connections.
  await expect(fetch(batch.url, { method: 'POST' })).rejects.toThrow();
  // The drain closed the listener but not the six kept-alive connections of the answered requests:
  // without this they would keep Jest's worker alive ("failed to exit gracefully").
  await batch.close();
});
