/**
 * The house has three parts over one platform, and each depends only downwards:
 *
 *   serving (http, handlers, web page, API answers, metric sinks, shutdown)
 *     → monitoring (telemetry, features, drift)
 *       → detector (images, models, scoring, evidence)
 *         → platform (errors, logging, settings, storage)
 *
 * The training pipeline reaches `functions/src` only through the index files of the detector,
 * monitoring and the platform (never serving); the scripts through those and serving's index.
 * Each third-party SDK is imported by one file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../src/platform/repo-root';

const ROOT = repoRoot();
const SRC = path.join('functions', 'src');
const LAYERS = ['platform', 'detector', 'monitoring', 'serving'] as const;
type Layer = (typeof LAYERS)[number];

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sources(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

const importsOf = (file: string) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/from '([^']+)'/g)].map((match) => match[1]!);

/** The repository-relative files (without extension) that `file` imports by a relative path. */
const reachedFrom = (file: string) =>
  importsOf(file)
    .filter((target) => target.startsWith('.'))
    .map((target) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), target)))
    .map((target) => (fs.existsSync(path.join(ROOT, target, 'index.ts')) ? path.join(target, 'index') : target));

/** The layer of a file under functions/src, or null for the entry point (functions/src/index.ts). */
function layerOf(file: string): Layer | null {
  const part = path.relative(SRC, file).split(path.sep)[0];
  return (LAYERS as readonly string[]).includes(part ?? '') ? (part as Layer) : null;
}

const indexOf = (layer: Layer) => path.join(SRC, layer, 'index');

describe('boundaries', () => {
  it('every file of functions/src belongs to a layer, but the entry point', () => {
    expect(sources(SRC).filter((file) => layerOf(file) === null)).toEqual([path.join(SRC, 'index.ts')]);
  });

  it.each(sources(SRC).filter((file) => layerOf(file) !== null))('%s imports only its own layer and those below it', (file) => {
    const rank = LAYERS.indexOf(layerOf(file)!);
    const upward = reachedFrom(file)
      .filter((target) => target.startsWith(SRC + path.sep))
      .filter((target) => LAYERS.indexOf(layerOf(target) ?? 'serving') > rank);
    expect(upward).toEqual([]);
  });

  it.each(sources('pipeline/src'))('%s reaches functions/src only through the detector, monitoring and platform indexes', (file) => {
    const allowed = (['detector', 'monitoring', 'platform'] as const).map(indexOf);
    const reached = reachedFrom(file).filter((target) => target.startsWith(SRC + path.sep));
    expect(reached.filter((target) => !allowed.includes(target))).toEqual([]);
  });

  it.each(sources('scripts'))('%s reaches functions/src only through index files', (file) => {
    const allowed = LAYERS.map(indexOf);
    const reached = reachedFrom(file).filter((target) => target.startsWith(SRC + path.sep));
    expect(reached.filter((target) => !allowed.includes(target))).toEqual([]);
  });

  it('the detector states a small surface: at most twenty names', () => {
    const index = fs.readFileSync(path.join(ROOT, SRC, 'detector', 'index.ts'), 'utf8');
    const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((match) =>
      match[1]!
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0),
    );
    expect(names.length).toBeGreaterThan(0);
    expect(names.length).toBeLessThanOrEqual(20);
    expect(index).not.toMatch(/export \*/);
  });

  it.each([
    ['onnxruntime-node', 'functions/src/detector/model/onnx-session.ts'],
    ['@google-cloud/storage', 'functions/src/platform/storage/gcs-blob-store.ts'],
    ['@google-cloud/monitoring', 'functions/src/serving/metrics/cloud-monitoring-metric-sink.ts'],
    ['@google-cloud/bigquery', 'functions/src/monitoring/drift/bigquery-drift-reader.ts'],
    ['busboy', 'functions/src/serving/http/image-inputs.ts'],
    ['@contentauth/c2pa-wasm', 'functions/src/detector/evidence/c2pa-wasm-reader.ts'],
    ['fast-xml-parser', 'functions/src/detector/evidence/xmp-fields.ts'],
  ])('%s is imported by %s alone', (sdk, owner) => {
    const importers = sources('functions/src').filter((file) => importsOf(file).includes(sdk));
    expect(importers).toEqual([owner]);
  });

  it.each([
    ['application.handle', 'the Express application the framework made'],
    ['createServer =', "the framework's http.createServer call"],
    ['.listeners(', "the process's signal listeners"],
  ])('only serving/http/framework-hooks.ts reaches into %s (%s)', (needle) => {
    const users = [...sources('functions/src'), ...sources('pipeline/src'), ...sources('scripts')].filter((file) =>
      fs.readFileSync(path.join(ROOT, file), 'utf8').includes(needle),
    );
    expect(users).toEqual([path.join(SRC, 'serving', 'http', 'framework-hooks.ts')]);
  });

  it.each([['@google-cloud/aiplatform', 'pipeline/src/vertex/aiplatform-custom-job-service.ts']])('%s is imported by %s alone, in any part', (sdk, owner) => {
    const importers = [...sources('functions/src'), ...sources('pipeline/src'), ...sources('scripts')].filter((file) => importsOf(file).includes(sdk));
    expect(importers).toEqual([owner]);
  });
});
