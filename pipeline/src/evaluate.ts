/**
 * Evaluation through the serving path: the exported model is loaded into the same `LoadedModel`
 * the functions serve from, and every image goes through `prepareImage` (header check, serving
 * decoder, resize) and `inferBatch` (tensor, onnxruntime, P(AI)) — the code /predict runs. The
 * drift features of each image are computed from the same decoded pixels, as serving records them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { computeImageFeatures, type ImageFeatures } from '../../functions/src/features/image-features';
import type { ImageDecoder } from '../../functions/src/image/image-decoder';
import type { Logger } from '../../functions/src/logger';
import type { ModelMetadata } from '../../functions/src/model/model-metadata';
import { LoadedModel } from '../../functions/src/model/model-registry';
import { createOnnxEngine } from '../../functions/src/model/onnx-session';
import { type ImageLimits, inferBatch, prepareImage, type PreparedImage } from '../../functions/src/scoring/score-images';
import { binaryMetrics, type BinaryMetrics } from './metrics';
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

/** A `LoadedModel` on a fresh onnxruntime session, after checking the model against its metadata. */
export async function loadModelForEvaluation(
  name: string,
  version: string,
  modelBytes: Uint8Array,
  metadata: ModelMetadata,
  options: { intraOpNumThreads: number; logger: Logger },
): Promise<LoadedModel> {
  const engine = await createOnnxEngine(modelBytes, { intraOpNumThreads: options.intraOpNumThreads });
  const problems: string[] = [];
  if (!engine.inputNames.includes(metadata.input.name)) problems.push(`metadata names input "${metadata.input.name}"; the model's inputs are ${engine.inputNames.join(', ')}`);
  if (!engine.outputNames.includes(metadata.output.name)) problems.push(`metadata names output "${metadata.output.name}"; the model's outputs are ${engine.outputNames.join(', ')}`);
  if (problems.length > 0) {
    await engine.release().catch(() => undefined);
    throw new Error(`model ${name}@${version} does not match its metadata: ${problems.join('; ')}`);
  }
  const sha256 = createHash('sha256').update(modelBytes).digest('hex');
  return new LoadedModel(name, version, sha256, metadata, new Date(), engine, options.logger);
}

/** Scores `items` (paths relative to `root`) with `model`, in batches, through the serving code. */
export async function evaluateItems(model: LoadedModel, root: string, items: readonly SplitItem[], options: EvaluationOptions): Promise<EvaluatedItem[]> {
  const batchSize = options.batchSize ?? 64;
  const verify = options.verifySha256 ?? true;
  const results: EvaluatedItem[] = [];
  for (let start = 0; start < items.length; start += batchSize) {
    const batch = items.slice(start, start + batchSize);
    const prepared = await Promise.all(
      batch.map(async (item): Promise<{ prepared: PreparedImage; bytes: number } | { error: string }> => {
        try {
          const bytes = await readFile(path.join(root, ...item.path.split('/')));
          if (verify) {
            const sha256 = createHash('sha256').update(bytes).digest('hex');
            if (sha256 !== item.sha256) return { error: `the file changed since training: sha256 ${sha256}, split.json says ${item.sha256}` };
          }
          return { prepared: await prepareImage(bytes, model, options.decoder, options.limits), bytes: bytes.length };
        } catch (error) {
          return { error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const ok = prepared.flatMap((entry) => ('prepared' in entry ? [entry.prepared] : []));
    const { probabilities } = await inferBatch(model, ok);
    let next = 0;
    batch.forEach((item, index) => {
      const entry = prepared[index] as { prepared: PreparedImage; bytes: number } | { error: string };
      if ('error' in entry) {
        results.push({ path: item.path, label: item.label, probability: null, features: null, error: entry.error });
        return;
      }
      const probability = probabilities[next] as number;
      next += 1;
      results.push({
        path: item.path,
        label: item.label,
        probability,
        features: computeImageFeatures(entry.prepared.decoded, entry.bytes),
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
    failures: items.length - scored.length,
  };
}
