/**
 * The patch detector's whole loop for real, on a tiny generated dataset with two sources per class
 * (train/<CLASS>/<source>/…): a recipe naming training.train_patches, its leave-one-source-out fold
 * and the shortcut probes, the serving-path evaluation per source, the gate, publication, and the
 * published model served by /predict with its patch count and OOD answer. Needs /usr/bin/python3
 * with torch and onnx (CI installs them); without torch this file says so and skips.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildService, registerFunctions } from '../../../functions/src/serving/app';
import { loadConfig } from '../../../functions/src/serving/config';
import { repoRoot } from '../../../functions/src/platform/repo-root';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { parseMetadata } from '../../../functions/src/detector/model/model-metadata';
import { startFunction } from '../../../functions/test/support/function-server';
import { parseCommandLine } from '../../src/cli';
import { runPipeline } from '../../src/pipeline';
import { DATASET_INFO, noiseImage, writeDataset } from '../support/datasets';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.warn(`SKIPPED patch pipeline test: ${PYTHON} cannot import torch and onnx; install them to run it`);

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipeline-patches-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The one file called `name` under `dir`. */
function findFile(dir: string, name: string): string {
  const found = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((entry) => path.basename(entry) === name);
  if (found.length !== 1) throw new Error(`expected one ${name} under ${dir}, found ${found.length}`);
  return path.join(dir, found[0]!);
}

/** Two sources per class; FAKE brighter than REAL, sources differing in size. */
async function sourcedImages(): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  let seed = 1;
  for (const [split, count] of [
    ['train', 8],
    ['val', 5],
  ] as const) {
    for (const [className, sources, brightness] of [
      ['REAL', ['cam-a', 'cam-b'], 70],
      ['FAKE', ['gen-a', 'gen-b'], 185],
    ] as const) {
      for (const [s, source] of sources.entries()) {
        for (let i = 0; i < count; i += 1) {
          files[`${split}/${className}/${source}/${source}-${i}.png`] = await noiseImage(seed, { size: 40 + 8 * s, brightness });
          seed += 1;
        }
      }
    }
  }
  return files;
}

