/**
 * A completed run folder without Python: the "brightness" fixture model (P(AI) = sigmoid(4 · mean
 * of the normalised input)) stands in for a trained one. Its "PyTorch" probabilities are the serving
 * path's own (optionally shifted, to provoke skew), and its parity bundle holds onnxruntime logits.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SharpDecoder } from '../../../functions/src/detector/image/sharp-decoder';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { type ModelMetadata, parseMetadata } from '../../../functions/src/detector/model/model-metadata';
import { createOnnxEngine } from '../../../functions/src/detector/model/onnx-session';
import { evaluateItems, loadModelForEvaluation } from '../../src/evaluate';
import { binaryMetrics } from '../../src/evaluation-metrics';
import type { SplitFile, SplitItem } from '../../src/run-dir';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'functions', 'test', 'fixtures', 'models', 'brightness', 'v1');
export const BRIGHTNESS_MODEL = readFileSync(path.join(FIXTURE, 'model.onnx'));
/** The fixture model's metadata as a training run writes it: without the band, which the pipeline computes at evaluation. */
const { uncertainty: _band, ...TRAINED_METADATA } = parseMetadata('metadata.json', readFileSync(path.join(FIXTURE, 'metadata.json')));
export const BRIGHTNESS_METADATA: ModelMetadata = TRAINED_METADATA;
const LIMITS = { maxImageBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, minImageSide: 16 };

export function splitOf(files: Readonly<Record<string, Buffer>>): SplitFile {
  const split: SplitFile = { train: [], val: [], test: [] };
  for (const [key, bytes] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [name, className] = key.split('/') as ['train' | 'val' | 'test', string];
    split[name].push({ path: key, label: className === 'FAKE' ? 1 : 0, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return split;
}

export interface FakeRunOptions {
  datasetRoot: string;
  split: SplitFile;
  /** Changes to the fixture's metadata (e.g. a different threshold). */
  metadata?: Partial<ModelMetadata>;
  /** Added to every "PyTorch" probability (clamped to [0, 1]). */
  probabilityShift?: number;
}

export async function writeFakeRun(dir: string, options: FakeRunOptions): Promise<string> {
  mkdirSync(path.join(dir, 'parity'), { recursive: true });
  const metadata: ModelMetadata = { ...BRIGHTNESS_METADATA, version: null, ...(options.metadata ?? {}) };
  const model = await loadModelForEvaluation('brightness', 'fake', BRIGHTNESS_MODEL, metadata, { intraOpNumThreads: 1, logger: createMemoryLogger() });
  const torchEval: Record<string, unknown> = {};
  try {
    for (const name of ['val', 'test'] as const) {
      const items: SplitItem[] = options.split[name];
      if (items.length === 0) continue;
      const scored = await evaluateItems(model, options.datasetRoot, items, { decoder: new SharpDecoder({ maxPixels: LIMITS.maxPixels }), limits: LIMITS });
      const probabilities = scored.map((item) => Math.min(1, Math.max(0, (item.probability as number) + (options.probabilityShift ?? 0))));
      const m = binaryMetrics(
        items.map((item) => item.label),
        probabilities,
        metadata.threshold,
      );
      torchEval[name] = { accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1, roc_auc: m.roc_auc, n: m.n, probabilities };
    }
  } finally {
    model.retire();
  }
  const n = 4;
  const inputs = new Float32Array(n * 3 * 32 * 32).map((_, i) => Math.sin(i) * 0.9);
  const engine = await createOnnxEngine(BRIGHTNESS_MODEL, { intraOpNumThreads: 1 });
  const { data: logits } = (await engine.run('input', inputs, [n, 3, 32, 32], ['logits'])).logits!;
  await engine.release();

  writeFileSync(path.join(dir, 'model.onnx'), BRIGHTNESS_MODEL);
  writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(metadata, null, 2));
  writeFileSync(path.join(dir, 'split.json'), JSON.stringify(options.split));
  writeFileSync(path.join(dir, 'torch_eval.json'), JSON.stringify(torchEval));
  writeFileSync(path.join(dir, 'parity', 'inputs.f32'), Buffer.from(inputs.buffer));
  writeFileSync(path.join(dir, 'parity', 'logits.f32'), Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
  writeFileSync(path.join(dir, 'parity', 'meta.json'), JSON.stringify({ n, input_shape: [n, 3, 32, 32], output_shape: [n, 2] }));
  writeFileSync(
    path.join(dir, 'training.json'),
    JSON.stringify({
      seconds: 12.5,
      epochs_run: 3,
      best_epoch: 2,
      images_per_s: 850.5,
      arch: 'brightness-test-net',
      params: 62,
      image_size: 32,
      torch_version: '2.0.0',
      args: { dataset: options.datasetRoot, out: dir, name: null, arch: 'compact', image_size: 32, epochs: 3, lr: 0.002, no_augment: false, init_from: null },
    }),
  );
  writeFileSync(path.join(dir, 'robustness.json'), JSON.stringify({ drop_points: 1.5, quality: 75, n: options.split.val.length, split: 'val' }));
  return dir;
}
