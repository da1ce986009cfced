/**
 * Feedback in and out again: images sent to the functions' POST /feedback are stored in
 * FEEDBACK_STORE, and `--with-feedback` puts them into the next training's train split only —
 * never into val/ (carved here by the trainer's rule when the dataset has none) or test/ — flags
 * them in the dataset report and counts them in the model card. The trainer is a recording
 * stand-in that writes a completed run (the "brightness" fixture model) for the folder it is given.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildService, registerFunctions } from '../../../functions/src/serving/app';
import { loadConfig } from '../../../functions/src/serving/config';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { startFunction } from '../../../functions/test/support/function-server';
import { parseCommandLine } from '../../src/cli';
import { runPipeline } from '../../src/pipeline';
import { isValidationHash } from '../../src/shared-constants';
import type { TrainerJob, TrainerRun, TrainerRunner } from '../../src/trainer/trainer-runner';
import { generateImages, noiseImage, writeDataset } from '../support/datasets';
import { splitOf, writeFakeRun } from '../support/fake-run';
import { createHash } from 'node:crypto';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'pipeline-feedback-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Every file under a folder, by '/'-separated key. */
function filesUnder(dir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const key = prefix === '' ? name : `${prefix}/${name}`;
    if (statSync(full).isDirectory()) Object.assign(out, filesUnder(full, key));
    else if (/\.(png|jpg|webp)$/.test(name)) out[key] = readFileSync(full);
  }
  return out;
}

class RecordingRunner implements TrainerRunner {
  readonly name = 'local';
  readonly needsLocalDataset = true;
  readonly datasets: string[] = [];
  describe(): string {
    return 'python3 -m training.train …';
  }
  async run(job: TrainerJob): Promise<TrainerRun> {
    const dataset = job.dataset.local as string;
    this.datasets.push(dataset);
    await writeFakeRun(job.outDir, { datasetRoot: dataset, split: splitOf(filesUnder(dataset)) });
    const done = { event: 'done' as const, best_epoch: 1, best_val: {}, seconds: 1 };
    return { events: [done], done, seconds: 1, checkpoint: path.join(job.outDir, 'checkpoint.pt') };
  }
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

it('takes images from POST /feedback into the next training, train split only', async () => {
  // A dataset without val/: the trainer would carve val out of train/ by content hash.
  const files = await generateImages({ train: { REAL: 16, FAKE: 16 }, test: { REAL: 6, FAKE: 6 } }, { formats: ['png'] });
  const dataset = writeDataset(path.join(root, 'dataset'), files);
  const carved = Object.entries(files).find(([key, bytes]) => key.startsWith('train/') && isValidationHash(sha(bytes), 0.3))!;
  const feedbackStore = path.join(root, 'feedback');

  // Clients send feedback to the functions.
  registerFunctions(
    buildService(
      loadConfig({
        MODEL_STORE: path.join(root, 'models'),
        FEEDBACK_STORE: feedbackStore,
        TELEMETRY_STORE: path.join(root, 't'),
        RATE_LIMIT_PER_SECOND: '0',
        METRICS_SINK: 'none',
        LOG_LEVEL: 'error',
      }),
      {
        logger: createMemoryLogger('error'),
      },
    ),
  );
  const client = await startFunction('feedback');
  const fresh = await noiseImage(9001, { brightness: 60 });
  const inTest = Object.entries(files).find(([key]) => key.startsWith('test/REAL/'))![1];
  try {
    for (const [bytes, label] of [
      [fresh, 'real'],
      [inTest, 'real'],
      [carved[1], carved[0].includes('/FAKE/') ? 'ai_generated' : 'real'],
    ] as const) {
      const response = await client.request('/?model=tiny', {
        method: 'POST',
        body: JSON.stringify({ image: bytes.toString('base64'), label }),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(201);
    }
  } finally {
    await client.close();
  }

  const settings = loadPipelineSettings({ MODEL_STORE: path.join(root, 'models'), LOG_LEVEL: 'error', METRICS_SINK: 'none' });
  const work = path.join(root, 'work');
  const argv = ['--dataset', dataset, '--name', 'tiny', '--work-dir', work, '--with-feedback', feedbackStore, '--val-fraction', '0.3'];
  const parsed = parseCommandLine(
    [...argv, '--min-train-per-class', '4', '--min-eval-per-class', '1', '--max-imbalance', '10', '--no-robustness', '--max-ece', '0.3'],
    {
      config: settings,
      repoRoot: root,
      now: new Date('2026-12-01T10:00:00Z'),
      systemPython: true,
    },
  );
  if (parsed.help) throw new Error('unexpected --help');
  const runner = new RecordingRunner();
  let output = '';
  const result = await runPipeline(parsed.options, {
    config: settings,
    logger: createMemoryLogger(),
    progressStream: { write: (text: string) => (output += text) },
    repoRoot: root,
    now: () => new Date('2026-12-01T10:00:00Z'),
    trainerRunner: runner,
  });
  expect(result.status).toBe('published');

  const merged = path.join(work, 'dataset-with-feedback');
  expect(runner.datasets).toEqual([merged]);
  const trained = filesUnder(merged);
  // The new image is in train/ only; the ones with the bytes of an evaluation image are not added.
  expect(trained[`train/REAL/feedback/${sha(fresh)}.png`]).toEqual(fresh);
  const feedbackKeys = Object.keys(trained).filter((key) => key.includes('/feedback/'));
  expect(feedbackKeys).toEqual([`train/REAL/feedback/${sha(fresh)}.png`]);
  // val/ is carved here by the trainer's rule, so the trainer cannot carve feedback into it.
  expect(trained[carved[0].replace(/^train\//, 'val/')]).toEqual(carved[1]);
  expect(Object.keys(trained).some((key) => key.startsWith('val/') && key.includes('feedback'))).toBe(false);

  const report = JSON.parse(readFileSync(path.join(work, 'dataset-report.json'), 'utf8'));
  expect(report.feedback).toMatchObject({ added: 1, per_class: { REAL: 1, FAKE: 0 } });
  expect(report.feedback.excluded.map((item: { reason: string }) => item.reason).sort()).toEqual([
    'the same bytes as a val/ or test/ image: it stays out of training',
    'the same bytes as a val/ or test/ image: it stays out of training',
  ]);
  expect(output).toContain('1 image(s) added to train/ only (REAL 1, FAKE 0); never to val/ or test/');
  if (result.status !== 'published') return;
  const card = readFileSync(path.join(root, 'models', 'tiny', result.version, 'README.md'), 'utf8');
  expect(card).toContain('- Feedback: 1 image(s) from');
  expect(card).toContain('in train only (REAL 1, FAKE 0), never in val or test; 2 left out.');
});
