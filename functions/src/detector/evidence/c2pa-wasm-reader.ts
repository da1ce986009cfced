/**
 * The ManifestReader on @contentauth/c2pa-wasm (the only file that imports it): the Content
 * Authenticity Initiative's c2pa-rs compiled to WebAssembly, so one platform-independent 8 MB file
 * with no install script and no native binary (see docs/api.md, "Metadata evidence").
 *
 * The module is loaded and compiled on the first manifest, memoized as a promise that is dropped on
 * rejection so that a failed load is retried. Settings turn off every network fetch (remote
 * manifests, OCSP): validation uses only the bytes given and the trust material
 * (evidence/trust-material.ts), loaded with the module and passed to every read as its settings.
 * An intact manifest is `valid` only when its signer chains to that material; without it (none
 * configured, or it failed to load: code `trust.unavailable`) it is `untrusted`.
 */
import * as fs from 'node:fs';
import type * as C2paWasmModule from '@contentauth/c2pa-wasm';
import type { ImageFormat } from '../image/image-decoder';
import {
  classifyOrigin,
  MAX_ACTIONS,
  MAX_MANIFESTS,
  type ManifestAction,
  type ManifestReader,
  type ManifestReport,
  type ManifestSummary,
  type SignerSummary,
  sourceTypeCode,
  unreadReport,
} from './manifest-reader';
import type { TrustMaterial } from './trust-material';

type C2paWasm = typeof C2paWasmModule;

const MIME_TYPES: Readonly<Record<ImageFormat, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };
const MAX_CODES = 20;

/**
 * The reader asks for a Blob's bytes through the worker-only FileReaderSync; in Node the bytes are
 * already in memory, so a Blob-shaped view over them and a FileReaderSync that returns them serve.
 */
export class BytesBlob {
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  slice(start?: number, end?: number): BytesBlob {
    return new BytesBlob(this.bytes.subarray(start, end));
  }
}

class BytesFileReaderSync {
  readAsArrayBuffer(blob: BytesBlob): ArrayBuffer {
    const { buffer, byteOffset, byteLength } = blob.bytes;
    return buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer;
  }
}

let loading: Promise<C2paWasm> | null = null;

