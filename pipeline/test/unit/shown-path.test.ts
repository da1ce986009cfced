import * as path from 'node:path';
import { shownPath } from '../../src/pipeline';

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
