/**
 * Copies the production versions of the bundled models (models/ of this repository) into a model
 * store: how a new deployment gets its first models before any training has run.
 *
 *   npm run build && node dist/scripts/ops/publish-models.js --to gs://<bucket>/models
 *
 * For each model, every file of its production version is written create-only (versions are
 * immutable: a file that exists with other content stops the copy), model.onnx is checked against
 * production.json's sha256 first, and production.json is written last, so that the functions never
 * see a pointer to a version that is not all there. A store whose production.json already names a
 * version is left alone unless --replace is given. STORAGE_API_ENDPOINT applies as in the functions.
 *
 * The C2PA trust material (models/trust/, docs/provenance.md) goes to <store>/trust, the service's
 * default C2PA_TRUST_STORE: its files, then trust.json last, unless the store already holds the same
 * trust.json (a newer version in the repository replaces an older one in the store).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type BlobStore, FileBlobStore, isBlobNotFound, isPreconditionFailed, openBlobStore, repoRoot, storeOptionsFrom } from '../../functions/src/platform';
import { loadConfig } from '../../functions/src/serving';
import { loadTrustMaterial, parseProductionPointer } from '../../functions/src/detector';

export const HELP = `Usage: node dist/scripts/ops/publish-models.js --to <gs://bucket/models | dir> [options]

Copies the production version of each bundled model (from models/) into a model store,
production.json last, and the C2PA trust material (models/trust/) to <store>/trust, trust.json last.

  --to <gs://…|dir>     the model store (MODEL_STORE of the deployment)
  --from <dir>          the bundled registry (default: <repo>/models)
  --models <list>       comma-separated model names (default: every model in --from)
  --replace             also flip production.json where the store already has one
  -h, --help            this text

Exit status: 0 published (or already there), 2 usage, 1 anything else.
`;

export interface PublishedModel {
  name: string;
  version: string;
  outcome: 'published' | 'already_published' | 'kept_existing';
}

export async function publishBundledModels(from: string, to: BlobStore, names: readonly string[], replace: boolean): Promise<PublishedModel[]> {
  const results: PublishedModel[] = [];
  for (const name of names) {
    const pointerFile = path.join(from, name, 'production.json');
    const pointerBytes = fs.readFileSync(pointerFile);
    const pointer = parseProductionPointer(`${name}/production.json`, pointerBytes);
    const folder = path.join(from, name, pointer.version);
    const sha256 = createHash('sha256')
      .update(fs.readFileSync(path.join(folder, 'model.onnx')))
      .digest('hex');
    if (sha256 !== pointer.sha256) throw new Error(`${folder}/model.onnx has sha256 ${sha256}; ${pointerFile} says ${pointer.sha256}`);

    let existing: { data: Buffer; info: { generation: string } } | null = null;
    try {
      existing = await to.readWithInfo(`${name}/production.json`);
    } catch (error) {
      if (!isBlobNotFound(error)) throw error;
    }
    if (existing !== null) {
      const current = parseProductionPointer(`${name}/production.json`, existing.data);
      if (current.version === pointer.version && current.sha256 === pointer.sha256) {
        results.push({ name, version: pointer.version, outcome: 'already_published' });
        continue;
      }
      if (!replace) {
        results.push({ name, version: current.version, outcome: 'kept_existing' });
        continue;
      }
    }
    for (const file of fs.readdirSync(folder).sort()) {
      const bytes = fs.readFileSync(path.join(folder, file));
      const key = `${name}/${pointer.version}/${file}`;
      try {
        await to.write(key, bytes, { ifGenerationMatch: '0' });
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
        // Already there (an earlier, interrupted copy): fine when it holds the same bytes.
        if (!(await to.read(key)).equals(bytes)) throw new Error(`${to.location}/${key} exists with other content; versions are immutable`);
      }
    }
    await to.write(`${name}/production.json`, pointerBytes, { ifGenerationMatch: existing?.info.generation ?? '0', contentType: 'application/json' });
    results.push({ name, version: pointer.version, outcome: 'published' });
  }
  return results;
}

/** Copies <from>/trust (the files trust.json names, and trust.json last) to <store>/trust unless the store's trust.json is the same. */
/** The trust material's index file, as the service reads it. */
const TRUST_INDEX = 'trust.json';

export async function publishTrustMaterial(from: string, to: BlobStore): Promise<{ version: string; outcome: 'published' | 'already_published' } | null> {
  const folder = path.join(from, 'trust');
  const indexFile = path.join(folder, TRUST_INDEX);
  if (!fs.existsSync(indexFile)) return null;
  const indexBytes = fs.readFileSync(indexFile);
  // The same reading the service does (detector/evidence/trust-material.ts): every file trust.json names, checked.
  const index = await loadTrustMaterial(new FileBlobStore(folder));
  try {
    if ((await to.read(`trust/${TRUST_INDEX}`)).equals(indexBytes)) return { version: index.version, outcome: 'already_published' };
  } catch (error) {
    if (!isBlobNotFound(error)) throw error;
  }
  // Every file of the folder (licences and README too, so the copy keeps its attribution), trust.json last.
  for (const file of fs.readdirSync(folder).sort()) {
    if (file !== TRUST_INDEX) await to.write(`trust/${file}`, fs.readFileSync(path.join(folder, file)));
  }
  await to.write(`trust/${TRUST_INDEX}`, indexBytes, { contentType: 'application/json' });
  return { version: index.version, outcome: 'published' };
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        to: { type: 'string' },
        from: { type: 'string' },
        models: { type: 'string' },
        replace: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`publish-models: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.to === undefined) {
    process.stderr.write(`publish-models: --to is required\n\n${HELP}`);
    return 2;
  }
  const from = values.from ?? path.join(repoRoot(), 'models');
  const names =
    values.models
      ?.split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '') ??
    fs
      .readdirSync(from)
      .filter((entry) => fs.existsSync(path.join(from, entry, 'production.json')))
      .sort();
  const config = loadConfig(process.env);
  const store = openBlobStore(values.to, storeOptionsFrom(config));
  for (const result of await publishBundledModels(from, store, names, values.replace === true)) {
    const said = {
      published: 'published',
      already_published: 'already published',
      kept_existing: 'kept: the store already serves this version (--replace to flip it)',
    }[result.outcome];
    process.stdout.write(`${result.name} ${result.version}: ${said}\n`);
  }
  const trust = await publishTrustMaterial(from, store);
  if (trust !== null) process.stdout.write(`trust ${trust.version}: ${trust.outcome === 'published' ? 'published' : 'already published'}\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`publish-models: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
