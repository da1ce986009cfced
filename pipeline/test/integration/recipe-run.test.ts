/**
 * A run that follows the recipe its dataset.json names, without Python: a recording trainer runner
 * writes a completed run folder (the "brightness" fixture model) for each stage it is given. Checks
 * the pre-training stage on the sibling dataset, the model stage starting from its checkpoint, the
 * command line overriding the recipe, and publication.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger } from '../../../functions/src/platform/logger';
import { parseCommandLine } from '../../src/cli';
import { runPipeline } from '../../src/pipeline';
import type { TrainerJob, TrainerRun, TrainerRunner } from '../../src/trainer/trainer-runner';
import { DATASET_INFO, generateImages, writeDataset } from '../support/datasets';
import { splitOf, writeFakeRun } from '../support/fake-run';

let root: string;
let files: Record<string, Buffer>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'pipeline-recipe-'));
  files = await generateImages({ train: { REAL: 8, FAKE: 8 }, val: { REAL: 6, FAKE: 6 } }, { formats: ['png'] });
  writeDataset(path.join(root, 'data', 'main'), files, { ...DATASET_INFO, name: 'main', version: '1', recipe: 'two-stage' });
  writeDataset(path.join(root, 'data', 'base'), files, { ...DATASET_INFO, name: 'base', version: '7' });
  // A repository root of its own, holding the recipes.
  mkdirSync(path.join(root, 'repo', 'training', 'recipes'), { recursive: true });
  const recipe = (name: string, body: object) =>
    writeFileSync(path.join(root, 'repo', 'training', 'recipes', `${name}.json`), JSON.stringify({ schema_version: 1, name, description: 'test', ...body }));
  recipe('two-stage', {
    trainer: { 'image-size': 32, epochs: 9, width: 12, 'label-smoothing': 0.05 },
    pretrain: { recipe: 'base-stage', dataset: { name: 'base', version: '7' } },
    pipeline: { 'max-ece': 0.2 },
  });
  recipe('base-stage', { trainer: { 'image-size': 32, epochs: 3, seed: 5 } });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

class RecordingRunner implements TrainerRunner {
  readonly name = 'local';
  readonly needsLocalDataset = true;
  readonly jobs: Array<{ job: TrainerJob; args: string[] }> = [];

  describe(job: TrainerJob): string {
    return `python3 ${job.buildArgs({ dataset: job.dataset.local ?? job.dataset.uri, out: job.outDir, initFrom: job.initFrom }).join(' ')}`;
  }

  async run(job: TrainerJob): Promise<TrainerRun> {
    const args = job.buildArgs({ dataset: job.dataset.local ?? job.dataset.uri, out: job.outDir, initFrom: job.initFrom });
    this.jobs.push({ job, args });
    await writeFakeRun(job.outDir, { datasetRoot: job.dataset.local as string, split: splitOf(files) });
    const done = { event: 'done' as const, best_epoch: 1, best_val: {}, seconds: 1 };
    return { events: [done], done, seconds: 1, checkpoint: path.join(job.outDir, 'checkpoint.pt') };
  }
}

it("trains the pre-training stage, then the model from its checkpoint, with the dataset's recipe under the command line", async () => {
  const settings = loadPipelineSettings({ MODEL_STORE: path.join(root, 'models'), LOG_LEVEL: 'error', METRICS_SINK: 'none' });
  const work = path.join(root, 'work');
  const argv = ['--dataset', path.join(root, 'data', 'main'), '--name', 'main', '--work-dir', work, '--epochs', '2', '--no-robustness'];
  const parsed = parseCommandLine([...argv, '--min-train-per-class', '4', '--min-eval-per-class', '4'], {
    config: settings,
    repoRoot: path.join(root, 'repo'),
    now: new Date('2026-12-01T10:00:00Z'),
    systemPython: true,
  });
  if (parsed.help) throw new Error('unexpected --help');
  const runner = new RecordingRunner();
  let output = '';
  const result = await runPipeline(parsed.options, {
    config: settings,
    logger: createMemoryLogger(),
    progressStream: { write: (text: string) => (output += text) },
    repoRoot: path.join(root, 'repo'),
    now: () => new Date('2026-12-01T10:00:00Z'),
    trainerRunner: runner,
  });
  // The brightness model's ECE is above the default 0.1: it passes only under the recipe's max-ece 0.2.
  expect(result.status).toBe('published');
  expect(runner.jobs.map(({ job }) => job.stage)).toEqual(['pretrain', 'train']);
  const [pretrain, train] = runner.jobs as [{ job: TrainerJob; args: string[] }, { job: TrainerJob; args: string[] }];
  expect(pretrain.job.dataset.uri).toBe(path.join(root, 'data', 'base'));
  expect(pretrain.args.join(' ')).toContain(`--dataset ${path.join(root, 'data', 'base')} --out ${path.join(work, 'pretrain', 'run')}`);
  expect(pretrain.args.join(' ')).toContain('--image-size 32 --epochs 3 --seed 5');
  expect(pretrain.args).not.toContain('--init-from');
  // --epochs 2 from the command line beats the recipe's 9; the recipe's other flags apply.
  expect(train.args.join(' ')).toContain(`--image-size 32 --epochs 2 --init-from ${path.join(work, 'pretrain', 'run', 'checkpoint.pt')}`);
  expect(train.args.join(' ')).toContain('--width 12 --label-smoothing 0.05');
  if (result.status !== 'published') return;
  expect(readFileSync(path.join(root, 'models', 'main', 'production.json'), 'utf8')).toContain(result.version);
  const card = readFileSync(path.join(root, 'models', 'main', result.version, 'README.md'), 'utf8');
  expect(card).toContain('# (training recipe two-stage, training/recipes/two-stage.json: the command below runs all of the above)');
});
