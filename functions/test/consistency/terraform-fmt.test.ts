import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../src/platform/repo-root';

const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' });
const available = terraform.status === 0;

describe('terraform/', () => {
  // CI on GitHub runs `terraform fmt -check` and `validate` too; here it needs the terraform CLI.
  (available ? it : it.skip)('is formatted as `terraform fmt` writes it', () => {
    const result = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', path.join(repoRoot(), 'terraform')], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
