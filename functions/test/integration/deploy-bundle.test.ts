/**
 * The deploy bundle is what Cloud Functions builds and runs, so it is tested the way Cloud Build
 * uses it: scripts/ops/build-bundle.sh writes it to a temp folder, a copy gets `npm ci --omit=dev` from
 * the bundle's own lockfile (no devDependencies, nothing from the repository's node_modules), and a
 * child process started in that copy loads package.json's main, finds every deployed function
 * registered, and serves /health and /predict with the real onnxruntime and sharp it installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEPLOYED_FUNCTIONS } from '../../src/serving/app';
import { repoRoot } from '../../src/platform/repo-root';
import { FIXTURE_IMAGES, FIXTURE_MODELS } from '../support/test-service';

const ROOT = repoRoot();
const MINUTES = 60_000;

/** Every file a bundle may hold; anything else (tests, sources, maps, models, data) fails the test. */
const ALLOWED_FILES = [
  /^dist\/functions\/src\/[a-z0-9/-]+\.js$/,
  /^dist\/models\/([a-z]+\.schema|shared-constants)\.json$/,
  /^package\.json$/,
  /^package-lock\.json$/,
  /^\.npmrc$/,
  /^\.gcloudignore$/,
];

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${String(result.status)}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), relative) : [relative];
  });
}

