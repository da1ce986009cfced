/**
 * POST /batch: several images, one onnxruntime call for all that decode. A bad item gets its own
 * error and does not fail the others; the response is 200 whenever the request itself was sound.
 */
import { performance } from 'node:perf_hooks';
import type { Handler } from '../http/http-function';
import { readBatchInputs, type InputLimits } from '../http/image-inputs';
import type { ImageDecoder } from '../../detector/image/image-decoder';
import type { ModelRegistry } from '../../detector/model/model-registry';
import type { ImageFetcher } from '../../detector/scoring/image-fetcher';
import type { ManifestReader } from '../../detector/evidence/manifest-reader';
import type { ImageLimits } from '../../detector/image/image-header';
import { scoreImages } from '../../detector/scoring/score-images';
import { round } from '../../platform/round';
import { extrasOf, toScoredImage, toVerdict } from '../api/verdict-answer';
import { chosenModel } from './model-choice';
import type { WorkLimiter } from '../../detector/scoring/work-limiter';

export interface BatchDeps {
  registry: ModelRegistry;
  decoder: ImageDecoder;
  fetcher: ImageFetcher | null;
  defaultModel: string;
  limits: InputLimits & ImageLimits;
  manifests?: ManifestReader;
  /** Slots for decodes and inferences, shared by every request of the instance. */
  work?: WorkLimiter;
}

export function makeBatchHandler(deps: BatchDeps): Handler {
  return async ({ req, requestId, logger }) => {
    const started = performance.now();
    const inputs = await readBatchInputs(req, deps.limits);
    const model = await deps.registry.get(chosenModel(req, deps.defaultModel));

    const { items, decodeMs, inferenceMs, inferred } = await scoreImages(
      model,
      inputs.map((input) => input.error ?? input.source!),
      deps,
    );

    const totalMs = performance.now() - started;
    const results = items.map((item, index) => {
      const input = inputs[index]!;
      const identity = input.filename !== null ? { id: input.id ?? String(index), filename: input.filename } : { id: input.id ?? String(index) };
      if (!item.ok) return { ...identity, error: { code: item.error.code, message: item.error.message } };
      return { ...identity, ...toVerdict(model, item.prepared, item.probability, inferenceMs, totalMs, extrasOf(item)) };
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
      scored: items.flatMap((item) => (item.ok ? [toScoredImage(model, item.prepared, item.probability, inferenceMs / inferred)] : [])),
    };
  };
}
