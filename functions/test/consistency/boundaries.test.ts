/**
 * The parts of the repository talk through stated surfaces: the pipeline and the scripts import
 * `functions/src/core.ts` only (never a module behind it, never the serving composition root), and
 * each third-party SDK is imported by one file of `functions/src`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../src/config';

const ROOT = repoRoot();

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sources(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

const importsOf = (file: string) => [...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/from '([^']+)'/g)].map((match) => match[1]!);

describe('boundaries', () => {
  it.each([...sources('pipeline/src'), ...sources('scripts')])('%s reaches functions/src only through core.ts', (file) => {
    const reached = importsOf(file)
      .filter((target) => target.startsWith('.'))
      .map((target) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), target)))
      .filter((target) => target.startsWith(`functions${path.sep}src`));
    expect(reached.filter((target) => target !== path.join('functions', 'src', 'core'))).toEqual([]);
  });

  it.each([
    ['onnxruntime-node', 'functions/src/model/onnx-session.ts'],
    ['@google-cloud/storage', 'functions/src/storage/gcs-blob-store.ts'],
    ['@google-cloud/monitoring', 'functions/src/metrics/cloud-monitoring-metric-sink.ts'],
    ['@google-cloud/bigquery', 'functions/src/drift/bigquery-drift-reader.ts'],
    ['busboy', 'functions/src/http/image-inputs.ts'],
    ['@contentauth/c2pa-wasm', 'functions/src/evidence/c2pa-wasm-reader.ts'],
    ['fast-xml-parser', 'functions/src/evidence/xmp-fields.ts'],
  ])('%s is imported by %s alone', (sdk, owner) => {
    const importers = sources('functions/src').filter((file) => importsOf(file).includes(sdk));
    expect(importers).toEqual([owner]);
  });

  it.each([['@google-cloud/aiplatform', 'pipeline/src/vertex/aiplatform-custom-job-service.ts']])('%s is imported by %s alone, in any part', (sdk, owner) => {
    const importers = [...sources('functions/src'), ...sources('pipeline/src'), ...sources('scripts')].filter((file) => importsOf(file).includes(sdk));
    expect(importers).toEqual([owner]);
  });
});
