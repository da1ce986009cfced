/**
 * The end of the grace period, in-process and deterministic: requests whose inference outlasts the
 * drain are answered 503 shutting_down, and what their handlers score after that is never recorded,
 * so the telemetry still holds exactly one record per image answered 200. Its own file, because
 * draining is process-wide (jest gives each file a fresh module registry).
 */
import { telemetryLines } from '../support/telemetry-fixtures';
import { shutDown } from '../../src/serving/app';
import { requestsInFlight } from '../../src/serving/http/front-door';
import { createOnnxEngine, type InferenceEngine } from '../../src/detector/model/onnx-session';
import { fixtureImage, startService, tempDir } from '../support/test-service';
import { startFunction } from '../support/function-server';

it('answers requests still running at the end of the grace period 503 shutting_down and records none of their images', async () => {
  let release = (): void => undefined;
  let held = false;
  const finishedRuns: Array<Promise<void>> = [];
  // The real session; once `held`, every run waits for `release` (as a slow inference would).
  const createEngine = async (bytes: Uint8Array): Promise<InferenceEngine> => {
    const engine = await createOnnxEngine(bytes, { intraOpNumThreads: 1 });
    const gate = new Promise<void>((resolve) => (release = resolve));
    return {
      inputNames: engine.inputNames,
      outputNames: engine.outputNames,
      inputDims: (name) => engine.inputDims(name),
      run: async (...args) => {
        if (held) {
          const done = gate.then(() => undefined);
          finishedRuns.push(done);
          await done;
        }
        return engine.run(...args);
      },
      release: () => engine.release(),
    };
  };
  const telemetry = tempDir('telemetry-');
  const { service } = startService({ TELEMETRY_STORE: telemetry, SCORING_CONCURRENCY: '4' }, { createEngine });
  // Counts finished handlers: requestFinished runs right before a handler claims its answer and records.
  let finishedRequests = 0;
  const requestFinished = service.observer.requestFinished.bind(service.observer);
  service.observer.requestFinished = (outcome) => {
    finishedRequests += 1;
    requestFinished(outcome);
  };
  const client = await startFunction('predict');
  const photo = fixtureImage('photo.jpg');
  const send = () => client.request('/', { method: 'POST', body: photo, headers: { 'Content-Type': 'image/jpeg' } });

  expect((await send()).status).toBe(200);
  held = true;
  const answers = [send(), send(), send()];
  while (requestsInFlight() < 3 || finishedRuns.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));

  await shutDown(service, 400);
  const responses = await Promise.all(answers);
  expect(responses.map((response) => [response.status, response.body.error.code])).toEqual([
    [503, 'shutting_down'],
    [503, 'shutting_down'],
    [503, 'shutting_down'],
  ]);
  expect(telemetryLines(telemetry)).toBe(1);

  // The handlers go on to the end; what they scored is dropped, not recorded late.
  release();
  await Promise.all(finishedRuns);
  while (finishedRequests < 4) await new Promise((resolve) => setTimeout(resolve, 5));
  await service.telemetry.flush();
  expect(telemetryLines(telemetry)).toBe(1);
  service.telemetry.close();
});
