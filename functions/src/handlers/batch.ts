/**
 * POST /batch: several images, one onnxruntime call for all that decode. A bad item gets its own
 * error and does not fail the others; the response is 200 whenever the request itself was sound.
 */
import { performance } from 'node:perf_hooks';
import { isAppError } from '../errors';
import type { Handler } from '../http/http-function';
import { readBatchInputs, type InputLimits } from '../http/image-inputs';
import type { ImageDecoder } from '../image/image-decoder';
import type { ModelRegistry } from '../model/model-registry';
import type { ImageFetcher } from '../scoring/image-fetcher';
import type { ScoreObserver } from '../scoring/observer';
import { type ImageLimits, inferBatch, type PreparedImage, prepareImage, resolveSource, round, toScoredImage, toVerdict } from '../scoring/score-images';
import { chosenModel } from './model-choice';

export interface BatchDeps {
  registry: ModelRegistry;
  decoder: ImageDecoder;
  fetcher: ImageFetcher | null;
  observer: ScoreObserver;
  defaultModel: string;
  limits: InputLimits & ImageLimits;
}

type ItemOutcome = { prepared: PreparedImage } | { error: { code: string; message: string } };

export function makeBatchHandler(deps: BatchDeps): Handler {
  return async ({ req, requestId, logger }) => {
    const started = performance.now();
    const inputs = await readBatchInputs(req, deps.limits);
    const model = await deps.registry.get(chosenModel(req, deps.defaultModel));

    const decodeStarted = performance.now();
    // Items decode one after another: sharp already uses the cores, and this bounds memory.
    const outcomes: ItemOutcome[] = [];
    for (const input of inputs) {
      if (input.error !== null) {
        outcomes.push({ error: { code: input.error.code, message: input.error.message } });
        continue;
      }
      try {
        const bytes = await resolveSource(input.source!, deps.fetcher, deps.limits);
        outcomes.push({ prepared: await prepareImage(bytes, model, deps.decoder, deps.limits) });
      } catch (error) {
        if (!isAppError(error)) throw error;
        outcomes.push({ error: { code: error.code, message: error.message } });
      }
    }
    const decodeMs = performance.now() - decodeStarted;

    const prepared = outcomes.flatMap((outcome) => ('prepared' in outcome ? [outcome.prepared] : []));
    const { probabilities, inferenceMs } = await inferBatch(model, prepared);
    const scored = prepared.map((item, index) => toScoredImage(model, item, probabilities[index]!, inferenceMs / prepared.length));
    deps.observer.scored(scored);

    const totalMs = performance.now() - started;
    let next = 0;
    const results = outcomes.map((outcome, index) => {
      const input = inputs[index]!;
      const identity = input.filename !== null ? { id: input.id ?? String(index), filename: input.filename } : { id: input.id ?? String(index) };
      if ('error' in outcome) return { ...identity, error: outcome.error };
      const position = next;
      next += 1;
      const verdict = toVerdict(model, outcome.prepared, probabilities[position]!, inferenceMs, totalMs);
      return { ...identity, ...verdict };
    });
    const failed = results.filter((result) => 'error' in result).length;
    if (failed > 0) logger.info('batch items failed', { failed, codes: results.flatMap((result) => ('error' in result ? [result.error.code] : [])) });
    return {
      status: 200,
      body: {
        results,
        total: results.length,
        succeeded: results.length - failed,
        failed,
        model: { name: model.name, version: model.version },
        timing_ms: { decode: round(decodeMs, 2), inference: round(inferenceMs, 2), total: round(totalMs, 2) },
        request_id: requestId,
      },
      model: { name: model.name, version: model.version },
    };
  };
}
