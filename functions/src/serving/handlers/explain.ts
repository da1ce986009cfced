/**
 * POST /explain: one image in (the inputs, limits and auth of /predict), its verdict out with where
 * in the image it comes from: the per-patch grid (scoring/explain-image.ts) and a PNG heatmap
 * overlay, base64, at most HEATMAP_MAX_SIDE pixels on its long side. It scores through the same
 * `scoreImages` as /predict; a whole-image model's occlusion variants go through one more
 * onnxruntime call.
 */
import { performance } from 'node:perf_hooks';
import type { ManifestReader } from '../../detector/evidence/manifest-reader';
import type { Handler } from '../http/http-function';
import { readPredictInput, type InputLimits } from '../http/image-inputs';
import type { ImageDecoder } from '../../detector/image/image-decoder';
import { encodeRgbPng } from '../../detector/image/png-encoder';
import type { ModelRegistry } from '../../detector/model/model-registry';
import { heatmapSize, occludedVariants, occlusionExplanation, paintHeatmap, patchExplanation } from '../../detector/scoring/explain-image';
import type { ImageFetcher } from '../../detector/scoring/image-fetcher';
import type { ImageLimits } from '../../detector/image/image-header';
import { inferBatch, resolveSource, scoreImages } from '../../detector/scoring/score-images';
import { round } from '../../platform/round';
import { extrasOf, toScoredImage, toVerdict } from '../api/verdict-answer';
import { chosenModel } from './model-choice';

export interface ExplainDeps {
  registry: ModelRegistry;
  decoder: ImageDecoder;
  fetcher: ImageFetcher | null;
  defaultModel: string;
  limits: InputLimits & ImageLimits;
  manifests?: ManifestReader;
}

export function makeExplainHandler(deps: ExplainDeps): Handler {
  return async ({ req, requestId }) => {
    const started = performance.now();
    const input = await readPredictInput(req, deps.limits);
    const model = await deps.registry.get(chosenModel(req, deps.defaultModel));
    const bytes = await resolveSource(input.source!, deps.fetcher, deps.limits);
    const { items, inferenceMs } = await scoreImages(model, [{ kind: 'bytes', bytes }], deps);
    const item = items[0]!;
    if (!item.ok) throw item.error;
    const { prepared, probability } = item;
    const pre = model.metadata.preprocessing;

    let explainInferenceMs = 0;
    let explanation;
    if (item.patches !== undefined) {
      explanation = patchExplanation(item.patches);
    } else {
      const variants = occludedVariants(prepared.decoded);
      const occluded = await inferBatch(
        model,
        variants.map((decoded) => ({ ...prepared, decoded })),
      );
      explainInferenceMs = occluded.inferenceMs;
      explanation = occlusionExplanation(prepared, pre, probability, occluded.probabilities);
    }

    const imageWidth = prepared.decoded.width;
    const imageHeight = prepared.decoded.height;
    const size = heatmapSize(imageWidth, imageHeight);
    const picture = await deps.decoder.decode(bytes, prepared.header, { ...size, resize: 'fill', interpolation: 'bilinear' });
    const heatmap = encodeRgbPng(paintHeatmap(picture, explanation, imageWidth, imageHeight), picture.pixelWidth, picture.pixelHeight);

    const verdict = toVerdict(model, prepared, probability, inferenceMs, performance.now() - started, extrasOf(item));
    return {
      status: 200,
      body: {
        ...verdict,
        explanation,
        heatmap: { width: picture.pixelWidth, height: picture.pixelHeight, format: 'png' },
        heatmap_png: heatmap.toString('base64'),
        timing_ms: { ...verdict.timing_ms, explain_inference: round(explainInferenceMs, 2) },
        request_id: requestId,
      },
      model: verdict.model,
      // An explained image leaves the same telemetry record as a predicted one: drift sees every image scored.
      scored: [toScoredImage(model, prepared, probability, inferenceMs)],
    };
  };
}
