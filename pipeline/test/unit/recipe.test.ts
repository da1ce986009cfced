import { readdirSync, readFileSync } from 'node:fs';
import { loadPipelineSettings } from '../../src/pipeline-settings';
import * as path from 'node:path';
import { repoRoot } from '../../../functions/src/platform';
import { parseCommandLine, type CliContext } from '../../src/cli';
import { UsageError } from '../../src/errors';
import { applyRecipe, loadRecipe, parseRecipe, recipeFile, recipeTrainerArgs, siblingDataset } from '../../src/recipe';
import { buildTrainerArgs, pretrainBase } from '../../src/training-jobs';

const ROOT = repoRoot();
const context: CliContext = {
  config: loadPipelineSettings({ MODEL_STORE: '/srv/models' }),
  repoRoot: ROOT,
  now: new Date('2026-12-01T10:00:00Z'),
  systemPython: true,
};
const parse = (argv: string[]) => {
  const parsed = parseCommandLine(argv, context);
  if (parsed.help) throw new Error('expected options');
  return parsed.options;
};

/** `--a 1 --b --c x` → { a: '1', b: true, c: 'x' }, the last occurrence winning as in argparse. */
function flagsOf(args: readonly string[]): Record<string, string | true> {
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) continue;
    const next = args[i + 1];
    if (next === undefined || next.startsWith('--')) flags[arg.slice(2)] = true;
    else {
      flags[arg.slice(2)] = next;
      i += 1;
    }
  }
  return flags;
}

/** The trainer command of a model card that wrote into runs/<out>. */
function modelCardCommand(card: string, out: string): string[] {
  const line = readFileSync(path.join(ROOT, card), 'utf8')
    .split('\n')
    .find((text) => text.startsWith('python3 -m training.train') && text.includes(`--out runs/${out} `));
  if (line === undefined) throw new Error(`${card} lists no command writing runs/${out}`);
  return line.split(' ').slice(3);
}

/**
 * The flags that decide what is trained. Paths differ per run; --workers is left to the trainer,
 * whose default is the cards' 0 on the CPU (the same batches) and parallel loading on CUDA.
 */
const withoutPaths = (flags: Record<string, string | true>) => {
  const { dataset: _dataset, out: _out, 'init-from': _init, name: _name, workers, ...rest } = flags;
  expect(workers ?? '0').toBe('0');
  return rest;
};

describe('shipped recipes', () => {
  const files = readdirSync(path.join(ROOT, 'training', 'recipes')).filter((file) => file.endsWith('.json'));

  it.each(files)('%s matches the schema and is named after its file', async (file) => {
    const loaded = await loadRecipe(file.replace(/\.json$/, ''), ROOT);
    expect(loaded.recipe.name).toBe(file.replace(/\.json$/, ''));
  });

  it.each([
    ['shoes', 'models/shoes/20261126T073803Z-2fbd56b5/README.md', 'shoes-final', 'cifake-stage1'],
    ['cifake', 'models/cifake/20261126T081927Z-ca1a435f/README.md', 'cifake-final', 'cifake-stage1'],
  ])('recipe %s trains with the flags of its model card (%s)', async (name, card, finalRun, stage1Run) => {
    const loaded = await loadRecipe(name, ROOT);
    const options = applyRecipe(parse(['--dataset', '/data/x', '--name', name]), loaded);
    expect(withoutPaths(flagsOf(buildTrainerArgs(options, '/data/x', '/work/run')))).toEqual(withoutPaths(flagsOf(modelCardCommand(card, finalRun))));

    const pretrain = loaded.recipe.pretrain;
    expect(pretrain?.recipe).toBe(stage1Run);
    const stage = applyRecipe(pretrainBase(options), await loadRecipe(pretrain!.recipe, ROOT));
    expect(withoutPaths(flagsOf(buildTrainerArgs(stage, '/data/x', '/work/pretrain')))).toEqual(withoutPaths(flagsOf(modelCardCommand(card, stage1Run))));
  });

  it('shoes pre-trains on the cifake dataset the model card names', async () => {
    const { recipe } = await loadRecipe('shoes', ROOT);
    expect(recipe.pretrain?.dataset).toEqual({ name: 'cifake', version: 'train-cleaned-1' });
    expect(readFileSync(path.join(ROOT, 'models/shoes/20261126T073803Z-2fbd56b5/README.md'), 'utf8')).toContain(
      '--dataset data/cifake --out runs/cifake-stage1',
    );
  });
});

