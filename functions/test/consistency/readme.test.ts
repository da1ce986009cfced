import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, SETTINGS } from '../../src/config';

const readme = fs.readFileSync(path.join(repoRoot(), 'README.md'), 'utf8');
const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('README', () => {
  it.each(SETTINGS.map((setting) => [setting.env, setting.default] as const))('documents %s with its default', (env, defaultValue) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${env}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(defaultValue === '' ? '(empty)' : `\`${defaultValue}\``);
  });

  it('quick-starts with commands that exist', () => {
    const quickStart = /## Quick start\s+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(quickStart).toContain('npm ci && npm start');
    expect(quickStart).toContain('npm test');
    expect(packageJson.scripts.start).toBeDefined();
    expect(packageJson.scripts.test).toBe('bash scripts/test-all.sh');
  });

  it('has no unfilled placeholders', () => {
    expect(readme).not.toMatch(/\b(ENV_TABLE|MODEL_TABLE|BENCH_TABLE|TODO|TBD)\b/);
  });
});