(hasTorch ? it : it.skip)(
  'trains a patch recipe, evaluates it per source and leave-one-source-out, publishes and serves it',
  async () => {
    const dataset = writeDataset(path.join(root, 'dataset'), await sourcedImages(), { ...DATASET_INFO, name: 'sourced' });
    const recipeFile = path.join(root, 'tiny-patches.json');
    writeFileSync(
      recipeFile,
      JSON.stringify({
        schema_version: 1,
        name: 'tiny-patches',
        description: 'a tiny patch detector for the test',
        module: 'training.train_patches',
        trainer: { width: 4, 'patch-size': 16, patches: 4, epochs: 2, 'samples-per-epoch': 64, 'batch-size': 32, 'ood-images': 20, 'target-fpr': 0.02 },
        evaluation: {
          leave_one_source_out: { trainer: { epochs: 1 }, 'max-test': 4, sources: ['FAKE/gen-b'] },
          held_out: { folds: ['REAL/cam-a', 'REAL/cam-b'], 'max-test': 4, 'set-operating-point': true },
          shortcut_probes: { 'per-source': 8 },
        },
        pipeline: { 'min-accuracy': 0, 'min-roc-auc': 0, 'max-ece': 1, 'max-jpeg-drop': 100 },
      }),
    );
    const store = path.join(root, 'models');
    const env = {
      MODEL_STORE: store,
      DEFAULT_MODEL: 'sourced',
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_SECOND: '0',
      METRICS_SINK: 'none',
      TELEMETRY_STORE: path.join(root, 'telemetry'),
    };
    const config = loadConfig(env);
    const settings = loadPipelineSettings(env);
    const parsed = parseCommandLine(
      ['--dataset', dataset, '--name', 'sourced', '--recipe', recipeFile, '--work-dir', path.join(root, 'work'), '--threads', '1'].concat([
        '--min-train-per-class',
        '8',
        '--min-eval-per-class',
        '4',
        '--python',
        PYTHON,
      ]),
      { config: settings, repoRoot: repoRoot(), now: new Date(), systemPython: true },
    );
    if (parsed.help) throw new Error('unexpected --help');
    const result = await runPipeline(parsed.options, {
      config: settings,
      logger: createMemoryLogger('error'),
      progressStream: { write: () => true },
      repoRoot: repoRoot(),
    });
    expect(result.status).toBe('published');
    if (result.status !== 'published') return;

    const versionDir = path.join(store, 'sourced', result.version);
    const metadata = parseMetadata('metadata.json', readFileSync(path.join(versionDir, 'metadata.json')));
    expect(metadata.patches).toMatchObject({ size: 16, count: 4 });
    expect(metadata.ood?.output).toBe('embedding');
    // It decides at an operating point set on its held-out folds' photos, not on validation: no
    // held-out real photo reaches the AI threshold (2 % of 8 allows none) and the next lower step
    // would take the highest one; the threshold is its AI threshold and the uncertain band ends there.
    const point = metadata.operating_point as {
      target_fpr: number;
      ai_threshold: number;
      real_threshold: number;
      held_out: { folds: string[]; real_images: number };
    };
    expect(point).toMatchObject({ target_fpr: 0.02, target_fnr: 0.02, split: 'val', held_out: { folds: ['REAL/cam-a', 'REAL/cam-b'], real_images: 8 } });
    const heldOutReport = JSON.parse(readFileSync(findFile(path.join(root, 'work'), 'heldout.json'), 'utf8')) as {
      folds: Array<{ scores: { held_out_real: number[] } }>;
    };
    const heldOutReals = heldOutReport.folds.flatMap((fold) => fold.scores.held_out_real);
    expect(heldOutReals).toHaveLength(8);
    expect(heldOutReals.every((p) => p < point.ai_threshold)).toBe(true);
    expect(Math.max(...heldOutReals)).toBeGreaterThanOrEqual(point.ai_threshold - 0.0001);
    expect(metadata.threshold).toBe(point.ai_threshold);
    expect(metadata.uncertainty?.band).toEqual([point.real_threshold, point.ai_threshold]);
    const metrics = JSON.parse(readFileSync(path.join(versionDir, 'metrics.json'), 'utf8'));
    expect(Object.keys(metrics.per_source.val)).toEqual(['FAKE/gen-a', 'FAKE/gen-b', 'REAL/cam-a', 'REAL/cam-b']);
    expect(metrics.leave_one_source_out.folds.map((fold: { source: string }) => fold.source)).toEqual(['FAKE/gen-b']);
    expect(metrics.leave_one_source_out.recipe).toMatchObject({ epochs: 1, width: 4 });
    expect(metrics.shortcut_probes.source_probe.sources).toEqual(['cam-a', 'cam-b']);
    const card = readFileSync(path.join(versionDir, 'README.md'), 'utf8');
    expect(card).toContain('python3 -m training.train_patches --dataset');
    expect(card).toContain('| FAKE/gen-b | 4 |');
    expect(card).toContain('## Shortcuts it may still use');
    expect(card).toContain('Per source (val');
    expect(card).toContain(`Serving answers \`ai_generated\` for P(AI) ≥ **${point.ai_threshold}**`);
    expect(card).toContain('## Held-out sources at the operating point');
    expect(card).toContain('| REAL/cam-b |');
    expect(card).toContain('Both thresholds were set on held-out collections, never on validation');
    expect(card).toContain("each fold at thresholds set on the *other* folds' held-out real photos");

    registerFunctions(buildService(config, { logger: createMemoryLogger('error') }));
    const client = await startFunction('predict');
    try {
      const response = await client.request('/', { method: 'POST', body: await noiseImage(99, { size: 48 }), headers: { 'Content-Type': 'image/png' } });
      expect(response.status).toBe(200);
      expect(response.body.model).toEqual({ name: 'sourced', version: result.version });
      expect(response.body.patches.scored).toBe(4);
      expect(response.body.out_of_distribution).toEqual({ score: expect.any(Number), threshold: metadata.ood?.threshold, flagged: expect.any(Boolean) });
    } finally {
      await client.close();
    }
  },
  240_000,
);
