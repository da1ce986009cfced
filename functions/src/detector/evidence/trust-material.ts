/**
 * The trust material against which C2PA signers are validated: a folder (a BlobStore, so a local
 * path or gs://bucket/prefix; setting C2PA_TRUST_STORE) holding `trust.json` and the PEM and
 * configuration files it names. Replacing the folder's files changes whom the service trusts
 * without a code change; `version` is reported in every answer that carries a manifest.
 *
 *   {
 *     "version": "2026-08.1",
 *     "trust_anchors": ["C2PA-TRUST-LIST.pem", "interim-anchors.pem"],   // CA certificates
 *     "allowed_list": ["interim-allowed.pem"],                          // end-entity certificates
 *     "trust_config": "interim-store.cfg"                                // allowed extended key usages
 *   }
 */
import type { BlobStore } from '../../platform/storage/blob-store';

export interface TrustMaterial {
  version: string;
  /** Concatenated PEM certificates of the trust anchors. */
  trustAnchors: string;
  /** Concatenated PEM end-entity certificates trusted individually ('' when none). */
  allowedList: string;
  /** Extended key usage OIDs a signing certificate may carry, in c2pa-rs's format ('' for its default). */
  trustConfig: string;
}

export const TRUST_INDEX = 'trust.json';
/** Largest trust file read, in bytes (the shipped lists are under 200 KB together). */
export const MAX_TRUST_FILE_BYTES = 4 * 1024 * 1024;

interface TrustIndex {
  version: string;
  trust_anchors: string[];
  allowed_list: string[];
  trust_config: string | null;
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Validates trust.json; throws an Error that names every problem. */
export function parseTrustIndex(bytes: Buffer): TrustIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${TRUST_INDEX} is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${TRUST_INDEX} must be a JSON object`);
  const record = raw as Record<string, unknown>;
  const problems: string[] = [];
  const files = (key: string, required: boolean): string[] => {
    const value = record[key] ?? [];
    if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || !FILE_NAME.test(name))) {
      problems.push(`${key} must be a list of file names in the trust folder`);
      return [];
    }
    if (required && value.length === 0) problems.push(`${key} must name at least one PEM file`);
    return value as string[];
  };
  const version = record.version;
  if (typeof version !== 'string' || version.trim() === '' || version.length > 64) problems.push('version must be a non-empty string of at most 64 characters');
  const trustAnchors = files('trust_anchors', true);
  const allowedList = files('allowed_list', false);
  const config = record.trust_config ?? null;
  if (config !== null && (typeof config !== 'string' || !FILE_NAME.test(config))) problems.push('trust_config must be a file name in the trust folder or null');
  if (problems.length > 0) throw new Error(`${TRUST_INDEX}: ${problems.join('; ')}`);
  return { version: (version as string).trim(), trust_anchors: trustAnchors, allowed_list: allowedList, trust_config: config as string | null };
}

async function readText(store: BlobStore, name: string): Promise<string> {
  const bytes = await store.read(name);
  if (bytes.length > MAX_TRUST_FILE_BYTES) throw new Error(`${store.location}/${name} is ${bytes.length} bytes; the limit is ${MAX_TRUST_FILE_BYTES}`);
  return bytes.toString('utf8');
}

function pemCertificates(name: string, text: string): string {
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${name} holds no PEM certificate`);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Reads trust.json and the files it names from `store`; rejects with a message naming the file at fault. */
export async function loadTrustMaterial(store: BlobStore): Promise<TrustMaterial> {
  const index = parseTrustIndex(await store.read(TRUST_INDEX));
  const concat = async (names: readonly string[]) =>
    (await Promise.all(names.map(async (name) => pemCertificates(name, await readText(store, name))))).join('');
  return {
    version: index.version,
    trustAnchors: await concat(index.trust_anchors),
    allowedList: await concat(index.allowed_list),
    trustConfig: index.trust_config === null ? '' : await readText(store, index.trust_config),
  };
}
