/**
 * Publishing into the model store, the layout serving reads:
 *
 *   <store>/<name>/<version>/{model.onnx, metadata.json, metrics.json, reference.json, README.md, report.json}
 *   <store>/<name>/production.json                {version, sha256, updated_at, previous_version, reason}
 *   <store>/<name>/candidates/<version>/…         a model that failed the gate, with report.json
 *
 * - A version id is `YYYYMMDDTHHMMSSZ-<first 8 hex digits of model.onnx's sha256>`.
 * - Version files are immutable: each is written with ifGenerationMatch '0' (create only). Writing
 *   the same bytes again (a retried run) is accepted; different bytes under an existing name are not.
 * - production.json is flipped last, with ifGenerationMatch set to the generation this run read
 *   before it evaluated the champion ('0' when there was none). If another run moved the pointer in
 *   between, the write fails on the store (Cloud Storage checks the generation; the local store
 *   holds a lock and renames atomically), so the pointer is never corrupted, and this run gets a
 *   PublishConflictError naming both versions.
 */
import { type BlobStore, isBlobNotFound, isPreconditionFailed, joinKey } from '../../functions/src/platform';
import { parseProductionPointer } from '../../functions/src/detector';
import { PublishConflictError } from './errors';

/** production.json: the version a model name serves (models/production.schema.json). */
type ProductionPointer = ReturnType<typeof parseProductionPointer>;

export const VERSION_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export const VERSION_FILES = ['model.onnx', 'metadata.json', 'reference.json', 'metrics.json', 'README.md', 'report.json'] as const;
export type VersionFileName = (typeof VERSION_FILES)[number];
export type VersionFiles = Record<VersionFileName, Buffer | string>;

const CONTENT_TYPES: Record<VersionFileName, string> = {
  'model.onnx': 'application/octet-stream',
  'metadata.json': 'application/json',
  'reference.json': 'application/json',
  'metrics.json': 'application/json',
  'README.md': 'text/markdown; charset=utf-8',
  'report.json': 'application/json',
};

export function makeVersionId(now: Date, sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`sha256 must be 64 lower-case hex digits; got ${JSON.stringify(sha256)}`);
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stamp}-${sha256.slice(0, 8)}`;
}

export function pointerKey(name: string): string {
  return joinKey(name, 'production.json');
}

export interface PointerState {
  /** The generation read, for the conditional write; null when there is no production.json. */
  generation: string | null;
  pointer: ProductionPointer | null;
}

/** Reads production.json with its generation; a missing pointer is `{ generation: null, pointer: null }`. */
export async function readProductionPointer(store: BlobStore, name: string): Promise<PointerState> {
  try {
    const { data, info } = await store.readWithInfo(pointerKey(name));
    return { generation: info.generation, pointer: parseProductionPointer(`${store.location}/${pointerKey(name)}`, data) };
  } catch (error) {
    if (isBlobNotFound(error)) return { generation: null, pointer: null };
    throw error;
  }
}

/** Writes every file under `prefix`, create-only; identical existing content counts as written. */
export async function writeImmutable(store: BlobStore, prefix: string, files: Partial<VersionFiles>): Promise<void> {
  for (const name of VERSION_FILES) {
    const content = files[name];
    if (content === undefined) continue;
    const key = joinKey(prefix, name);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    try {
      await store.write(key, bytes, { ifGenerationMatch: '0', contentType: CONTENT_TYPES[name] });
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      const existing = await store.read(key);
      if (!existing.equals(bytes)) {
        throw new PublishConflictError(
          `${store.location}/${key} already exists with different content; published versions are immutable, so this run cannot use version "${prefix}"`,
          prefix,
          null,
          { cause: error },
        );
      }
    }
  }
}

export interface PublishRequest {
  store: BlobStore;
  name: string;
  version: string;
  /** sha256 of model.onnx. */
  sha256: string;
  files: VersionFiles;
  /** The pointer as read before the champion was evaluated. */
  expected: PointerState;
  reason: string;
  now: Date;
}

export interface PublishResult {
  pointer: ProductionPointer;
  /** `<store>/<name>/<version>` */
  location: string;
}

export async function publishVersion(request: PublishRequest): Promise<PublishResult> {
  const { store, name, version } = request;
  if (!VERSION_PATTERN.test(version)) throw new TypeError(`version ${JSON.stringify(version)} is not a version id like 20261126T101500Z-0123abcd`);
  await writeImmutable(store, joinKey(name, version), request.files);
  const location = `${store.location}/${name}/${version}`;
  const already = request.expected.pointer;
  if (already !== null && already.version === version && already.sha256 === request.sha256) {
    // A retried run whose flip already happened: nothing left to do.
    return { pointer: already, location };
  }
  const pointer: ProductionPointer = {
    version,
    sha256: request.sha256,
    updated_at: request.now.toISOString(),
    previous_version: request.expected.pointer?.version ?? null,
    reason: request.reason,
  };
  const key = pointerKey(name);
  const text = `${JSON.stringify(pointer, null, 2)}\n`;
  parseProductionPointer(key, text);
  try {
    await store.write(key, text, { ifGenerationMatch: request.expected.generation ?? '0', contentType: 'application/json' });
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    const now = await readProductionPointer(store, name).catch(() => ({ generation: null, pointer: null }));
    const before = request.expected.pointer?.version ?? null;
    const current = now.pointer?.version ?? null;
    throw new PublishConflictError(
      `production.json of model "${name}" at ${store.location} changed while this run was evaluating: it named ` +
        `${before === null ? 'no version' : `version ${before}`} when read, and now names ${current === null ? 'no version' : `version ${current}`}. ` +
        `This run's version ${version} is stored under ${store.location}/${name}/${version}/ but is NOT in production; ` +
        `run the pipeline again with --from-run to compare it with ${current ?? 'the current state'}.`,
      version,
      current,
      { cause: error },
    );
  }
  return { pointer, location };
}

/** Keeps a rejected model under `<name>/candidates/<version>/` with its report; returns the location. */
export async function keepCandidate(store: BlobStore, name: string, version: string, files: VersionFiles): Promise<string> {
  const prefix = joinKey(name, 'candidates', version);
  await writeImmutable(store, prefix, files);
  return `${store.location}/${prefix}`;
}
