/**
 * ManifestReader: the port that reads and validates an embedded C2PA manifest store. The production
 * adapter is C2paWasmReader (the Content Authenticity Initiative's c2pa-rs, compiled to
 * WebAssembly); it is called only when the container walk found a manifest where the format's C2PA
 * binding puts it, so images without one never pay for it.
 *
 * What the manifests say about the image's origin is classified here, purely (`classifyOrigin`),
 * so that the rule is tested without the reader.
 */
import type { ImageFormat } from '../image/image-decoder';

/**
 * valid: signature and hash bindings check out and the signer chains to the configured trust
 * material (evidence/trust-material.ts);
 * untrusted: they check out but the signer is on no trust list (or no trust material is loaded);
 * invalid: a signature, hash binding or the manifest's structure fails (it was tampered or forged);
 * unverified: the manifest could not be checked at all (too large, or no reader available).
 */
export type C2paValidation = 'valid' | 'untrusted' | 'invalid' | 'unverified';

/** The signing certificate, as the manifest's COSE signature carries it. */
export interface SignerSummary {
  /** Subject organisation (O) of the signing certificate, e.g. "OpenAI OpCo, LLC". */
  organization: string | null;
  common_name: string | null;
  /** The certificate authority that issued it: the next link of the chain. */
  issuer_organization: string | null;
  issuer_common_name: string | null;
  not_before: string | null;
  not_after: string | null;
  /** Signing algorithm, e.g. es256. */
  algorithm: string | null;
  /** Time of the signature's trusted time-stamp, when it has one. */
  timestamp: string | null;
}

export interface ManifestSummary {
  label: string;
  /** The active manifest: the one that speaks for the file as it is now. */
  active: boolean;
  validation: 'valid' | 'untrusted' | 'invalid';
  /** The failure codes of this manifest (signingCredential.untrusted, claimSignature.mismatch, …). */
  codes: string[];
  claim_generator: string | null;
  signer: SignerSummary | null;
  /** digitalSourceType of this manifest's actions, as IPTC codes. */
  digital_source_types: string[];
}

/** One action of the active manifest. */
export interface ManifestAction {
  action: string;
  digital_source_type: string | null;
  /** softwareAgent of the action (name and version), e.g. "gpt-image pre-2.0". */
  software_agent: string | null;
}

/**
 * What the manifests say the image is:
 * capture: created by a capture device (digitalCapture) and no generative step anywhere;
 * generated: created by a trained model (trainedAlgorithmicMedia);
 * partly_generated: a generative edit or composite (compositeWithTrainedAlgorithmicMedia, or a
 * generative source type on an action after the file was created or opened, or in an ingredient);
 * other: none of these (edits, computed media, no source type).
 */
export type ManifestOrigin = 'capture' | 'generated' | 'partly_generated' | 'other';

export interface ManifestReport {
  validation: C2paValidation;
  /** The validation status codes of the C2PA specification (e.g. assertion.dataHash.mismatch), plus ours for unverified. */
  codes: string[];
  claimGenerator: string | null;
  /** digitalSourceType of the active manifest's actions, as the last segment of the IPTC URI (trainedAlgorithmicMedia, …). */
  digitalSourceTypes: string[];
  /** `version` of the trust material the signers were checked against; null when none was loaded. */
  trustList: string | null;
  /** Signer of the active manifest. */
  signer: SignerSummary | null;
  /** Every manifest of the store, the active one first (bounded by MAX_MANIFESTS). */
  manifests: ManifestSummary[];
  /** Actions of the active manifest, in order (bounded by MAX_ACTIONS). */
  actions: ManifestAction[];
  origin: ManifestOrigin | null;
}

export const MAX_MANIFESTS = 8;
export const MAX_ACTIONS = 16;

export interface ManifestReader {
  /** Never rejects: a manifest it cannot read is reported, not thrown. */
  read(bytes: Buffer, format: ImageFormat): Promise<ManifestReport>;
}

/** A report of a manifest that could not be checked or read at all. */
export function unreadReport(validation: 'invalid' | 'unverified', code: string, trustList: string | null = null): ManifestReport {
  return {
    validation,
    codes: [code],
    claimGenerator: null,
    digitalSourceTypes: [],
    trustList,
    signer: null,
    manifests: [],
    actions: [],
    origin: null,
  };
}

/** Used where no reader is configured: a manifest is reported present and unverified. */
export const NO_MANIFEST_READER: ManifestReader = {
  read: () => Promise.resolve(unreadReport('unverified', 'reader.unavailable')),
};

/** The IPTC digital source type code (the last segment of its URI). */
export function sourceTypeCode(value: string): string {
  const trimmed = value.trim();
  const slash = trimmed.lastIndexOf('/');
  return (slash < 0 ? trimmed : trimmed.slice(slash + 1)).slice(0, 128);
}

/** IPTC digital source types that say a generative model made the whole image. */
export const FULLY_GENERATIVE_SOURCE_TYPES: readonly string[] = ['trainedAlgorithmicMedia'];
/** IPTC digital source types that say a generative model made part of it. */
export const PARTLY_GENERATIVE_SOURCE_TYPES: readonly string[] = ['compositeWithTrainedAlgorithmicMedia'];
export const CAPTURE_SOURCE_TYPE = 'digitalCapture';
const INCEPTION_ACTIONS = ['c2pa.created', 'c2pa.opened'];

/**
 * The origin the active manifest's actions and the other manifests of the store declare. A
 * generative source type anywhere rules out `capture`; so does an ingredient's manifest declaring
 * one (a capture composited with a generated ingredient is partly generated).
 */
export function classifyOrigin(actions: readonly ManifestAction[], ingredientSourceTypes: readonly string[]): ManifestOrigin {
  const fully = (type: string | null) => type !== null && FULLY_GENERATIVE_SOURCE_TYPES.includes(type);
  const partly = (type: string | null) => type !== null && PARTLY_GENERATIVE_SOURCE_TYPES.includes(type);
  const inception = actions.find((action) => INCEPTION_ACTIONS.includes(action.action));
  const later = actions.filter((action) => action !== inception);
  const generativeLater = later.some((action) => fully(action.digital_source_type) || partly(action.digital_source_type));
  const generativeIngredient = ingredientSourceTypes.some((type) => fully(type) || partly(type));
  if (actions.some((action) => partly(action.digital_source_type))) return 'partly_generated';
  if (inception !== undefined && fully(inception.digital_source_type)) return 'generated';
  if (generativeLater) return inception === undefined ? 'generated' : 'partly_generated';
  if (generativeIngredient) return 'partly_generated';
  if (inception?.digital_source_type === CAPTURE_SOURCE_TYPE) return 'capture';
  return 'other';
}
