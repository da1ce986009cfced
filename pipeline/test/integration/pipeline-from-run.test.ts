/**
 * The pipeline's decisions without Python: `--from-run` on a run folder built around the
 * "brightness" fixture model, against a generated dataset where FAKE images are bright. Covers the
 * dry run, publication and serving, champion/challenger, rejection into candidates/, train/serve
 * skew, an invalid dataset, and a gs:// dataset and store through the local Cloud Storage server.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildService, registerFunctions } from '../../../functions/src/serving/app';
import { loadConfig } from '../../../functions/src/serving/config';
import { repoRoot } from '../../../functions/src/platform/repo-root';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { parseProductionPointer } from '../../../functions/src/detector/model/model-metadata';
import { multipart, startFunction } from '../../../functions/test/support/function-server';
import { startGcsServer } from '../../../functions/test/support/gcs-server';
import { parseCommandLine } from '../../src/cli';
import { isPipelineError } from '../../src/errors';
import { type PipelineResult, runPipeline } from '../../src/pipeline';
import { generateImages, noiseImage, writeDataset } from '../support/datasets';
import { splitOf, writeFakeRun } from '../support/fake-run';

let root: string;
let dataset: string;
let files: Record<string, Buffer>;
let runCount = 0;
let clock = Date.UTC(2026, 10, 26, 10, 0, 0);

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'pipeline-from-run-'));
  files = await generateImages({ train: { REAL: 8, FAKE: 8 }, val: { REAL: 6, FAKE: 6 }, test: { REAL: 6, FAKE: 6 } }, { formats: ['png', 'jpeg'] });
  dataset = writeDataset(path.join(root, 'dataset'), files);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function env(store: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MODEL_STORE: store,
    DEFAULT_MODEL: 'detector',
    LOG_LEVEL: 'error',
    RATE_LIMIT_PER_SECOND: '0',
    METRICS_SINK: 'none',
    TELEMETRY_STORE: path.join(root, 'telemetry'),
    ...extra,
  };
}

async function pipeline(
  store: string,
  run: string,
  extra: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<{ result: PipelineResult; output: string }> {
  runCount += 1;
  clock += 60_000;
  const settings = loadPipelineSettings(env(store, extraEnv));
  const argv = [
    '--from-run',
    run,
    '--name',
    'detector',
    '--store',
    store,
    '--work-dir',
    path.join(root, `work-${runCount}`),
    '--cache-dir',
    path.join(root, 'cache'),
    '--min-train-per-class',
    '4',
    '--min-eval-per-class',
    '4',
    ...CALIBRATION,
    ...extra,
  ];
  const parsed = parseCommandLine(argv, { config: settings, repoRoot: repoRoot(), now: new Date(clock), systemPython: true });
  if (parsed.help) throw new Error('unexpected --help');
  let output = '';
  const result = await runPipeline(parsed.options, {
    config: settings,
    logger: createMemoryLogger(),
    progressStream: { write: (text: string) => (output += text) },
    repoRoot: repoRoot(),
    now: () => new Date(clock),
  });
  return { result, output };
}

async function fakeRun(
  name: string,
  options: Parameters<typeof writeFakeRun>[1] extends infer O ? Omit<O & object, 'datasetRoot' | 'split'> : never = {},
): Promise<string> {
  return writeFakeRun(path.join(root, name), { datasetRoot: dataset, split: splitOf(files), ...options });
}

// The brightness model separates the classes perfectly but is not calibrated (P(AI) ≈ 0.86 for FAKE).
const CALIBRATION = ['--max-ece', '0.2'];

const pointerOf = (store: string) => parseProductionPointer('production.json', readFileSync(path.join(store, 'detector', 'production.json')));

describe('the pipeline on a completed run', () => {
  const store = () => path.join(root, 'models');
  let good: string;
  let firstVersion = '';

  beforeAll(async () => {
    good = await fakeRun('run-good');
  });

  it('validates and prints the plan on --dry-run, without publishing', async () => {
    const { result, output } = await pipeline(store(), good, ['--dry-run']);
    expect(result.status).toBe('planned');
    expect(output).toContain('Plan (dry run: nothing was trained or published):');
    expect(output).toContain(`train      skipped: evaluate the completed run ${good}`);
    expect(output).toContain('champion   none (no production.json yet)');
    expect(existsSync(path.join(store(), 'detector'))).toBe(false);
  });

  it('publishes the run, and /predict serves it', async () => {
    const { result, output } = await pipeline(store(), good);
    expect(result).toMatchObject({ status: 'published', name: 'detector', previous_version: null });
    if (result.status !== 'published') return;
    firstVersion = result.version;
    expect(result.version).toMatch(/^20261126T100\d00Z-b1200a89$/);
    // The test split exists, so the gate judges on it.
    expect(result.gate.split).toBe('test');
    expect(result.metrics.test?.accuracy).toBe(1);
    expect(output).toContain('Gate on test: PASSED');
    expect(pointerOf(store())).toMatchObject({
      version: result.version,
      sha256: 'b1200a89fd079bfad03e7edf8c0efe549da3321bae2a0dc16e1a4fb1ddea7c74',
      previous_version: null,
    });
    const card = readFileSync(path.join(store(), 'detector', result.version, 'README.md'), 'utf8');
    expect(card).toContain(`python3 -m training.train --dataset ${dataset} --out ${good} --arch compact --image-size 32 --epochs 3 --lr 0.002`);
    expect(card).toContain('- Formats: it was trained on png, jpeg only; the service also accepts webp, avif.');
    expect(card).toContain('| test | 12 | 1.0000 |');
    // The uncertainty band is computed on val, stored in metadata.json and reported in the card.
    const published = JSON.parse(readFileSync(path.join(store(), 'detector', result.version, 'metadata.json'), 'utf8'));
    expect(published.uncertainty).toMatchObject({ split: 'val', target_accuracy: 0.9, band: [expect.any(Number), expect.any(Number)] });
    expect(published.uncertainty.band[0]).toBeLessThanOrEqual(published.threshold);
    expect(published.uncertainty.band[1]).toBeGreaterThanOrEqual(published.threshold);
    expect(card).toContain('## Uncertainty band');
    expect(card).toMatch(/of the \d+ val images fall in the band; accuracy on the images outside it: \*\*/);

    registerFunctions(buildService(loadConfig(env(store())), { logger: createMemoryLogger('error') }));
    const client = await startFunction('predict');
    try {
      const response = await client.request('/', {
        method: 'POST',
        body: multipart([{ field: 'image', filename: 'bright.png', bytes: await noiseImage(99, { brightness: 200 }) }]),
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ prediction: 'ai_generated', model: { name: 'detector', version: result.version } });
    } finally {
      await client.close();
    }
  });

  it('publishes an equally good model over the champion, recording the previous version', async () => {
    const { result, output } = await pipeline(store(), good);
    expect(result).toMatchObject({ status: 'published', previous_version: firstVersion });
    expect(output).toContain(`accuracy 1.0000 vs production ${firstVersion}'s 1.0000 on the same 12 images`);
  });

  it('rejects a worse challenger, keeps it under candidates/ with its report, and leaves production alone', async () => {
    const before = pointerOf(store());
    const worse = await fakeRun('run-worse', { metadata: { threshold: 0.9 } });
    const failure = await pipeline(store(), worse).catch((error: unknown) => error);
    expect(isPipelineError(failure) && failure.code).toBe('gate_rejected');
    expect(isPipelineError(failure) && failure.exitCode).toBe(6);
    const message = (failure as Error).message;
    expect(message).toContain('accuracy 0.5000 < 0.8000');
    expect(message).toContain(`accuracy 0.5000 vs production ${before.version}'s 1.0000 on the same 12 images`);
    const location = (failure as { candidateLocation: string }).candidateLocation;
    const report = JSON.parse(readFileSync(path.join(location, 'report.json'), 'utf8'));
    expect(report).toMatchObject({ status: 'candidate', gate: { passed: false, split: 'test' } });
    expect(readFileSync(path.join(location, 'README.md'), 'utf8')).toContain('candidate, rejected by the gate');
    expect(pointerOf(store())).toEqual(before);
  });

  it('applies a recipe named with --recipe to the completed run: its gate and the card say so', async () => {
    const recipe = path.join(root, 'lenient.json');
    writeFileSync(recipe, JSON.stringify({ schema_version: 1, name: 'lenient', description: 'd', trainer: { epochs: 3 }, pipeline: { 'min-accuracy': 0.55 } }));
    const { result, output } = await pipeline(path.join(root, 'models-recipe'), good, ['--recipe', recipe]);
    expect(result.status).toBe('published');
    if (result.status !== 'published') return;
    expect(output).toContain('accuracy 1.0000 ≥ 0.5500');
    const card = readFileSync(path.join(root, 'models-recipe', 'detector', result.version, 'README.md'), 'utf8');
    expect(card).toContain('# (recipe lenient, ');
    expect(card).toContain('its evaluations, operating point and gate, on the run above)');
  });

  it("decides at thresholds set on the run's held-out folds, and judges train/serve agreement at the run's own threshold", async () => {
    // The fixture answers P(AI) ≈ 0.86 for a bright (FAKE) image; held-out real photos scoring up to
    // 0.96 put the AI threshold above that, so every fake of val/test becomes `uncertain`.
    const run = await fakeRun('run-heldout', { metadata: { operating_point: { target_fpr: 0.02, target_fnr: 0.02 } } });
    const fold = (name: string, reals: number[]) => ({
      fold: name,
      held_out: [name],
      operating_point: { ai_threshold: 0.5, real_threshold: 0.5 },
      in_source: { n: 1, ai: 0, real: 1, uncertain: 0, ai_ci: [0, 1], ood_flagged: 0, patches_disagree: 0, roc_auc: null },
      held_out_real: { n: reals.length, ai: 0, real: 1, uncertain: 0, ai_ci: [0, 1], roc_auc_vs_generators: null },
      held_out_generators: {},
      scores: { held_out_real: reals, generators: [0.3, 0.97], in_source_real: [0.1], in_source_fake: [0.9] },
      seconds: 1,
    });
    writeFileSync(
      path.join(run, 'heldout.json'),
      JSON.stringify({
        recipe: {},
        command: 'python3 -m training.heldout_eval …',
        targets: { fpr: 0.02, fnr: 0.02 },
        folds: [fold('REAL/a', [0.1, 0.95]), fold('REAL/b', [0.2, 0.96])],
      }),
    );
    const recipe = path.join(root, 'held-out-point.json');
    writeFileSync(
      recipe,
      JSON.stringify({
        schema_version: 1,
        name: 'held-out-point',
        description: 'd',
        trainer: { epochs: 3, 'target-fpr': 0.02 },
        evaluation: { held_out: { folds: ['REAL/a', 'REAL/b'], 'set-operating-point': true } },
      }),
    );
    const { result, output } = await pipeline(path.join(root, 'models-heldout'), run, ['--recipe', recipe]);
    expect(result.status).toBe('published');
    if (result.status !== 'published') return;
    const metadata = JSON.parse(readFileSync(path.join(root, 'models-heldout', 'detector', result.version, 'metadata.json'), 'utf8'));
    expect(metadata.threshold).toBe(0.9601);
    expect(metadata.operating_point).toMatchObject({
      ai_threshold: 0.9601,
      real_threshold: 0.3,
      tpr: 0,
      held_out: { folds: ['REAL/a', 'REAL/b'], real_images: 4 },
    });
    expect(metadata.uncertainty.band).toEqual([0.3, 0.9601]);
    // At the AI threshold alone half the test images are right (its fakes fall below it); the gate
    // reads the answers it gives: the real photos it decides, every fake uncertain.
    expect(result.metrics.test?.accuracy).toBe(0.5);
    // The card tells what serving answers, not a decision at the AI threshold alone.
    const card = readFileSync(path.join(root, 'models-heldout', 'detector', result.version, 'README.md'), 'utf8');
    expect(card).toContain('What serving answers at the operating point (`real` below 0.3, `ai_generated` at or above 0.9601, `uncertain` between):');
    expect(card).toContain('| AI-generated | 0 | 6 | 0 |');
    expect(card).not.toContain('predicted AI');
    expect(output).toMatch(
      /✓ accuracy of its answers 1\.0000 ≥ 0\.8000 \(it decides 6 of 12 images, 50\.0 %, at P\(AI\) < 0\.3 or ≥ 0\.9601; the others are uncertain\)/,
    );
  });

  it('fails on train/serve skew before gating', async () => {
    const skewed = await fakeRun('run-skewed', { probabilityShift: 0.05 });
    const failure = await pipeline(store(), skewed).catch((error: unknown) => error);
    expect(isPipelineError(failure) && failure.code).toBe('train_serve_skew');
    expect((failure as Error).message).toMatch(/val: mean \|ΔP\(AI\)\| = 0\.05\d* > 0\.01/);
    // The same run passes with a tolerance that allows it (as a quantized model would need).
    await expect(pipeline(path.join(root, 'models-skew'), skewed, ['--skew-max-mean-dp', '0.06'])).resolves.toMatchObject({ result: { status: 'published' } });
  });

  it('fails closed when production cannot be evaluated, unless told not to compare', async () => {
    const broken = path.join(root, 'models-broken');
    mkdirSync(path.join(broken, 'detector'), { recursive: true });
    writeFileSync(path.join(broken, 'detector', 'production.json'), JSON.stringify({ version: 'v1', sha256: 'f'.repeat(64) }));
    const failure = await pipeline(broken, good).catch((error: unknown) => error);
    expect(isPipelineError(failure) && failure.code).toBe('gate_rejected');
    expect((failure as Error).message).toContain('production version v1 could not be evaluated');
    const { result } = await pipeline(broken, good, ['--no-champion']);
    expect(result).toMatchObject({ status: 'published', previous_version: 'v1' });
  });

  it('stops with a readable report when the dataset is invalid', async () => {
    const corrupt = writeDataset(path.join(root, 'corrupt'), { ...files, 'train/FAKE/zz-broken.png': 'not a png' });
    const failure = await pipeline(store(), good, ['--dataset', corrupt]).catch((error: unknown) => error);
    expect(isPipelineError(failure) && failure.code).toBe('dataset_invalid');
    expect((failure as { report: string }).report).toContain('train/FAKE/zz-broken.png: unsupported_format');
  });

  it('reads a gs:// dataset and publishes into a gs:// store through the Cloud Storage client', async () => {
    const server = await startGcsServer();
    try {
      for (const [key, bytes] of Object.entries(files)) server.put('data-bucket', `datasets/tiny/1/${key}`, bytes);
      server.put('data-bucket', 'datasets/tiny/1/dataset.json', readFileSync(path.join(dataset, 'dataset.json')));
      const { result } = await pipeline('gs://model-bucket/models', good, ['--dataset', 'gs://data-bucket/datasets/tiny/1'], {
        STORAGE_API_ENDPOINT: server.url,
      });
      expect(result).toMatchObject({
        status: 'published',
        location: expect.stringMatching(/^gs:\/\/model-bucket\/models\/detector\/20261126T\d{6}Z-b1200a89$/),
      });
      if (result.status !== 'published') return;
      const pointer = parseProductionPointer('production.json', server.get('model-bucket', 'models/detector/production.json') ?? '');
      expect(pointer.version).toBe(result.version);
      for (const name of ['model.onnx', 'metadata.json', 'metrics.json', 'reference.json', 'README.md', 'report.json']) {
        expect(server.get('model-bucket', `models/detector/${result.version}/${name}`)).toBeDefined();
      }
      expect(
        readFileSync(path.join(root, 'cache', 'data-bucket', 'datasets', 'tiny', '1', 'train', 'REAL', 'r0000.png')).equals(
          files['train/REAL/r0000.png'] as Buffer,
        ),
      ).toBe(true);
    } finally {
      await server.close();
    }
  });
});
