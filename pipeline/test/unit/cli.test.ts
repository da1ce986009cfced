import * as path from 'node:path';
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { HELP, parseCommandLine, type CliContext } from '../../src/cli';
import { UsageError } from '../../src/errors';
import { buildTrainerArgs } from '../../src/pipeline';
import { trainerCommand } from '../../src/run-dir';

const context: CliContext = {
  config: loadPipelineSettings({ MODEL_STORE: '/srv/models' }),
  repoRoot: '/repo',
  now: new Date('2026-11-26T10:15:00.123Z'),
  systemPython: true,
};

const parse = (argv: string[]) => {
  const parsed = parseCommandLine(argv, context);
  if (parsed.help) throw new Error('expected options, got --help');
  return parsed.options;
};

describe('parseCommandLine', () => {
  it('fills documented defaults', () => {
    const options = parse(['--dataset', 'gs://bucket/datasets/shoes/3', '--name', 'shoes']);
    expect(options).toMatchObject({
      dataset: 'gs://bucket/datasets/shoes/3',
      name: 'shoes',
      store: '/srv/models',
      fromRun: null,
      dryRun: false,
      workDir: '/repo/runs/pipeline/shoes-20261126T101500Z',
      cacheDir: '/repo/.local/datasets',
      python: '/usr/bin/python3',
      champion: true,
      robustnessQuality: 75,
      evalBatchSize: 64,
      progressIntervalMs: 30_000,
      trainer: { arch: 'compact', imageSize: null, epochs: null, valFraction: 0.1, threads: 2, extraArgs: [] },
      validation: { minTrainPerClass: 50, minEvalPerClass: 10, maxImbalance: 3, maxCorrupt: 0, maxDuplicateShare: 0.01, maxLeaks: 0, valFraction: 0.1 },
      skew: { maxLogitDiff: 0.001, maxMeanProbabilityDiff: 0.01, maxAccuracyDelta: 0.005, maxRocAucDelta: 0.005 },
      gate: { minAccuracy: 0.8, minRocAuc: 0.85, maxEce: 0.1, maxJpegDropPoints: 10, championMetrics: ['accuracy', 'roc_auc'], championTolerance: 0 },
    });
    expect(options.invocation).toBe('npm run pipeline -- --dataset gs://bucket/datasets/shoes/3 --name shoes');
  });

  it('reads every option', () => {
    const options = parse([
      '--dataset',
      'data/shoes',
      '--name',
      'shoes',
      '--store',
      'gs://b/models',
      '--epochs',
      '3',
      '--arch',
      'mobilenet_v3_small',
      '--image-size',
      '128',
      '--batch-size',
      '32',
      '--lr',
      '1e-3',
      '--max-steps',
      '5',
      '--val-fraction',
      '0.2',
      '--seed',
      '7',
      '--threads',
      '4',
      '--trainer-arg=--width',
      '--trainer-arg',
      '24',
      '--python',
      'python3.11',
      '--dry-run',
      '--no-champion',
      '--no-robustness',
      '--min-accuracy',
      '0.9',
      '--champion-metrics',
      'f1, accuracy',
      '--champion-tolerance',
      '0.01',
      '--skew-max-mean-dp',
      '0.02',
      '--max-imbalance',
      '4',
      '--progress-interval',
      '5',
      '--log-format',
      'json',
    ]);
    expect(options).toMatchObject({
      dataset: path.resolve('data/shoes'),
      store: 'gs://b/models',
      dryRun: true,
      champion: false,
      robustnessQuality: null,
      python: 'python3.11',
      progressIntervalMs: 5000,
      trainer: {
        arch: 'mobilenet_v3_small',
        imageSize: 128,
        epochs: 3,
        batchSize: 32,
        lr: 0.001,
        maxSteps: 5,
        valFraction: 0.2,
        seed: 7,
        threads: 4,
        extraArgs: ['--width', '24'],
      },
      gate: { minAccuracy: 0.9, championMetrics: ['f1', 'accuracy'], championTolerance: 0.01 },
      skew: { maxMeanProbabilityDiff: 0.02 },
      validation: { maxImbalance: 4, valFraction: 0.2 },
    });
    expect(buildTrainerArgs(options, '/data/shoes', '/work/run')).toEqual([
      '-m',
      'training.train',
      '--dataset',
      '/data/shoes',
      '--out',
      '/work/run',
      '--name',
      'shoes',
      '--arch',
      'mobilenet_v3_small',
      '--image-size',
      '128',
      '--epochs',
      '3',
      '--batch-size',
      '32',
      '--lr',
      '0.001',
      '--max-steps',
      '5',
      '--seed',
      '7',
      '--val-fraction',
      '0.2',
      '--threads',
      '4',
      '--width',
      '24',
    ]);
  });

  it('accepts --from-run without --dataset', () => {
    expect(parse(['--from-run', 'runs/shoes', '--name', 'shoes'])).toMatchObject({ fromRun: path.resolve('runs/shoes'), dataset: null });
  });

  it('answers --help', () => {
    expect(parseCommandLine(['--help'], context)).toEqual({ help: true });
    expect(HELP).toContain('--from-run <run dir>');
    expect(HELP).toContain('Exit status: 0 published');
  });

  it.each<[string, string[], string]>([
    ['a missing name', ['--dataset', 'd'], '--name is required'],
    ['a missing dataset', ['--name', 'm'], '--dataset is required'],
    ['an invalid name', ['--dataset', 'd', '--name', 'Shoes!'], '--name "Shoes!" is not a model name'],
    ['a non-numeric epoch count', ['--dataset', 'd', '--name', 'm', '--epochs', 'ten'], '--epochs must be an integer ≥ 1; got "ten"'],
    ['a fractional epoch count', ['--dataset', 'd', '--name', 'm', '--epochs', '1.5'], '--epochs must be an integer ≥ 1; got "1.5"'],
    ['an accuracy in percent', ['--dataset', 'd', '--name', 'm', '--min-accuracy', '90'], '--min-accuracy must be a number from 0 to 1; got "90"'],
    ['an unknown architecture', ['--dataset', 'd', '--name', 'm', '--arch', 'resnet'], '--arch must be one of compact, efficientnet_b0'],
    ['an unknown champion metric', ['--dataset', 'd', '--name', 'm', '--champion-metrics', 'speed'], '--champion-metrics has unknown metric(s) speed'],
    ['an unknown flag', ['--dataset', 'd', '--name', 'm', '--epoch', '3'], "Unknown option '--epoch'"],
    ['a positional argument', ['data/shoes', '--name', 'm'], 'Unexpected argument'],
  ])('refuses %s, naming the flag', (_name, argv, message) => {
    expect(() => parseCommandLine(argv, context)).toThrow(UsageError);
    expect(() => parseCommandLine(argv, context)).toThrow(message);
  });

  it('reports every bad flag at once', () => {
    expect(() => parse(['--epochs', '0', '--lr=-1'])).toThrow(
      /--name is required[\s\S]*--dataset is required[\s\S]*--epochs must be[\s\S]*--lr must be a positive number/,
    );
  });
});

