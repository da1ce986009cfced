/**
 * Evaluation through the serving path: the exported model is loaded by `loadModel` (the registry's
 * own loading and checks) and every image is scored by `scoreImages`, the core /predict and /batch
 * run (header check, serving decoder, resize, tensor, onnxruntime, P(AI)). The drift features of
 * each image are computed from the same decoded pixels, as serving records them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AppError, type Logger } from '../../functions/src/platform';
import { computeImageFeatures, type ImageFeatures } from '../../functions/src/monitoring';
import {
  createOnnxEngine,
  type ImageDecoder,
  type ImageLimits,
  type LoadedModel,
  loadModel,
  type ModelMetadata,
  scoreImages,
  type ScoreItem,
} from '../../functions/src/detector';
import { binaryMetrics, type BinaryMetrics } from './evaluation-metrics';
import { metricsBySource } from './sources';
import type { SplitItem } from './run-dir';

export interface EvaluatedItem {
  path: string;
  label: 0 | 1;
  /** P(AI) as the service computes it; null when the service could not score the image. */
  probability: number | null;
  features: ImageFeatures | null;
  error: string | null;
}

export interface SplitEvaluation {
  split: 'val' | 'test';
  /** Aligned with the split's items (split.json order). */
  items: EvaluatedItem[];
  /** Over the scored items only. */
  metrics: BinaryMetrics;
  /** The same metrics per source (`REAL/<source>`, `FAKE/<source>`); empty without a source level. */
  perSource: Record<string, BinaryMetrics>;
  failures: number;
}

export interface EvaluationOptions {
  decoder: ImageDecoder;
  limits: ImageLimits;
  /** Images per onnxruntime call (default 64). */
  batchSize?: number;
  /** Refuse files whose sha256 differs from split.json's (default true). */
  verifySha256?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** A `LoadedModel` on a fresh onnxruntime session, loaded and checked exactly as the registry does. */
export async function loadModelForEvaluation(
  name: string,
  version: string,
  modelBytes: Uint8Array,
  metadata: ModelMetadata,
  options: { intraOpNumThreads: number; logger: Logger },
): Promise<LoadedModel> {
  return loadModel({
    name,
    version,
    modelBytes,
    metadata,
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: options.intraOpNumThreads }),
    logger: options.logger,
  });
}

/** Scores `items` (paths relative to `root`) with `model`, in batches, through the serving code. */
export async function evaluateItems(model: LoadedModel, root: string, items: readonly SplitItem[], options: EvaluationOptions): Promise<EvaluatedItem[]> {
  const batchSize = options.batchSize ?? 64;
  const verify = options.verifySha256 ?? true;
  const results: EvaluatedItem[] = [];
  for (let start = 0; start < items.length; start += batchSize) {
    const batch = items.slice(start, start + batchSize);
    const sources = await Promise.all(
      batch.map(async (item): Promise<ScoreItem> => {
        try {
          const bytes = await readFile(path.join(root, ...item.path.split('/')));
          if (verify) {
            const sha256 = createHash('sha256').update(bytes).digest('hex');
            if (sha256 !== item.sha256)
              return new AppError(409, 'file_changed', `the file changed since training: sha256 ${sha256}, split.json says ${item.sha256}`);
          }
          return { kind: 'bytes', bytes };
        } catch (error) {
          return new AppError(404, 'unreadable_file', error instanceof Error ? error.message : String(error));
        }
      }),
    );
    const scored = await scoreImages(model, sources, { decoder: options.decoder, fetcher: null, limits: options.limits });
    batch.forEach((item, index) => {
      const entry = scored.items[index]!;
      if (!entry.ok) {
        results.push({ path: item.path, label: item.label, probability: null, features: null, error: entry.error.message });
        return;
      }
      results.push({
        path: item.path,
        label: item.label,
        probability: entry.probability,
        features: computeImageFeatures(entry.prepared.modelInput ?? entry.prepared.decoded, entry.prepared.bytes),
        error: null,
      });
    });
    options.onProgress?.(Math.min(start + batchSize, items.length), items.length);
  }
  return results;
}

export function summarizeSplit(split: 'val' | 'test', items: EvaluatedItem[], threshold: number): SplitEvaluation {
  const scored = items.filter((item) => item.probability !== null);
  return {
    split,
    items,
    metrics: binaryMetrics(
      scored.map((item) => item.label),
      scored.map((item) => item.probability as number),
      threshold,
    ),
    perSource: metricsBySource(items, threshold),
    failures: items.length - scored.length,
  };
}
