/**
 * POST /feedback: a client says what an image really is. The image comes in any /predict form, or
 * as the request id of a recent prediction of this instance; it is checked like a /predict image
 * (bytes, format, pixels, from its header), stored once per sha256 under <FEEDBACK_STORE>/<model>/
 * in the dataset layout, and answered with its id. Same API keys and rate limit as /predict.
 * Nothing here trusts it further: the pipeline adds feedback to the train split only, flags it in
 * the dataset report, and the gate still decides (pipeline/src/feedback.ts).
 */
import type { RecentPredictions } from '../feedback/recent-predictions';
import { type FeedbackRecord, storeFeedback } from '../feedback/feedback-store';
import { NotFoundError } from '../../platform/errors';
import type { Handler } from '../http/http-function';
import { readFeedbackInput, type InputLimits } from '../http/image-inputs';
import { readImageHeader } from '../../detector/image/image-header';
import type { ImageFetcher } from '../../detector/scoring/image-fetcher';
import type { ImageLimits } from '../../detector/image/image-header';
import { resolveSource } from '../../detector/scoring/score-images';
import type { BlobStore } from '../../platform/storage/blob-store';
import { chosenModel, requestedModel } from './model-choice';

export interface FeedbackDeps {
  store: BlobStore;
  recent: RecentPredictions;
  fetcher: ImageFetcher | null;
  defaultModel: string;
  limits: InputLimits & ImageLimits;
  now?: () => number;
}

export function makeFeedbackHandler(deps: FeedbackDeps): Handler {
  const now = deps.now ?? Date.now;
  return async ({ req, requestId, principal }) => {
    const input = await readFeedbackInput(req, deps.limits);
    let bytes: Buffer;
    let model = chosenModel(req, deps.defaultModel);
    let correcting: string | null = null;
    let predicted: FeedbackRecord['predicted'] = null;
    if (input.source.kind === 'request_id') {
      const recent = deps.recent.find(input.source.requestId);
      if (recent === null) {
        throw new NotFoundError(
          'prediction_not_found',
          `no recent prediction ${JSON.stringify(input.source.requestId)} on this instance (predictions are kept in memory, a limited number for a limited time, where they were served); send the image instead`,
        );
      }
      bytes = await resolveSource(recent.image, deps.fetcher, deps.limits);
      model = requestedModel(req) ?? recent.model.name;
      correcting = recent.requestId;
      predicted = { prediction: recent.prediction, probability: recent.probability, version: recent.model.version };
    } else {
      bytes = await resolveSource(input.source, deps.fetcher, deps.limits);
    }
    const header = readImageHeader(bytes, deps.limits);
    const stored = await storeFeedback(deps.store, {
      model,
      label: input.label,
      image: bytes,
      format: header.format,
      note: input.note,
      requestId: correcting,
      predicted,
      // Who sent it, as an API key's digest prefix; a client address is not kept.
      principal: principal.startsWith('key:') ? principal : 'anonymous',
      now: new Date(now()),
    });
    return {
      status: stored.duplicate ? 200 : 201,
      body: { id: stored.id, duplicate: stored.duplicate, model, label: input.label, request_id: requestId },
    };
  };
}
