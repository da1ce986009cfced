/**
 * The whole pipeline for real: a tiny generated dataset, the Python trainer for two steps, the
 * serving-path evaluation, the gate, publication into a temporary store — and then the published
 * model served by the functions' /predict. Needs /usr/bin/python3 with torch and onnx (CI installs
 * them); without torch this file says so and skips.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildService, registerFunctions } from '../../../functions/src/serving/app';
import { loadConfig } from '../../../functions/src/serving/config';
import { repoRoot } from '../../../functions/src/platform/repo-root';
import { parseReference } from '../../../functions/src/monitoring/drift/reference';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { parseMetadata, parseProductionPointer } from '../../../functions/src/detector/model/model-metadata';
import { multipart, startFunction } from '../../../functions/test/support/function-server';
import { parseCommandLine } from '../../src/cli';
import { runPipeline } from '../../src/pipeline';
import { generateImages, noiseImage, writeDataset } from '../support/datasets';

const PYTHON = '/usr/bin/python3';
const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const hasTorch = torchCheck.status === 0;
if (!hasTorch) {
  console.warn(
    `SKIPPED pipeline end-to-end test: ${PYTHON} cannot import torch and onnx (${(torchCheck.stderr ?? torchCheck.error?.message ?? '').trim().split('\n').at(-1)}); install them to run it`,
  );
}

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipeline-e2e-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Builds a fresh service from the store (as a new instance would) and scores one noise image. */
async function predictOnce(config: ReturnType<typeof loadConfig>, seed: number) {
  registerFunctions(buildService(config, { logger: createMemoryLogger('error') }));
  const client = await startFunction('predict');
  try {
    return await client.request('/', { method: 'POST', body: multipart([{ field: 'image', filename: 'x.png', bytes: await noiseImage(seed) }]) });
  } finally {
    await client.close();
  }
}

