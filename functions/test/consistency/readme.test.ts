/**
 * The documentation agrees with the code: the README is a front page whose commands exist, every
 * setting is in docs/configuration.md with its default, the Debian package lists are the one
 * .ci/run installs, every relative link resolves, and the license is the one package.json names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SETTINGS } from '../../src/serving/config';
import { PIPELINE_SETTINGS } from '../../../pipeline/src/pipeline-settings';
import { repoRoot } from '../../src/platform/repo-root';

const ROOT = repoRoot();
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');
const packageJson = JSON.parse(read('package.json')) as { license: string; scripts: Record<string, string> };
const DOCS = ['docs/api.md', 'docs/models.md', 'docs/configuration.md', 'docs/monitoring.md', 'docs/training.md', 'docs/benchmarks.md', 'docs/deployment.md'];
const PAGES = ['README.md', 'CONTRIBUTING.md', ...DOCS];

describe('README', () => {
  it('is a front page of about 150 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(160);
  });

  it('quick-starts with commands that exist', () => {
    const quickStart = /## Quick start\s+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(quickStart).toContain('npm ci && npm start');
    expect(quickStart).toContain('npm test');
    expect(packageJson.scripts.start).toBeDefined();
    expect(packageJson.scripts.test).toBe('bash scripts/test-all.sh');
  });

  it.each(DOCS)('leads to %s', (doc) => {
    expect(readme).toContain(`](${doc})`);
  });
});

describe('docs/configuration.md', () => {
  const configuration = read('docs/configuration.md');
  const documented = [...SETTINGS, ...PIPELINE_SETTINGS.filter((setting) => !SETTINGS.some((served) => served.env === setting.env))];
  it.each(documented.map((setting) => [setting.env, setting.default] as const))('documents %s with its default', (env, defaultValue) => {
    const row = configuration.split('\n').find((line) => line.startsWith(`| \`${env}\` |`));
    expect(row).toBeDefined();
    expect(row).toContain(defaultValue === '' ? '(empty)' : `\`${defaultValue}\``);
  });
});

describe('the documentation', () => {
  it.each(PAGES)('%s has no unfilled placeholders', (page) => {
    expect(read(page)).not.toMatch(/\b(ENV_TABLE|MODEL_TABLE|BENCH_TABLE|SMOKE_MINUTES|SMOKE_MEASURED|TODO|TBD)\b/);
  });

  it.each(PAGES)('%s links only to files that exist', (page) => {
    const links = [...read(page).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^(https?:|mailto:|#)/.test(target));
    const missing = links.filter((target) => !fs.existsSync(path.join(ROOT, path.dirname(page), target.split('#')[0]!)));
    expect(missing).toEqual([]);
  });

  it('names the Debian packages .ci/run installs, the same list everywhere', () => {
    const ci = /packages=\(([^)]*)\)/.exec(read('.ci/run'))?.[1]?.trim().split(/\s+/) ?? [];
    expect(ci).toEqual(expect.arrayContaining(['python3-torch', 'python3-pytest', 'chromium']));
    for (const page of ['CONTRIBUTING.md', 'docs/training.md', '.github/workflows/ci.yml']) {
      const lists = [...read(page).matchAll(/apt-get install -y --no-install-recommends ([^\n`]+)/g)].map((match) => match[1]!.trim().split(/\s+/));
      expect(lists.length).toBeGreaterThan(0);
      for (const list of lists) expect(list).toEqual(ci);
    }
  });

  it('runs the Python side with /usr/bin/python3 in the training guide', () => {
    const training = read('docs/training.md');
    expect(training.match(/(?<!\/usr\/bin\/)python3 -m/g)).toBeNull();
    expect(training).toContain('DATA_ARCHIVES');
  });

  it('ships the license package.json names', () => {
    expect(packageJson.license).toBe('Apache-2.0');
    expect(read('LICENSE')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });
});
