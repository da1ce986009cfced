/**
 * ManifestReader: the port that reads and validates an embedded C2PA manifest store. The production
 * adapter is C2paWasmReader (the Content Authenticity Initiative's c2pa-rs, compiled to
 * WebAssembly); it is called only when the container walk found a manifest where the format's C2PA
 * binding puts it, so images without one never pay for it.
 */
import type { ImageFormat } from '../image/image-decoder';

/**
 * valid: signature and hash bindings check out and the signer is on a configured trust list;
 * untrusted: they check out but the signer is not on a trust list (none is configured here);
 * invalid: a signature, hash binding or the manifest's structure fails (it was tampered or forged);
 * unverified: the manifest could not be checked at all (too large, or no reader available).
 */
export type C2paValidation = 'valid' | 'untrusted' | 'invalid' | 'unverified';

export interface ManifestReport {
  validation: C2paValidation;
  /** The validation status codes of the C2PA specification (e.g. assertion.dataHash.mismatch), plus ours for unverified. */
  codes: string[];
  claimGenerator: string | null;
  /** digitalSourceType of the active manifest's actions, as the last segment of the IPTC URI (trainedAlgorithmicMedia, …). */
  digitalSourceTypes: string[];
}

export interface ManifestReader {
  /** Never rejects: a manifest it cannot read is reported, not thrown. */
  read(bytes: Buffer, format: ImageFormat): Promise<ManifestReport>;
}

/** Used where no reader is configured: a manifest is reported present and unverified. */
export const NO_MANIFEST_READER: ManifestReader = {
  read: () => Promise.resolve({ validation: 'unverified', codes: ['reader.unavailable'], claimGenerator: null, digitalSourceTypes: [] }),
};

/** The IPTC digital source type code (the last segment of its URI). */
export function sourceTypeCode(value: string): string {
  const trimmed = value.trim();
  const slash = trimmed.lastIndexOf('/');
  return (slash < 0 ? trimmed : trimmed.slice(slash + 1)).slice(0, 128);
}
