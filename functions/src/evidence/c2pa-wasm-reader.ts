/**
 * The ManifestReader on @contentauth/c2pa-wasm (the only file that imports it): the Content
 * Authenticity Initiative's c2pa-rs compiled to WebAssembly, so one platform-independent 8 MB file
 * with no install script and no native binary (see docs/api.md, "Metadata evidence").
 *
 * The module is loaded and compiled on the first manifest, memoized as a promise that is dropped on
 * rejection so that a failed load is retried. Settings turn off every network fetch (remote
 * manifests, OCSP): validation uses only the bytes given. No trust list is configured, so an
 * intact manifest is reported `untrusted`, never `valid`.
 */
import * as fs from 'node:fs';
import type * as C2paWasmModule from '@contentauth/c2pa-wasm';
import type { ImageFormat } from '../image/image-decoder';
import { type ManifestReader, type ManifestReport, sourceTypeCode } from './manifest-reader';

type C2paWasm = typeof C2paWasmModule;

const MIME_TYPES: Readonly<Record<ImageFormat, string>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' };
const MAX_CODES = 20;

/**
 * The reader asks for a Blob's bytes through the worker-only FileReaderSync; in Node the bytes are
 * already in memory, so a Blob-shaped view over them and a FileReaderSync that returns them serve.
 */
class BytesBlob {
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

function load(): Promise<C2paWasm> {
  loading ??= (async () => {
    const globals = globalThis as { FileReaderSync?: unknown };
    globals.FileReaderSync ??= BytesFileReaderSync;
    // An ES module: require()d by Node (20.19+, 22.12+) through the compiled dynamic import.
    const c2pa: C2paWasm = await import('@contentauth/c2pa-wasm');
    c2pa.initSync({ module: fs.readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
    c2pa.loadSettings(JSON.stringify({ verify: { remote_manifest_fetch: false, ocsp_fetch: false } }));
    return c2pa;
  })().catch((error: unknown) => {
    loading = null;
    throw error;
  });
  return loading;
}

interface StatusEntry {
  code?: unknown;
}

interface Assertion {
  label?: unknown;
  data?: { actions?: Array<{ digitalSourceType?: unknown }> };
}

interface ActiveManifest {
  claim_generator?: unknown;
  claim_generator_info?: Array<{ name?: unknown; version?: unknown }>;
  assertions?: Assertion[];
}

function claimGeneratorOf(manifest: ActiveManifest): string | null {
  if (typeof manifest.claim_generator === 'string') return manifest.claim_generator.slice(0, 200);
  const info = manifest.claim_generator_info?.[0];
  if (info === undefined || typeof info.name !== 'string') return null;
  return (typeof info.version === 'string' ? `${info.name}/${info.version}` : info.name).slice(0, 200);
}

function sourceTypesOf(manifest: ActiveManifest): string[] {
  const types = new Set<string>();
  for (const assertion of manifest.assertions ?? []) {
    if (typeof assertion.label !== 'string' || !assertion.label.startsWith('c2pa.actions')) continue;
    for (const action of assertion.data?.actions ?? []) {
      if (typeof action.digitalSourceType === 'string') types.add(sourceTypeCode(action.digitalSourceType));
    }
  }
  return [...types];
}

export class C2paWasmReader implements ManifestReader {
  /** Loads and compiles the WebAssembly now (at cold start) instead of on the first manifest. */
  async warm(): Promise<void> {
    await load();
  }

  async read(bytes: Buffer, format: ImageFormat): Promise<ManifestReport> {
    let c2pa: C2paWasm;
    try {
      c2pa = await load();
    } catch {
      return { validation: 'unverified', codes: ['reader.unavailable'], claimGenerator: null, digitalSourceTypes: [] };
    }
    try {
      const reader = await c2pa.WasmReader.fromBlob(MIME_TYPES[format], new BytesBlob(bytes) as unknown as Blob);
      try {
        const store = reader.manifestStore() as { validation_state?: unknown; validation_status?: StatusEntry[] };
        const manifest = (reader.activeManifest() ?? {}) as ActiveManifest;
        const codes = [...new Set((store.validation_status ?? []).flatMap((entry) => (typeof entry.code === 'string' ? [entry.code] : [])))].slice(
          0,
          MAX_CODES,
        );
        const state = store.validation_state;
        const validation = state === 'Invalid' ? 'invalid' : state === 'Trusted' || !codes.includes('signingCredential.untrusted') ? 'valid' : 'untrusted';
        return { validation, codes, claimGenerator: claimGeneratorOf(manifest), digitalSourceTypes: sourceTypesOf(manifest) };
      } finally {
        reader.free();
      }
    } catch {
      // The reader could not parse the manifest store: it cannot validate, so it is invalid.
      return { validation: 'invalid', codes: ['manifest.malformed'], claimGenerator: null, digitalSourceTypes: [] };
    }
  }
}
