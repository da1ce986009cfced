/**
 * The service as `npm start` runs it, in a child process of its own: functions/src compiled to
 * `<root>/dist/functions/src` (SWC, a second or two instead of tsc's twenty), beside a package.json
 * whose `start` script is the repository's minus its `npm run build && ` step, and served by the
 * Functions Framework's own command line. Tests send it real signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { transformFileSync } from '@swc/core';
import { repoRoot } from '../../src/platform/repo-root';
import { tempDir } from './test-service';

const ROOT = repoRoot();
const BUILD_STEP = 'npm run build && ';

let built: string | null = null;

/** Compiles functions/src once per test file; returns the folder that plays the repository root. */
export function buildServedRoot(): string {
  if (built !== null) return built;
  const root = tempDir('served-');
  const source = path.join(ROOT, 'functions', 'src');
  const target = path.join(root, 'dist', 'functions', 'src');
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const out = path.join(target, path.relative(source, full)).replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(out), { recursive: true });
        const { code } = transformFileSync(full, {
          jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
          module: { type: 'commonjs' },
        });
        fs.writeFileSync(out, code);
      }
    }
  };
  walk(source);
  // The JSON schemas (imported from dist/models) and the bundled models (MODEL_STORE's default).
  fs.symlinkSync(path.join(ROOT, 'models'), path.join(root, 'dist', 'models'));
  fs.symlinkSync(path.join(ROOT, 'models'), path.join(root, 'models'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const start = manifest.scripts.start ?? '';
  if (!start.startsWith(BUILD_STEP)) throw new Error(`package.json's start script no longer begins with "${BUILD_STEP}": update served-process.ts (${start})`);
  manifest.scripts = { start: start.slice(BUILD_STEP.length) };
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify(manifest, null, 2));
  built = root;
  return root;
}

export interface ServedProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts the service: `via: 'npm'` runs `npm start` (npm, then the script's shell, then node) as the
 * leader of a new process group; `via: 'node'` runs the framework's command line with node directly.
 * Resolves once GET /health answers.
 */
export async function startServedProcess(env: Record<string, string>, via: 'npm' | 'node'): Promise<ServedProcess> {
  const root = buildServedRoot();
  const port = await freePort();
  const childEnv = { ...process.env, NODE_ENV: 'production', PORT: String(port), ...env };
  const child =
    via === 'npm'
      ? spawn('npm', ['start', '--silent'], { cwd: root, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(
          process.execPath,
          [
            path.join(root, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js'),
            '--source=dist/functions/src/index.js',
            '--target=app',
          ],
          { cwd: root, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
        );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited before answering:\n${output}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the service did not answer /health within 60 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url, output: () => output, exited };
}

/** The node process serving requests: the child itself, or (under npm) the descendant running main.js. */
export function servingPid(served: ServedProcess): number {
  const leader = served.child.pid as number;
  const children = (pid: number): number[] => {
    try {
      return fs
        .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((item) => item !== '')
        .map(Number);
    } catch {
      return [];
    }
  };
  const queue = [leader];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    const command = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
    if (command.includes('functions-framework') && command.includes('--target=app') && /node/.test(command.split('\0')[0] ?? '')) return pid;
    queue.push(...children(pid));
  }
  throw new Error('no node process serving the function was found');
}
