/** POST /predict: one image in, one verdict out. */
import { performance } from 'node:perf_hooks';
import type { RecentPredictions } from '../feedback/recent-predictions';
import type { Handler } from '../http/http-function';
import { readPredictInput, type InputLimits } from '../http/image-inputs';
import type { ImageDecoder } from '../../detector/image/image-decoder';
import type { ModelRegistry } from '../../detector/model/model-registry';
import type { ImageFetcher } from '../../detector/scoring/image-fetcher';
import type { ManifestReader } from '../../detector/evidence/manifest-reader';
import type { ImageLimits } from '../../detector/image/image-header';
import { scoreImages } from '../../detector/scoring/score-images';
import { extrasOf, toScoredImage, toVerdict } from '../api/verdict-answer';
import { chosenModel } from './model-choice';
import type { WorkLimiter } from '../../detector/scoring/work-limiter';

export interface PredictDeps {
  registry: ModelRegistry;
  decoder: ImageDecoder;
  fetcher: ImageFetcher | null;
  defaultModel: string;
  limits: InputLimits & ImageLimits;
  /** Keeps each answered image for POST /feedback's request_id form. */
  recent?: RecentPredictions;
  manifests?: ManifestReader;
  /** Slots for decodes and inferences, shared by every request of the instance. */
  work?: WorkLimiter;
}

export function makePredictHandler(deps: PredictDeps): Handler {
  return async ({ req, requestId }) => {
    const started = performance.now();
    const input = await readPredictInput(req, deps.limits);
    const modelName = chosenModel(req, deps.defaultModel);
    const model = await deps.registry.get(modelName);
    const { items, inferenceMs } = await scoreImages(model, [input.source!], deps);
    const item = items[0]!;
    if (!item.ok) throw item.error;
    const verdict = toVerdict(model, item.prepared, item.probability, inferenceMs, performance.now() - started, extrasOf(item));
    const source = input.source!;
    // A copy: the request's bytes may be a view of its whole body.
    deps.recent?.remember({
      requestId,
      image: source.kind === 'bytes' ? { kind: 'bytes', bytes: Buffer.from(source.bytes) } : source,
      model: verdict.model,
      prediction: verdict.prediction,
      probability: verdict.probability,
    });
    return {
      status: 200,
      body: { ...verdict, request_id: requestId },
      model: verdict.model,
      scored: [toScoredImage(model, item.prepared, item.probability, inferenceMs)],
    };
  };
}
