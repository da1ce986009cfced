/**
 * The GitHub Actions workflows only run on GitHub, so a broken one is found late. These checks run
 * with the other unit tests: every workflow parses, has its jobs, pins each action by commit SHA,
 * and calls only npm scripts and repository files that exist; deploy and train use Workload
 * Identity and the repository variables Terraform outputs; system tests run after a deploy and
 * never in CI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { parseDocument } from 'yaml';
import { repoRoot } from '../../src/platform/repo-root';

const ROOT = repoRoot();
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

function load(name: string): Yaml {
  const document = parseDocument(fs.readFileSync(path.join(WORKFLOWS, name), 'utf8'));
  if (document.errors.length > 0) throw new Error(`${name}: ${document.errors.map((error) => error.message).join('; ')}`);
  return document.toJS() as Yaml;
}

const steps = (workflow: Yaml): Step[] => Object.values(workflow.jobs as Record<string, { steps: Step[] }>).flatMap((job) => job.steps);
const scripts = (workflow: Yaml): string =>
  steps(workflow)
    .map((step) => step.run ?? '')
    .join('\n');

const FILES = fs
  .readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .sort();
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('.github/workflows', () => {
  it('has the CI, deploy and train workflows with their jobs', () => {
    expect(FILES).toEqual(['ci.yml', 'deploy.yml', 'train.yml']);
    expect(Object.keys(load('ci.yml').jobs).sort()).toEqual(['cloud-runtime', 'terraform', 'test']);
    expect(Object.keys(load('deploy.yml').jobs)).toEqual(['deploy']);
    expect(Object.keys(load('train.yml').jobs)).toEqual(['train']);
  });

  describe.each(FILES)('%s', (file) => {
    const workflow = load(file);

    it('pins every action to a full commit SHA', () => {
      const actions = steps(workflow).flatMap((step) => (step.uses === undefined ? [] : [step.uses]));
      expect(actions.length).toBeGreaterThan(0);
      expect(actions.filter((uses) => !/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/.test(uses))).toEqual([]);
    });

    it('calls only npm scripts that package.json defines', () => {
      const called = [...scripts(workflow).matchAll(/\bnpm run ([\w:-]+)/g)].map((match) => match[1]!);
      expect(called.filter((name) => !(name in PACKAGE.scripts))).toEqual([]);
      const npx = [...scripts(workflow).matchAll(/\bnpx ([\w@/-]+)/g)].map((match) => match[1]!);
      expect(npx.filter((name) => !(name in PACKAGE.devDependencies))).toEqual([]);
    });

    it('calls only repository files that exist', () => {
      const referenced = [...scripts(workflow).matchAll(/(?:^|[\s"'=])((?:scripts|terraform|functions|pipeline|training)\/[\w./-]*\w)/g)].map(
        (match) => match[1]!,
      );
      expect(referenced.filter((file) => !fs.existsSync(path.join(ROOT, file)))).toEqual([]);
      const chdir = [...scripts(workflow).matchAll(/-chdir=(\S+)/g)].map((match) => match[1]!);
      expect(chdir.filter((dir) => !fs.existsSync(path.join(ROOT, dir)))).toEqual([]);
    });

    it('runs every step in bash, with -e and pipefail', () => {
      expect(workflow.defaults?.run?.shell).toBe('bash');
    });
  });

  describe('ci.yml', () => {
    const ci = load('ci.yml');

    it('installs without the onnxruntime CUDA download, then runs the whole test command', () => {
      expect(ci.env.ONNXRUNTIME_NODE_INSTALL).toBe('skip');
      const test = (ci.jobs.test.steps as Step[]).map((step) => step.run ?? '');
      expect(test).toEqual(expect.arrayContaining(['npm ci', 'npm test']));
      // npm test is the format check, lint, typecheck, jest and the Python tests, summed on one line.
      expect(PACKAGE.scripts.test).toBe('bash scripts/test-all.sh');
      const testAll = fs.readFileSync(path.join(repoRoot(), 'scripts/test-all.sh'), 'utf8');
      for (const part of ['prettier --check', 'eslint .', 'tsc -p tsconfig.json --noEmit', 'npx jest', 'scripts/test-python.sh'])
        expect(testAll).toContain(part);
      expect(testAll).toMatch(/echo "\$\{passed\} passed, \$\{failed\} failed"\nexit/);
    });

    it('checks terraform fmt and validate', () => {
      const terraform = scripts({ jobs: { terraform: ci.jobs.terraform } });
      expect(terraform).toMatch(/terraform fmt -check -recursive/);
      expect(terraform).toMatch(/init -backend=false/);
      expect(terraform).toMatch(/terraform -chdir=terraform validate/);
    });

    it('never runs the system tests, which need a deployment', () => {
      expect(scripts(ci)).not.toMatch(/test:system|functions\/test\/system/);
      expect(fs.readFileSync(path.join(ROOT, 'jest.config.js'), 'utf8')).toMatch(/testPathIgnorePatterns: \[[^\]]*'\/functions\/test\/system\/'/);
    });
  });

  describe('deploy.yml and train.yml', () => {
    const ci = load('ci.yml');
    const deploy = load('deploy.yml');
    const train = load('train.yml');

    it('deploys only after CI succeeds on main, the commit CI tested', () => {
      expect(deploy.on.workflow_run).toEqual({ workflows: [ci.name], types: ['completed'], branches: ['main'] });
      expect(deploy.jobs.deploy.if).toContain("github.event.workflow_run.conclusion == 'success'");
      const checkout = (deploy.jobs.deploy.steps as Step[]).find((step) => step.uses?.startsWith('actions/checkout@'));
      expect(checkout?.with?.ref).toContain('github.event.workflow_run.head_sha');
      expect(deploy.env.ONNXRUNTIME_NODE_INSTALL).toBe('skip');
    });

    it('deploys with scripts/ops/deploy.sh, then runs the system tests against the deployed URL', () => {
      const run = (deploy.jobs.deploy.steps as Step[]).map((step) => step.run ?? '');
      const deployIndex = run.findIndex((script) => script.includes('bash scripts/ops/deploy.sh'));
      const systemIndex = run.findIndex((script) => script.includes('npm run test:system'));
      expect(deployIndex).toBeGreaterThanOrEqual(0);
      expect(systemIndex).toBeGreaterThan(deployIndex);
      const systemStep = (deploy.jobs.deploy.steps as Step[])[systemIndex]!;
      expect(systemStep.env).toMatchObject({ BASE_URL: expect.stringContaining('steps.deployment.outputs.base_url'), ID_TOKEN: expect.any(String) });
    });

    it.each([
      ['deploy.yml', deploy],
      ['train.yml', train],
    ])('%s authenticates through Workload Identity Federation, with no key', (_, workflow) => {
      expect(workflow.permissions).toMatchObject({ 'id-token': 'write', contents: 'read' });
      const auth = steps(workflow).filter((step) => step.uses?.startsWith('google-github-actions/auth@'));
      expect(auth.length).toBeGreaterThan(0);
      for (const step of auth) {
        expect(step.with).toMatchObject({
          workload_identity_provider: '${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}',
          service_account: '${{ vars.GCP_DEPLOYER_SERVICE_ACCOUNT }}',
        });
        expect(step.with).not.toHaveProperty('credentials_json');
      }
    });

    it('reads only the repository variables that `terraform output github_actions_variables` lists', async () => {
      const outputs = await parseHcl('outputs.tf', fs.readFileSync(path.join(ROOT, 'terraform', 'outputs.tf'), 'utf8'));
      const listed = Object.keys(outputs.output.github_actions_variables[0].value);
      const text = FILES.map((file) => fs.readFileSync(path.join(WORKFLOWS, file), 'utf8')).join('\n');
      const used = [...new Set([...text.matchAll(/\bvars\.(\w+)/g)].map((match) => match[1]!))];
      expect(used.filter((name) => !listed.includes(name))).toEqual([]);
    });

    it("train.yml checks the dataset with the training trigger's own object pattern", () => {
      const trigger = /_OBJECT_ID\.matches\('([^']+)'\)/.exec(fs.readFileSync(path.join(ROOT, 'terraform', 'build.tf'), 'utf8'))![1];
      const workflowPattern = /object_pattern='([^']+)'/.exec(scripts(train))![1];
      expect(workflowPattern).toBe(trigger);
      expect(train.on.workflow_dispatch.inputs.dataset_uri).toMatchObject({ required: true, type: 'string' });
      // The input reaches the script through env, never pasted into it.
      expect(scripts(train)).not.toContain('${{ inputs.');
    });
  });
});
