import { readFileSync } from 'node:fs';
import { loadPipelineSettings } from '../../src/pipeline-settings';
import * as path from 'node:path';
import { repoRoot } from '../../../functions/src/platform';
import { parseCommandLine } from '../../src/cli';
import { applyRecipe, loadRecipe } from '../../src/recipe';
import { trainerJob } from '../../src/training-jobs';
import { buildCustomJobRequest, fusePath, resolveCompute, type VertexSettings } from '../../src/vertex/custom-job-request';

const SETTINGS: VertexSettings = {
  project: 'demo-project',
  region: 'europe-west1',
  staging: 'gs://demo-data/vertex-staging',
  image: 'europe-west1-docker.pkg.dev/demo-project/detector-training/training-cuda:b1',
  serviceAccount: 'detector-vertex@demo-project.iam.gserviceaccount.com',
  compute: {},
  timeoutSeconds: 86_400,
};

describe('buildCustomJobRequest', () => {
  it('builds the shoes recipe job of the golden file', async () => {
    const settings = loadPipelineSettings({ MODEL_STORE: 'gs://demo-data/models', GOOGLE_CLOUD_PROJECT: 'demo-project' });
    const parsed = parseCommandLine(['--dataset', 'gs://demo-data/datasets/shoes/v3', '--name', 'shoes', '--work-dir', '/work/shoes-20261201T100000Z'], {
      config: settings,
      repoRoot: repoRoot(),
      now: new Date('2026-12-01T10:00:00Z'),
      systemPython: true,
    });
    if (parsed.help) throw new Error('unexpected --help');
    const options = applyRecipe(parsed.options, await loadRecipe('shoes', repoRoot()));
    const job = trainerJob(options, { stage: 'train', dataset: { uri: 'gs://demo-data/datasets/shoes/v3', local: null }, initFrom: null });
    const stageUri = 'gs://demo-data/vertex-staging/shoes-20261201T100000Z/train';
    const request = buildCustomJobRequest({
      settings: SETTINGS,
      recipeCompute: job.compute,
      model: 'shoes',
      stage: 'train',
      runId: 'shoes-20261201T100000Z',
      args: job.buildArgs({
        dataset: fusePath('gs://demo-data/datasets/shoes/v3'),
        out: fusePath(`${stageUri}/run`),
        initFrom: fusePath('gs://demo-data/vertex-staging/shoes-20261201T100000Z/pretrain/run/checkpoint.pt'),
      }),
      stageUri,
    });
    const golden = JSON.parse(readFileSync(path.join(__dirname, 'golden', 'custom-job-shoes.json'), 'utf8'));
    expect(request).toEqual(golden);
  });

  it('asks for no GPU and runs the trainer on the CPU for a machine type without an accelerator', () => {
    const request = buildCustomJobRequest({
      settings: { ...SETTINGS, compute: { machine_type: 'n2-standard-16' }, serviceAccount: null },
      recipeCompute: null,
      model: 'm',
      stage: 'pretrain',
      runId: 'r',
      args: ['-m', 'training.train'],
      stageUri: 'gs://b/s/r/pretrain',
    });
    const pool = request.jobSpec.workerPoolSpecs[0]!;
    expect(pool.machineSpec).toEqual({ machineType: 'n2-standard-16' });
    expect(pool.containerSpec.args.slice(-2)).toEqual(['--device', 'cpu']);
    expect(request.jobSpec.serviceAccount).toBeUndefined();
  });
});

describe('resolveCompute', () => {
  it.each([
    ['defaults', {}, null, { machine_type: 'g2-standard-8', accelerator_type: 'NVIDIA_L4', accelerator_count: 1 }],
    [
      'the recipe',
      {},
      { machine_type: 'a2-highgpu-1g', accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 1 },
      { machine_type: 'a2-highgpu-1g', accelerator_type: 'NVIDIA_TESLA_A100', accelerator_count: 1 },
    ],
    [
      'flags over the recipe',
      { accelerator_count: 2 },
      { machine_type: 'g2-standard-24', accelerator_type: 'NVIDIA_L4' },
      { machine_type: 'g2-standard-24', accelerator_type: 'NVIDIA_L4', accelerator_count: 2 },
    ],
    ['a CPU recipe', {}, { machine_type: 'n2-standard-8' }, { machine_type: 'n2-standard-8' }],
  ])('%s', (_case, flags, recipe, expected) => {
    expect(resolveCompute(flags, recipe)).toEqual(expected);
  });
});

describe('fusePath', () => {
  it('maps gs:// onto the /gcs mount and refuses anything else', () => {
    expect(fusePath('gs://b/datasets/shoes/v3/')).toBe('/gcs/b/datasets/shoes/v3');
    expect(() => fusePath('/data/shoes')).toThrow('not a gs:// URI');
  });
});