describe('trainerCommand', () => {
  it("rebuilds the trainer's command line from training.json's args", () => {
    expect(
      trainerCommand({
        dataset: 'data/cifake',
        out: 'runs/cifake-final',
        name: null,
        arch: 'compact',
        image_size: 32,
        label_smoothing: 0.05,
        no_augment: false,
        init_from: null,
        pretrained_weights: null,
      }),
    ).toBe('python3 -m training.train --dataset data/cifake --out runs/cifake-final --arch compact --image-size 32 --label-smoothing 0.05');
    expect(trainerCommand({ no_augment: true, dataset: 'my data' })).toBe("python3 -m training.train --no-augment --dataset 'my data'");
  });

  it('leaves out an option given no values (an empty list) and lists the values of one that has them', () => {
    expect(trainerCommand({ exclude_source: [], members: ['runs/a', 'runs/b'] }, 'python3', 'training.train_patches')).toBe(
      'python3 -m training.train_patches --members runs/a runs/b',
    );
  });
});

describe('--runner vertex', () => {
  const vertexContext: CliContext = { ...context, config: loadPipelineSettings({ MODEL_STORE: '/srv/models', GOOGLE_CLOUD_PROJECT: 'demo-project' }) };
  const base = ['--dataset', 'gs://b/datasets/shoes/3', '--name', 'shoes', '--runner', 'vertex'];

  it('reads the Vertex AI settings, compute flags included', () => {
    const parsed = parseCommandLine(
      [
        ...base,
        '--vertex-staging',
        'gs://demo-b/vertex-staging/',
        '--vertex-image',
        'r/i:1',
        '--vertex-region',
        'us-central1',
        '--accelerator-type',
        'NVIDIA_TESLA_T4',
        '--accelerator-count',
        '2',
      ],
      vertexContext,
    );
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.options.runner).toBe('vertex');
    expect(parsed.options.vertex).toEqual({
      project: 'demo-project',
      region: 'us-central1',
      staging: 'gs://demo-b/vertex-staging',
      image: 'r/i:1',
      serviceAccount: null,
      compute: { accelerator_type: 'NVIDIA_TESLA_T4', accelerator_count: 2 },
      timeoutSeconds: 86_400,
    });
  });

  it('stays local by default', () => {
    expect(parse(['--dataset', '/d', '--name', 'm'])).toMatchObject({ runner: 'local', vertex: null });
  });

  it('names every missing setting at once', () => {
    expect(() => parseCommandLine(base, context)).toThrow(/needs --vertex-staging[\s\S]*needs --vertex-image[\s\S]*needs GOOGLE_CLOUD_PROJECT/);
    expect(() => parseCommandLine(['--dataset', '/d', '--name', 'm', '--runner', 'cloud'], context)).toThrow('--runner must be local or vertex; got "cloud"');
  });
});