/** The compiled module, loaded once (exported for the tests' manifest signer). */
export function load(): Promise<C2paWasm> {
  loading ??= (async () => {
    const globals = globalThis as { FileReaderSync?: unknown };
    globals.FileReaderSync ??= BytesFileReaderSync;
    // An ES module: require()d by Node (20.19+, 22.12+) through the compiled dynamic import.
    const c2pa: C2paWasm = await import('@contentauth/c2pa-wasm');
    c2pa.initSync({ module: fs.readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
    return c2pa;
  })().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

const MAX_TEXT = 200;
const UNTRUSTED = 'signingCredential.untrusted';

const str = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, MAX_TEXT) : null);
const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const array = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** "name/version" of a claim_generator string or the first claim_generator_info entry. */
function claimGeneratorOf(claimGenerator: unknown, info: unknown): string | null {
  const text = str(claimGenerator);
  if (text !== null) return text;
  const first = record(Array.isArray(info) ? info[0] : info);
  const name = str(first.name);
  if (name === null) return null;
  const version = str(first.version);
  return (version === null ? name : `${name}/${version}`).slice(0, MAX_TEXT);
}

function softwareAgentOf(agent: unknown): string | null {
  if (typeof agent === 'string') return str(agent);
  const fields = record(agent);
  const name = str(fields.name);
  if (name === null) return null;
  const version = str(fields.version);
  return (version === null ? name : `${name} ${version}`).slice(0, MAX_TEXT);
}

/** The actions of every c2pa.actions assertion (c2pa.actions, c2pa.actions.v2, c2pa.actions__1, …) of one crJSON manifest. */
function actionsOf(assertions: Record<string, unknown>): ManifestAction[] {
  const actions: ManifestAction[] = [];
  for (const [label, data] of Object.entries(assertions)) {
    if (!label.startsWith('c2pa.actions')) continue;
    for (const entry of array(record(data).actions)) {
      const action = record(entry);
      const name = str(action.action);
      if (name === null) continue;
      const type = str(action.digitalSourceType);
      actions.push({ action: name, digital_source_type: type === null ? null : sourceTypeCode(type), software_agent: softwareAgentOf(action.softwareAgent) });
    }
  }
  return actions;
}

function signerOf(signature: Record<string, unknown>): SignerSummary | null {
  const certificate = record(signature.certificateInfo);
  if (Object.keys(certificate).length === 0) return null;
  const subject = record(certificate.subject);
  const issuer = record(certificate.issuer);
  const validity = record(certificate.validity);
  return {
    organization: str(subject.O),
    common_name: str(subject.CN),
    issuer_organization: str(issuer.O),
    issuer_common_name: str(issuer.CN),
    not_before: str(validity.notBefore),
    not_after: str(validity.notAfter),
    algorithm: str(signature.algorithm),
    timestamp: str(record(signature.timeStampInfo).timestamp),
  };
}

function codesOf(entries: unknown): string[] {
  return [...new Set(array(entries).flatMap((entry) => (typeof record(entry).code === 'string' ? [record(entry).code as string] : [])))].slice(0, MAX_CODES);
}

/** One manifest of the crJSON store: its own failures decide its validation. */
function summarise(manifest: Record<string, unknown>, activeLabel: string | null): ManifestSummary {
  const claim = record(manifest['claim.v2'] ?? manifest.claim);
  const failures = codesOf(record(manifest.validationResults).failure);
  const types = new Set(actionsOf(record(manifest.assertions)).flatMap((action) => (action.digital_source_type === null ? [] : [action.digital_source_type])));
  const label = str(manifest.label) ?? '';
  return {
    label,
    active: label === activeLabel,
    validation: failures.some((code) => code !== UNTRUSTED) ? 'invalid' : failures.includes(UNTRUSTED) ? 'untrusted' : 'valid',
    codes: failures,
    claim_generator: claimGeneratorOf(claim.claim_generator, claim.claim_generator_info),
    signer: signerOf(record(manifest.signature)),
    digital_source_types: [...types],
  };
}

export interface C2paWasmReaderOptions {
  /** Loads the trust material; called with the WebAssembly, retried on the next manifest after a failure. */
  trust?: () => Promise<TrustMaterial>;
  /** Told when the trust material fails to load (the manifests are then reported `untrusted`). */
  onTrustError?: (error: unknown) => void;
}

interface ReadContext {
  settings: string;
  trustList: string | null;
  /** The trust material was configured but could not be loaded. */
  trustFailed: boolean;
}

export class C2paWasmReader implements ManifestReader {
  private context: Promise<ReadContext> | null = null;

  constructor(private readonly options: C2paWasmReaderOptions = {}) {}

  /** Loads and compiles the WebAssembly and the trust material now (at cold start) instead of on the first manifest. */
  async warm(): Promise<void> {
    await load();
    await this.readContext();
  }

  /** The settings of every read: no network, trust checked against the loaded material. Never rejects. */
  private readContext(): Promise<ReadContext> {
    const verify = { remote_manifest_fetch: false, ocsp_fetch: false, verify_trust: true };
    const untrusted: ReadContext = { settings: JSON.stringify({ verify }), trustList: null, trustFailed: false };
    const loadTrust = this.options.trust;
    if (loadTrust === undefined) return Promise.resolve(untrusted);
    this.context ??= loadTrust().then((material) => ({
      settings: JSON.stringify({
        verify,
        // c2pa-rs rejects an empty list or configuration: only those that are there are given.
        trust: {
          trust_anchors: material.trustAnchors,
          ...(material.allowedList === '' ? {} : { allowed_list: material.allowedList }),
          ...(material.trustConfig.trim() === '' ? {} : { trust_config: material.trustConfig }),
        },
      }),
      trustList: material.version,
      trustFailed: false,
    }));
    return this.context.catch((error: unknown) => {
      this.context = null;
      this.options.onTrustError?.(error);
      return { ...untrusted, trustFailed: true };
    });
  }

  async read(bytes: Buffer, format: ImageFormat): Promise<ManifestReport> {
    let c2pa: C2paWasm;
    try {
      c2pa = await load();
    } catch {
      return unreadReport('unverified', 'reader.unavailable');
    }
    const context = await this.readContext();
    try {
      const reader = await c2pa.WasmReader.fromBlob(MIME_TYPES[format], new BytesBlob(bytes) as unknown as Blob, context.settings);
      try {
        const store = record(reader.manifestStore());
        const activeLabel = reader.activeLabel() ?? null;
        const crJson = record(JSON.parse(reader.crJson()) as unknown);
        const all = array(crJson.manifests).map((manifest) => record(manifest));
        const activeManifest = all.find((manifest) => manifest.label === activeLabel) ?? {};
        const summaries = all.map((manifest) => summarise(manifest, activeLabel)).sort((a, b) => Number(b.active) - Number(a.active));
        const active = summaries.find((summary) => summary.active) ?? null;
        const actions = actionsOf(record(activeManifest.assertions));
        const codes = [...codesOf(store.validation_status), ...(context.trustFailed ? ['trust.unavailable'] : [])].slice(0, MAX_CODES);
        const state = store.validation_state;
        const ingredientTypes = summaries.filter((summary) => !summary.active).flatMap((summary) => summary.digital_source_types);
        return {
          // Strict: valid only when c2pa-rs found the signer trusted; an intact manifest it could not place is untrusted.
          validation: state === 'Invalid' ? 'invalid' : state === 'Trusted' ? 'valid' : 'untrusted',
          codes,
          claimGenerator: active?.claim_generator ?? null,
          digitalSourceTypes: active?.digital_source_types ?? [],
          trustList: context.trustList,
          signer: active?.signer ?? null,
          manifests: summaries.slice(0, MAX_MANIFESTS),
          actions: actions.slice(0, MAX_ACTIONS),
          origin: classifyOrigin(actions, ingredientTypes),
        };
      } finally {
        reader.free();
      }
    } catch {
      // The reader could not parse the manifest store: it cannot validate, so it is invalid.
      return unreadReport('invalid', 'manifest.malformed', context.trustList);
    }
  }
}
