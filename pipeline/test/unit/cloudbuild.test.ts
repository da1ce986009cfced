/**
 * pipeline/cloudbuild.yaml's training step, run by bash with the substitutions filled in and `npm`
 * replaced by a recorder: the command line it builds is one `npm run pipeline` accepts, it names
 * no training flag but _EPOCHS (so dataset.json's recipe decides), and _RUNNER=vertex adds the
 * Vertex AI settings.
 */
import { loadPipelineSettings } from '../../src/pipeline-settings';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../../../functions/src/platform';
import { parseCommandLine } from '../../src/cli';

const build = parseYaml(readFileSync(path.join(repoRoot(), 'pipeline', 'cloudbuild.yaml'), 'utf8')) as { steps: Array<{ id: string; args: string[] }> };
const script = build.steps.find((step) => step.id === 'train-evaluate-publish')!.args[1]!;

function argvOf(substitutions: Record<string, string>): string[] {
  const values: Record<string, string> = {
    _DATASET_URI: 'gs://demo-data/datasets/shoes/v3',
    _MODEL_NAME: 'shoes',
    _MODEL_STORE: 'gs://demo-data/models',
    _ARTIFACT_REPO: 'detector-training',
    _REGION: 'europe-west1',
    PROJECT_ID: 'demo-project',
    BUILD_ID: 'b1',
    _EPOCHS: '',
    _RUNNER: 'local',
    _VERTEX_STAGE: '',
    _VERTEX_SA: '',
    ...substitutions,
  };
  const bash = script
    .replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole)
    .replace(/\$\$/g, '$')
    .replace('cd /app && npm run pipeline --', 'printf "%s\\n"');
  const result = spawnSync('bash', ['-c', bash], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').slice(0, -1);
}

const parse = (argv: string[]) => {
  const parsed = parseCommandLine(argv, {
    config: loadPipelineSettings({ GOOGLE_CLOUD_PROJECT: 'demo-project' }),
    repoRoot: '/app',
    now: new Date(),
    systemPython: true,
  });
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
};

describe('the training step of pipeline/cloudbuild.yaml', () => {
  it('leaves training to the recipe and the machine it runs on', () => {
    const argv = argvOf({});
    expect(argv).toEqual(['--dataset', 'gs://demo-data/datasets/shoes/v3', '--name', 'shoes', '--store', 'gs://demo-data/models', '--progress-interval', '60']);
    expect(parse(argv)).toMatchObject({ runner: 'local', recipe: null, trainer: { epochs: null } });
  });

  it('passes _EPOCHS over the recipe when it is set', () => {
    expect(parse(argvOf({ _EPOCHS: '3' })).trainer.epochs).toBe(3);
  });

  it('trains on Vertex AI with the CUDA image of this build when _RUNNER is vertex', () => {
    const options = parse(
      argvOf({ _RUNNER: 'vertex', _VERTEX_STAGE: 'gs://demo-data/vertex-staging', _VERTEX_SA: 'detector-vertex@demo-project.iam.gserviceaccount.com' }),
    );
    expect(options.runner).toBe('vertex');
    expect(options.vertex).toMatchObject({
      project: 'demo-project',
      region: 'europe-west1',
      staging: 'gs://demo-data/vertex-staging',
      image: 'europe-west1-docker.pkg.dev/demo-project/detector-training/training-cuda:b1',
      serviceAccount: 'detector-vertex@demo-project.iam.gserviceaccount.com',
      timeoutSeconds: 18000,
    });
  });
});
