/**
 * The run folder the trainer writes is read against the same JSON Schemas the trainer validates
 * it with (models/run-*.schema.json); a file that breaks its schema stops the run with the file,
 * the problem and the schema named.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRunDir } from '../../src/run-dir';
import { isValidationHash } from '../../src/shared-constants';
import { writeFakeRun } from '../support/fake-run';

const sha = (n: number) => n.toString(16).padStart(8, '0') + '0'.repeat(56);

async function fakeRun(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'run-'));
  const split = { train: [], val: [{ path: 'val/REAL/a.jpg', label: 0 as const, sha256: 'a'.repeat(64) }], test: [] };
  await writeFakeRun(dir, { datasetRoot: dir, split });
  return dir;
}

describe('readRunDir', () => {
  it('reads a run folder that fits the schemas', async () => {
    const run = await readRunDir(await fakeRun());
    expect(run.split.val).toHaveLength(1);
  });

  it.each([
    [
      'split.json',
      (value: Record<string, unknown>) => ({ ...value, val: [] }),
      /split\.json is invalid: .*\/val must NOT have fewer than 1 items.*models\/run-split\.schema\.json/,
    ],
    ['split.json', (value: Record<string, unknown>) => ({ ...value, extra: 1 }), /split\.json is invalid: .*must NOT have additional properties/],
    [
      'training.json',
      (value: Record<string, unknown>) => ({ ...value, params: 'many' }),
      /training\.json is invalid: \/params must be integer.*models\/run-training\.schema\.json/,
    ],
    [
      'parity/meta.json',
      (value: Record<string, unknown>) => ({ ...value, output_shape: [1] }),
      /parity\/meta\.json is invalid: .*models\/run-parity-meta\.schema\.json/,
    ],
    ['torch_eval.json', () => ({}), /torch_eval\.json is invalid: .*must have required property 'val'/],
  ])('refuses a %s that breaks its schema', async (file, change, message) => {
    const dir = await fakeRun();
    const target = path.join(dir, file);
    writeFileSync(target, JSON.stringify(change(JSON.parse(readFileSync(target, 'utf8')) as Record<string, unknown>)));
    await expect(readRunDir(dir)).rejects.toThrow(message);
  });

  it("predicts the trainer's split with the rule both read from models/shared-constants.json", () => {
    expect(isValidationHash(sha(999), 0.1)).toBe(true);
    expect(isValidationHash(sha(1000), 0.1)).toBe(false);
    expect(isValidationHash(sha(10999), 0.1)).toBe(true);
  });
});
