import { ensembleTrainingTime, ensembleViews } from '../../src/model-card';
import type { TrainingRecord } from '../../src/run-dir';

describe('ensembleViews', () => {
  it.each([
    [{ flip: false, shift: 0 }, 1, ''],
    [{ flip: true }, 2, ', each also run on the mirrored image: 2 views per image'],
    [{ flip: true, shift: 0 }, 2, ', each also run on the mirrored image: 2 views per image'],
    [{ flip: false, shift: 2 }, 5, ', each also run on copies of the image moved by 2 pixels left, right, up and down (edges mirrored): 5 views per image'],
    [
      { flip: true, shift: 1 },
      10,
      ', each also run on the mirrored image and on copies of both moved by 1 pixel left, right, up and down (edges mirrored): 10 views per image',
    ],
  ])('describes %j with its recorded view count', (args, views, expected) => {
    expect(ensembleViews({ args, views })).toBe(expected);
  });

  it('leaves the count out of a record written before views were recorded', () => {
    expect(ensembleViews({ args: { flip: true } })).toBe(', each also run on the mirrored image');
  });
});

describe('ensembleTrainingTime', () => {
  const record = (extra: Partial<TrainingRecord>): TrainingRecord => ({
    seconds: 7_500,
    epochs_run: 40,
    best_epoch: 10,
    images_per_s: 600,
    arch: 'ensemble',
    params: 1,
    image_size: 32,
    args: {},
    ...extra,
  });

  it('names the members alone when none continues from another run', () => {
    expect(ensembleTrainingTime(record({}))).toBe('- Training time: 2h05m in all (40 epochs across the members).');
  });

  it('names each run the members continue from, with its epochs and time', () => {
    const line = ensembleTrainingTime(
      record({
        pretraining: [
          { run: 'runs/stage1', seconds: 1_800, epochs_run: 14 },
          { run: 'runs/gone', seconds: null, epochs_run: null },
        ],
      }),
    );
    expect(line).toBe(
      '- Training time: 2h05m in all (40 epochs across the members, plus runs/stage1 (14 epochs, 30m00s), ' +
        'runs/gone (? epochs, time unknown), which members continue from).',
    );
  });
});
