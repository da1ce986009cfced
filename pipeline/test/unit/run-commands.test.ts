import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { reproductionCommands, shownPath } from '../../src/run-commands';

describe('shownPath', () => {
  const root = path.resolve('/srv/repo');
  it.each([
    [path.join(root, 'data', 'shoes'), 'data/shoes'],
    ['data/shoes', 'data/shoes'],
    ['/elsewhere/data', '/elsewhere/data'],
    ['gs://bucket/datasets/shoes/v1', 'gs://bucket/datasets/shoes/v1'],
  ])('shows %s as %s', (input, expected) => {
    const shown = shownPath(input.startsWith('/') || input.includes('://') ? input : path.join(root, input), root);
    expect(shown).toBe(expected);
  });
});

describe('reproductionCommands', () => {
  let root: string;
  const write = (run: string, record: Record<string, unknown>): void => {
    mkdirSync(path.join(root, run), { recursive: true });
    writeFileSync(path.join(root, run, 'training.json'), JSON.stringify(record));
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'run-commands-'));
    write('runs/stage1', { args: { dataset: 'data/c', out: 'runs/elsewhere', seed: 42 } });
    write('runs/final', { args: { dataset: 'data/c', out: 'runs/final', seed: 43, init_from: 'runs/stage1/checkpoint.pt' } });
    write('runs/wide', { args: { dataset: 'data/c', out: 'runs/wide', width: 30, no_augment: false } });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('lists a plain run as its one trainer command', () => {
    expect(reproductionCommands(path.join(root, 'runs/wide'), { args: { dataset: 'data/c', out: 'runs/wide', width: 30 } }, root)).toEqual([
      'python3 -m training.train --dataset data/c --out runs/wide --width 30',
    ]);
  });

  it('puts the --init-from run first, written to the folder its checkpoint is read from', () => {
    const final = { args: { dataset: 'data/c', out: 'runs/final', seed: 43, init_from: 'runs/stage1/checkpoint.pt' } };
    expect(reproductionCommands(path.join(root, 'runs/final'), final, root)).toEqual([
      '# pre-training whose checkpoint --init-from loads (from runs/stage1/training.json)',
      'python3 -m training.train --dataset data/c --out runs/stage1 --seed 42',
      '# then',
      'python3 -m training.train --dataset data/c --out runs/final --seed 43 --init-from runs/stage1/checkpoint.pt',
    ]);
  });

  it('lists every ensemble member with its own history, then the ensemble command', () => {
    const ensemble = {
      module: 'training.ensemble',
      args: { members: ['runs/final', 'runs/wide', 'runs/gone'], out: 'runs/ens', name: 'c', flip: true, dataset: 'data/c' },
      members: [{ run: 'runs/final' }, { run: 'runs/wide' }, { run: 'runs/gone' }],
    };
    expect(reproductionCommands(path.join(root, 'runs/ens'), ensemble, root)).toEqual([
      '# member 1 of 3 (from runs/final/training.json)',
      '# pre-training whose checkpoint --init-from loads (from runs/stage1/training.json)',
      'python3 -m training.train --dataset data/c --out runs/stage1 --seed 42',
      '# then',
      'python3 -m training.train --dataset data/c --out runs/final --seed 43 --init-from runs/stage1/checkpoint.pt',
      '# member 2 of 3 (from runs/wide/training.json)',
      'python3 -m training.train --dataset data/c --out runs/wide --width 30',
      '# member 3 of 3: runs/gone (its training.json is not available)',
      '# then the ensemble of the 3 members',
      'python3 -m training.ensemble --members runs/final runs/wide runs/gone --out runs/ens --name c --flip --dataset data/c',
    ]);
  });

  it('stops at a training.json that names its own folder as a member', () => {
    write('runs/loop', { module: 'training.ensemble', args: { members: ['runs/loop'] }, members: [{ run: 'runs/loop' }] });
    const lines = reproductionCommands(
      path.join(root, 'runs/loop'),
      { module: 'training.ensemble', args: { members: ['runs/loop'] }, members: [{ run: 'runs/loop' }] },
      root,
    );
    expect(lines.at(-1)).toBe('python3 -m training.ensemble --members runs/loop --out runs/loop');
    expect(lines).toContain('# member 1 of 1: runs/loop (listed above)');
  });

  it('lists a first stage that several members continue from once', () => {
    write('runs/other', { args: { dataset: 'data/c', out: 'runs/other', seed: 44, init_from: 'runs/stage1/checkpoint.pt' } });
    const ensemble = {
      module: 'training.ensemble',
      args: { members: ['runs/final', 'runs/other'], out: 'runs/ens' },
      members: [{ run: 'runs/final' }, { run: 'runs/other' }],
    };
    const lines = reproductionCommands(path.join(root, 'runs/ens'), ensemble, root);
    expect(lines.filter((line) => line.includes('--out runs/stage1 '))).toHaveLength(1);
    expect(lines.slice(5, 9)).toEqual([
      '# member 2 of 2 (from runs/other/training.json)',
      '# pre-training whose checkpoint --init-from loads: runs/stage1 (listed above)',
      '# then',
      'python3 -m training.train --dataset data/c --out runs/other --seed 44 --init-from runs/stage1/checkpoint.pt',
    ]);
  });
});