describe('parseRecipe', () => {
  const base = { schema_version: 1, name: 'x', description: 'd', trainer: { epochs: 3 } };
  it.each([
    ['an unknown top-level field', { ...base, epochs: 3 }, 'must NOT have additional properties'],
    ['a trainer value that is an object', { ...base, trainer: { epochs: { n: 3 } } }, '/trainer/epochs'],
    ['a flag the pipeline owns', { ...base, trainer: { dataset: 'data/x' } }, 'trainer'],
    ['--init-from (pretrain says where from)', { ...base, trainer: { 'init-from': 'a.pt' } }, 'trainer'],
    ['a flag written with its dashes', { ...base, trainer: { '--epochs': 3 } }, 'trainer'],
    ['another schema version', { ...base, schema_version: 2 }, 'schema_version'],
    ['an accelerator count of 0', { ...base, compute: { machine_type: 'g2-standard-8', accelerator_count: 0 } }, 'accelerator_count'],
    ['a gate threshold above 1', { ...base, pipeline: { 'min-accuracy': 80 } }, 'min-accuracy'],
  ])('refuses %s, naming it', (_case, value, fragment) => {
    expect(() => parseRecipe(JSON.stringify(value), 'r.json')).toThrow(UsageError);
    expect(() => parseRecipe(JSON.stringify(value), 'r.json')).toThrow(fragment);
  });

  describe('a held-out evaluation that sets the operating point', () => {
    const heldOut = { folds: ['REAL/a', 'REAL/b'], 'set-operating-point': true };
    const recipe = (extra: object) =>
      JSON.stringify({ ...base, trainer: { epochs: 3, 'target-fpr': 0.02 }, evaluation: { held_out: { ...heldOut, ...extra } } });

    it('is accepted when the folds train as the published model does', () => {
      expect(parseRecipe(recipe({}), 'r.json').evaluation?.held_out?.['set-operating-point']).toBe(true);
    });

    it('refuses folds on another schedule, naming the overrides', () => {
      expect(() => parseRecipe(recipe({ trainer: { epochs: 1, 'ood-images': 50 } }), 'r.json')).toThrow(
        /evaluation.held_out sets the operating point, so its folds must train as the published model does .*remove evaluation.held_out.trainer \(epochs, ood-images\)/,
      );
    });

    it('refuses a trainer without a target false-positive rate', () => {
      const text = JSON.stringify({ ...base, evaluation: { held_out: heldOut } });
      expect(() => parseRecipe(text, 'r.json')).toThrow(`add trainer["target-fpr"]`);
    });
  });

  it('refuses a file that is not JSON, naming the file', () => {
    expect(() => parseRecipe('{', '/tmp/r.json')).toThrow(/recipe \/tmp\/r.json is not valid JSON/);
  });

  it('names the file a missing recipe would be', async () => {
    await expect(loadRecipe('nope', ROOT)).rejects.toThrow(`a bare name means ${path.join('training', 'recipes', 'nope.json')}`);
  });

  it('reads a bare name from training/recipes/ and anything else as a path', () => {
    expect(recipeFile('shoes', '/repo')).toBe('/repo/training/recipes/shoes.json');
    expect(recipeFile('/x/my.json', '/repo')).toBe('/x/my.json');
  });
});

describe('recipeTrainerArgs', () => {
  it('writes values after their flag, true as a bare flag, and leaves false out', () => {
    expect(recipeTrainerArgs({ width: 24, augment: 'light', 'no-augment': true, flip: false, lr: 0.001 })).toEqual([
      '--width',
      '24',
      '--augment',
      'light',
      '--no-augment',
      '--lr',
      '0.001',
    ]);
  });
});

describe('applyRecipe', () => {
  const loaded = {
    file: '/r.json',
    recipe: {
      schema_version: 1 as const,
      name: 'r',
      description: 'd',
      trainer: { arch: 'compact', 'image-size': 64, epochs: 7, width: 16, 'val-fraction': 0.2, threads: 4, device: 'auto' },
      pipeline: { 'min-accuracy': 0.9 },
    },
  };

  it('fills what the command line left open', () => {
    const options = applyRecipe(parse(['--dataset', '/d', '--name', 'm']), loaded);
    expect(options.trainer).toMatchObject({ arch: 'compact', imageSize: 64, epochs: 7, valFraction: 0.2, threads: 4 });
    expect(options.validation.valFraction).toBe(0.2);
    expect(options.gate.minAccuracy).toBe(0.9);
    expect(options.trainer.extraArgs).toEqual(['--width', '16', '--device', 'auto']);
    expect(options.appliedRecipe?.name).toBe('r');
  });

  it('lets flags on the command line win, --trainer-arg included', () => {
    const options = applyRecipe(
      parse(['--dataset', '/d', '--name', 'm', '--epochs', '2', '--threads', '1', '--min-accuracy', '0.5', '--trainer-arg=--width', '--trainer-arg=8']),
      loaded,
    );
    expect(options.trainer).toMatchObject({ epochs: 2, threads: 1, imageSize: 64 });
    expect(options.gate.minAccuracy).toBe(0.5);
    const flags = flagsOf(buildTrainerArgs(options, '/d', '/o'));
    expect(flags).toMatchObject({ epochs: '2', threads: '1', width: '8', 'image-size': '64' });
  });

  it('refuses a typed entry of the wrong kind, naming the recipe and the flag', () => {
    const bad = { ...loaded, recipe: { ...loaded.recipe, trainer: { epochs: 'many' } } };
    expect(() => applyRecipe(parse(['--dataset', '/d', '--name', 'm']), bad)).toThrow(
      'recipe r (/r.json): trainer.epochs must be a positive number; got "many"',
    );
  });
});

describe('siblingDataset', () => {
  const own = { name: 'shoes', version: 'v3' };
  const wanted = { name: 'cifake', version: 'train-cleaned-1' };
  it.each([
    ['gs://b/datasets/shoes/v3', 'gs://b/datasets/cifake/train-cleaned-1'],
    ['gs://b/datasets/shoes/v3/', 'gs://b/datasets/cifake/train-cleaned-1'],
    ['/data/shoes', '/data/cifake'],
    ['/srv/datasets/shoes/v3', '/srv/datasets/cifake/train-cleaned-1'],
  ])('%s → %s', (uri, expected) => {
    expect(siblingDataset(uri, own, wanted)).toBe(expected);
  });

  it('asks for --pretrain-dataset when a gs:// dataset is not laid out as <name>/<version>', () => {
    expect(() => siblingDataset('gs://b/somewhere', own, wanted)).toThrow('give --pretrain-dataset');
  });
});