/** Runs inside the installed bundle: everything it requires resolves from the bundle's node_modules. */
const PROBE = `
const testing = require('@google-cloud/functions-framework/testing');
require('./');
const [names, image, apiKey] = [JSON.parse(process.argv[2]), process.argv[3], process.argv[4]];

async function call(name, init) {
  const server = testing.getTestServer(name);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch('http://127.0.0.1:' + server.address().port + '/', init);
    return { status: response.status, body: await response.json() };
  } finally {
    server.close();
  }
}

(async () => {
  const registered = names.filter((name) => testing.getFunction(name) !== undefined);
  const health = await call('health');
  const predict = await call('predict', {
    method: 'POST',
    headers: { 'Content-Type': 'image/jpeg', 'X-API-Key': apiKey },
    body: require('node:fs').readFileSync(image),
  });
  const framework = require.resolve('@google-cloud/functions-framework');
  process.stdout.write(JSON.stringify({ registered, health, predict, framework }));
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

describe('deploy bundle (scripts/ops/build-bundle.sh)', () => {
  let work: string;
  let bundle: string;
  let files: string[];

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-bundle-'));
    bundle = path.join(work, 'bundle');
    run('bash', [path.join(ROOT, 'scripts', 'ops', 'build-bundle.sh'), bundle], { cwd: ROOT });
    files = listFiles(bundle).sort();
  }, 5 * MINUTES);

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('holds only compiled code, its JSON schemas and shared constants, the manifest, the lockfile, .npmrc and .gcloudignore', () => {
    const unexpected = files.filter((file) => !ALLOWED_FILES.some((pattern) => pattern.test(file)));
    expect(unexpected).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/functions/src/index.js', 'package.json', 'package-lock.json', '.gcloudignore']));
  });

  it('has a manifest that installs the runtime dependencies and does not compile again', () => {
    const source = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(bundle, 'package.json'), 'utf8'));
    expect(manifest.main).toBe(source.main);
    expect(manifest.dependencies).toEqual(source.dependencies);
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.scripts).toEqual({ 'gcp-build': '' });
    expect(fs.readFileSync(path.join(bundle, 'package-lock.json'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    expect(fs.readFileSync(path.join(bundle, '.gcloudignore'), 'utf8')).toBe(fs.readFileSync(path.join(ROOT, '.gcloudignore'), 'utf8'));
  });

  it(
    'installs with npm ci --omit=dev and serves every deployed function from a clean folder',
    () => {
      const install = path.join(work, 'install');
      fs.cpSync(bundle, install, { recursive: true });
      const npmEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' };
      run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: install, env: npmEnv });
      expect(fs.existsSync(path.join(install, 'node_modules', 'typescript'))).toBe(false);

      const models = path.join(work, 'models');
      fs.cpSync(FIXTURE_MODELS, models, { recursive: true });
      fs.writeFileSync(path.join(install, 'probe.js'), PROBE);
      const apiKey = 'bundle-test-key-0123456789';
      const output = run('node', ['probe.js', JSON.stringify(DEPLOYED_FUNCTIONS), path.join(FIXTURE_IMAGES, 'photo.jpg'), apiKey], {
        cwd: install,
        env: {
          PATH: process.env.PATH,
          HOME: work,
          METADATA_SERVER_DETECTION: 'none',
          MODEL_STORE: models,
          DEFAULT_MODEL: 'brightness',
          TELEMETRY_STORE: path.join(work, 'telemetry'),
          METRICS_SINK: 'none',
          API_KEYS: apiKey,
          LOG_LEVEL: 'error',
        },
      });
      const probe = JSON.parse(output);

      expect(probe.registered).toEqual([...DEPLOYED_FUNCTIONS]);
      expect(probe.framework.startsWith(path.join(install, 'node_modules'))).toBe(true);
      expect(probe.health.status).toBe(200);
      expect(probe.health.body).toMatchObject({ status: 'ok', default_model: 'brightness' });
      expect(probe.predict.status).toBe(200);
      expect(probe.predict.body).toMatchObject({
        prediction: expect.stringMatching(/^(ai_generated|real)$/),
        model: { name: 'brightness', version: 'v1' },
      });
    },
    5 * MINUTES,
  );

  it(
    'writes buffered telemetry when the instance gets SIGTERM, under the real framework CLI',
    async () => {
      const install = path.join(work, 'install');
      expect(fs.existsSync(path.join(install, 'node_modules'))).toBe(true);
      const telemetry = path.join(work, 'telemetry-sigterm');
      const port = 20000 + Math.floor(Math.random() * 20000);
      const child = spawn(
        process.execPath,
        [path.join(install, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js'), '--target=predict', `--port=${port}`],
        {
          cwd: install,
          env: {
            PATH: process.env.PATH,
            HOME: work,
            METADATA_SERVER_DETECTION: 'none',
            MODEL_STORE: path.join(work, 'models'),
            DEFAULT_MODEL: 'brightness',
            TELEMETRY_STORE: telemetry,
            // Far from any flush threshold: only SIGTERM can write these records.
            TELEMETRY_FLUSH_RECORDS: '1000',
            TELEMETRY_FLUSH_SECONDS: '3600',
            METRICS_SINK: 'none',
            LOG_LEVEL: 'error',
          },
          stdio: 'ignore',
        },
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const image = fs.readFileSync(path.join(FIXTURE_IMAGES, 'photo.jpg'));
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 200 && statuses.length === 0; attempt += 1) {
          try {
            const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: image, headers: { 'Content-Type': 'image/jpeg' } });
            statuses.push(response.status);
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        for (let i = 0; i < 2; i += 1) {
          const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: image, headers: { 'Content-Type': 'image/jpeg' } });
          statuses.push(response.status);
        }
        expect(statuses).toEqual([200, 200, 200]);
        expect(fs.existsSync(telemetry)).toBe(false);
      } finally {
        child.kill('SIGTERM');
      }
      await exited;
      const written = listFiles(telemetry).filter((file) => file.endsWith('.ndjson'));
      expect(written).toHaveLength(1);
      const lines = fs.readFileSync(path.join(telemetry, written[0]!), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(JSON.parse(lines[0]!)).toMatchObject({ model: 'brightness', model_version: 'v1' });
    },
    2 * MINUTES,
  );

  it(
    'stops at start with every invalid setting named, before the framework can call it a syntax error',
    () => {
      const install = path.join(work, 'install');
      const result = spawnSync(
        process.execPath,
        [path.join(install, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js'), '--target=predict', '--port=0'],
        {
          cwd: install,
          encoding: 'utf8',
          timeout: MINUTES,
          env: {
            PATH: process.env.PATH,
            HOME: work,
            METADATA_SERVER_DETECTION: 'none',
            MODEL_STORE: 's3://elsewhere/models',
            TELEMETRY_STORE: 'gs://Not_A_Bucket/t',
            TELEMETRY_FLUSH_RECORDS: '5000',
            TELEMETRY_BUFFER_CAPACITY: '100',
            METRICS_SINK: 'none',
          },
        },
      );
      expect(result.status).toBe(78);
      const output = `${result.stdout}\n${result.stderr}`;
      expect(output).not.toMatch(/syntax error/i);
      for (const name of ['MODEL_STORE', 'TELEMETRY_STORE', 'TELEMETRY_FLUSH_RECORDS']) expect(output).toContain(name);
    },
    2 * MINUTES,
  );
});
