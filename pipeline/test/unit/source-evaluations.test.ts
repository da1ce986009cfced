import { heldOutArgs, losoArgs } from '../../src/source-evaluations';

const request = {
  runDir: 'runs/r',
  datasetRoot: 'data/general',
  trainer: { representation: 'highpass', epochs: 12, 'aligned-families': 'taef2', threads: 1 },
  threads: 2,
};

describe('held-out evaluations of a recipe', () => {
  it('runs training.heldout_eval with the folds, the targets and the recipe flags under its own schedule', () => {
    const args = heldOutArgs({
      ...request,
      evaluation: { held_out: { folds: ['REAL/food', 'family:dalle'], 'max-test': 200, 'target-fpr': 0.02, trainer: { epochs: 3 } } },
    });
    expect(args).toEqual([
      '-m',
      'training.heldout_eval',
      '--dataset',
      'data/general',
      '--out',
      'runs/r',
      '--folds',
      'REAL/food,family:dalle',
      '--max-test',
      '200',
      '--target-fpr',
      '0.02',
      '--',
      '--representation',
      'highpass',
      '--epochs',
      '3',
      '--aligned-families',
      'taef2',
      '--threads',
      '2',
    ]);
  });

  it('asks for nothing the recipe does not name', () => {
    expect(heldOutArgs({ ...request, evaluation: {} })).toBeNull();
    expect(losoArgs({ ...request, evaluation: {} })).toBeNull();
  });
});
