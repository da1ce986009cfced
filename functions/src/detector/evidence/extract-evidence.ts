/**
 * The `evidence` of a scored image: what its file says about itself, read from the bytes already in
 * memory by container structure (container-blocks.ts). It is reported as found; what it is worth
 * for the verdict is decided in one place, scoring/verdict-policy.ts.
 *
 * Never throws for any input: a block it cannot read is left out and a bound that was reached is
 * named in `limits_hit`.
 */
import type { ImageFormat } from '../image/image-decoder';
import { MAX_COMMENTS, readMetadataBlocks } from './container-blocks';
import { type GeneratorMark, recogniseGenerators } from './generator-chunks';
import type { WatermarkResult } from './invisible-watermark';
import {
  type C2paValidation,
  type ManifestAction,
  type ManifestOrigin,
  type ManifestReader,
  type ManifestSummary,
  type SignerSummary,
  sourceTypeCode,
} from './manifest-reader';
import { type IptcFields, readIptcFields } from './iptc-iim';
import { readCameraTags, readUserComment } from './tiff-tags';
import { readXmpFields } from './xmp-fields';

/** A manifest store larger than this is reported present and unverified, not parsed. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Text chunks listed by keyword in the evidence (all are counted). */
const LISTED_TEXT_CHUNKS = 16;
const COMMENT_CHARS = 200;

export interface Evidence {
  c2pa: {
    present: boolean;
    /** null when no manifest is present. */
    validation: C2paValidation | null;
    codes: string[];
    claim_generator: string | null;
    digital_source_types: string[];
    /** Version of the trust material the signers were checked against (trust.json); null when none was loaded. */
    trust_list: string | null;
    /** Signer of the active manifest: its certificate and the authority that issued it. */
    signer: SignerSummary | null;
    /** Every manifest of the store (the active one first), each with its own validation and signer. */
    manifests: ManifestSummary[];
    /** Actions of the active manifest, in order. */
    actions: ManifestAction[];
    /** What the manifests declare the image is (manifest-reader.ts, classifyOrigin); null without a readable manifest. */
    origin: ManifestOrigin | null;
  };
  /** IPTC DigitalSourceType from XMP (the last segment of its URI), and XMP CreatorTool. */
  xmp: { digital_source_type: string | null; creator_tool: string | null };
  /** Camera tags of IFD0, and UserComment (first COMMENT_CHARS characters) of the Exif directory. */
  exif: { make: string | null; model: string | null; software: string | null; user_comment: string | null };
  /** IPTC IIM of a JPEG's Photoshop resources: the program that made the image. */
  iptc: IptcFields;
  /** Generators recognised from their own text chunks or comments (evidence/generator-chunks.ts). */
  generators: GeneratorMark[];
  text_chunks: { count: number; keywords: string[] };
  comments: string[];
  limits_hit: string[];
  /**
   * The invisible-watermark dwtDct check of the stored pixels (evidence/invisible-watermark.ts):
   * the known message closest to what was decoded and whether it matched; null where it was not
   * run (no pixel decoder, too many pixels, or too few to carry a mark).
   */
  watermark: WatermarkResult | null;
}

/** The evidence of a file with no metadata at all. */
export function emptyEvidence(limitsHit: string[] = []): Evidence {
  return {
    c2pa: emptyC2pa(),
    xmp: { digital_source_type: null, creator_tool: null },
    exif: { make: null, model: null, software: null, user_comment: null },
    iptc: { originating_program: null, program_version: null },
    generators: [],
    text_chunks: { count: 0, keywords: [] },
    comments: [],
    limits_hit: limitsHit,
    watermark: null,
  };
}

function emptyC2pa(): Evidence['c2pa'] {
  return {
    present: false,
    validation: null,
    codes: [],
    claim_generator: null,
    digital_source_types: [],
    trust_list: null,
    signer: null,
    manifests: [],
    actions: [],
    origin: null,
  };
}

export async function extractEvidence(bytes: Buffer, format: ImageFormat, manifests: ManifestReader): Promise<Evidence> {
  const blocks = readMetadataBlocks(bytes, format);
  const xmp = readXmpFields(blocks.xmp);
  const userComment = readUserComment(blocks.exif);
  const c2pa: Evidence['c2pa'] = { ...emptyC2pa(), present: blocks.c2pa.present };
  const limitsHit = [...blocks.limitsHit];
  if (blocks.c2pa.present) {
    if (blocks.c2pa.bytes > MAX_MANIFEST_BYTES) {
      c2pa.validation = 'unverified';
      c2pa.codes = ['manifest.tooLarge'];
      limitsHit.push('manifest_bytes');
    } else {
      const report = await manifests.read(bytes, format);
      c2pa.validation = report.validation;
      c2pa.codes = report.codes;
      c2pa.claim_generator = report.claimGenerator;
      c2pa.digital_source_types = report.digitalSourceTypes;
      c2pa.trust_list = report.trustList;
      c2pa.signer = report.signer;
      c2pa.manifests = report.manifests;
      c2pa.actions = report.actions;
      c2pa.origin = report.origin;
    }
  }
  return {
    c2pa,
    xmp: { digital_source_type: xmp.digitalSourceType === null ? null : sourceTypeCode(xmp.digitalSourceType), creator_tool: xmp.creatorTool },
    exif: { ...readCameraTags(blocks.exif), user_comment: userComment === null ? null : userComment.slice(0, COMMENT_CHARS) },
    iptc: readIptcFields(blocks.iptc),
    generators: recogniseGenerators(blocks.texts, blocks.comments, userComment),
    text_chunks: { count: blocks.textChunkCount, keywords: [...new Set(blocks.texts.map((chunk) => chunk.keyword))].slice(0, LISTED_TEXT_CHUNKS) },
    comments: blocks.comments.slice(0, MAX_COMMENTS).map((comment) => comment.slice(0, COMMENT_CHARS)),
    limits_hit: limitsHit,
    watermark: null,
  };
}