(hasTorch ? it : it.skip)(
  'trains, evaluates through the serving code, publishes, and the functions serve the new version',
  async () => {
    const dataset = writeDataset(
      path.join(root, 'dataset'),
      await generateImages({ train: { REAL: 24, FAKE: 24 }, val: { REAL: 8, FAKE: 8 } }, { formats: ['png', 'jpeg'] }),
    );
    const store = path.join(root, 'models');
    const env = {
      MODEL_STORE: store,
      DEFAULT_MODEL: 'tiny',
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_SECOND: '0',
      METRICS_SINK: 'none',
      TELEMETRY_STORE: path.join(root, 'telemetry'),
    };
    const config = loadConfig(env);
    const settings = loadPipelineSettings(env);
    const parsed = parseCommandLine(
      [
        '--dataset',
        dataset,
        '--name',
        'tiny',
        '--work-dir',
        path.join(root, 'work'),
        '--arch',
        'compact',
        '--image-size',
        '32',
        '--epochs',
        '1',
        '--max-steps',
        '2',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--min-train-per-class',
        '8',
        '--min-eval-per-class',
        '4',
        // Two optimiser steps learn nothing: the gate is opened wide, everything else is as in production.
        '--min-accuracy',
        '0',
        '--min-roc-auc',
        '0',
        '--max-ece',
        '1',
        '--max-jpeg-drop',
        '100',
        '--jpeg-quality',
        '75',
        '--python',
        PYTHON,
      ],
      { config: settings, repoRoot: repoRoot(), now: new Date(), systemPython: true },
    );
    if (parsed.help) throw new Error('unexpected --help');
    const logger = createMemoryLogger('debug');
    let progress = '';
    const result = await runPipeline(parsed.options, {
      config: settings,
      logger,
      progressStream: { write: (text: string) => (progress += text) },
      repoRoot: repoRoot(),
    });

    expect(result.status).toBe('published');
    if (result.status !== 'published') return;
    expect(result.version).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    expect(result.previous_version).toBeNull();
    expect(Object.keys(result.metrics)).toEqual(['val']);
    expect(result.metrics.val?.n).toBe(16);
    expect(progress).toContain('Train/serve agreement: OK');
    expect(progress).toMatch(/train: step 2\/2 \(100%\)/);
    for (const step of ['1/6 dataset', '2/6 train', '3/6 evaluate', '4/6 reference', '5/6 gate', '6/6 publish']) {
      expect(logger.entries.some((entry) => entry.message.startsWith(`[${step}]`))).toBe(true);
    }

    const versionDir = path.join(store, 'tiny', result.version);
    const pointer = parseProductionPointer('production.json', readFileSync(path.join(store, 'tiny', 'production.json')));
    expect(pointer.version).toBe(result.version);
    const metadata = parseMetadata('metadata.json', readFileSync(path.join(versionDir, 'metadata.json')));
    expect(metadata).toMatchObject({ name: 'tiny', version: result.version });
    const reference = parseReference(readFileSync(path.join(versionDir, 'reference.json')));
    expect(reference).toMatchObject({ model: { name: 'tiny', version: result.version }, n: 16 });
    const card = readFileSync(path.join(versionDir, 'README.md'), 'utf8');
    expect(card).toContain(`python3 -m training.train --dataset ${dataset}`);
    expect(card).toContain('--max-steps 2');
    expect(card).toContain('## Limits: what this model has never seen');
    const metrics = JSON.parse(readFileSync(path.join(versionDir, 'metrics.json'), 'utf8'));
    expect(metrics.skew.passed).toBe(true);
    expect(metrics.robustness).toMatchObject({ quality: 75, split: 'val' });

    // The functions pick the new version up from the store, without a redeploy.
    const served = await predictOnce(config, 7);
    expect(served.status).toBe(200);
    expect(served.body.model).toEqual({ name: 'tiny', version: result.version });
    expect(served.body.probability).toBeGreaterThanOrEqual(0);

    // A second tiny run on the same split, combined with the first into a float16 ensemble over
    // the image, its mirror image and one-pixel shifts of both, goes through the same pipeline
    // and is served in its turn.
    const second = path.join(root, 'second');
    const train = spawnSync(
      PYTHON,
      [
        '-m',
        'training.train',
        '--dataset',
        dataset,
        '--out',
        second,
        '--image-size',
        '32',
        '--width',
        '8',
        '--epochs',
        '1',
        '--max-steps',
        '2',
        '--batch-size',
        '16',
        '--threads',
        '1',
        '--seed',
        '7',
      ],
      { cwd: repoRoot(), encoding: 'utf8' },
    );
    expect(train.status).toBe(0);
    const ensembleDir = path.join(root, 'ensemble');
    const combine = spawnSync(
      PYTHON,
      [
        '-m',
        'training.ensemble',
        '--members',
        path.join(root, 'work', 'run'),
        second,
        '--out',
        ensembleDir,
        '--name',
        'tiny',
        '--flip',
        '--shift',
        '1',
        '--threads',
        '1',
      ],
      { cwd: repoRoot(), encoding: 'utf8' },
    );
    expect(combine.stderr).not.toMatch(/Traceback/);
    expect(combine.status).toBe(0);
    const fromRun = parseCommandLine(
      [
        '--from-run',
        ensembleDir,
        '--name',
        'tiny',
        '--work-dir',
        path.join(root, 'work-ensemble'),
        '--no-champion',
        '--min-train-per-class',
        '8',
        '--min-eval-per-class',
        '4',
        '--min-accuracy',
        '0',
        '--min-roc-auc',
        '0',
        '--max-ece',
        '1',
        '--max-jpeg-drop',
        '100',
        '--python',
        PYTHON,
      ],
      { config: settings, repoRoot: repoRoot(), now: new Date(Date.now() + 2000), systemPython: true },
    );
    if (fromRun.help) throw new Error('unexpected --help');
    progress = '';
    const ensembleResult = await runPipeline(fromRun.options, {
      config: settings,
      logger,
      progressStream: { write: (text: string) => (progress += text) },
      repoRoot: repoRoot(),
    });
    expect(ensembleResult.status).toBe('published');
    if (ensembleResult.status !== 'published') return;
    expect(progress).toContain('Train/serve agreement: OK');
    const ensembleCard = readFileSync(path.join(store, 'tiny', ensembleResult.version, 'README.md'), 'utf8');
    expect(ensembleCard).toContain('from an ensemble of 2 compact-cnn, mirror-averaged, averaged over 1-pixel shifts');
    expect(ensembleCard).toContain(
      'each also run on the mirrored image and on copies of both moved by 1 pixel left, right, up and down (edges mirrored): 10 views per image',
    );
    expect(ensembleCard).toMatch(/# member 1 of 2 \(from .*work\/run\/training\.json\)\npython3 -m training\.train --dataset /);
    expect(ensembleCard).toContain(
      `python3 -m training.ensemble --members ${path.join(root, 'work', 'run')} ${second} --out ${ensembleDir} --name tiny --flip --shift 1`,
    );
    expect(ensembleCard).toMatch(/\| member run \| architecture \|[^\n]*\n\|---/);
    const servedEnsemble = await predictOnce(config, 8);
    expect(servedEnsemble.status).toBe(200);
    expect(servedEnsemble.body.model).toEqual({ name: 'tiny', version: ensembleResult.version });
  },
  240_000,
);
