/**
 * The decision policy: from the pixel score, what the model knows about its own uncertainty and
 * what the file says about itself, the `verdict` (ai_generated, real or uncertain) and what decided
 * it. Pure; `prediction` (probability ≥ threshold) is left as it always was, and the pixel
 * probability is always reported on its own beside the verdict.
 *
 * The rules, in order; the first that applies decides:
 *
 * 1. c2pa, generated: a C2PA manifest whose signature and hash bindings check out (validation
 *    `valid`, or `untrusted`: intact but signed by a certificate on no configured trust list) and
 *    whose manifests declare a generative origin decides `ai_generated`: wholly generated
 *    (trainedAlgorithmicMedia at creation) or partly generated (compositeWithTrainedAlgorithmicMedia,
 *    or a generative source type on a later action or an ingredient: a generative edit, an inpaint),
 *    which the reasons say. A trust list is not needed for this direction: nobody gains from signing
 *    a false "made by a generative model". An `invalid` (tampered, forged, malformed) or
 *    `unverified` manifest decides nothing: it is reported with its codes and the rules below go on.
 * 2. metadata: a declared generative DigitalSourceType in XMP, or a generator's own text chunk or
 *    comment (evidence/generator-chunks.ts), is strong evidence. The rule that combines them: any
 *    one of them decides `ai_generated`, and several only add reasons. They can only move a verdict
 *    towards `ai_generated`: stripping them is trivial, so their absence proves nothing, and adding
 *    them only makes an image look more generated. They come before rule 2b, so a file that claims
 *    a generator in one place and a capture in another is judged generated.
 * 2a. watermark: the stored pixels carry a known fixed-message invisible watermark (the
 *    invisible-watermark dwtDct mark of the Stable Diffusion v1 scripts or the SDXL pipelines,
 *    evidence/invisible-watermark.ts) decides `ai_generated`. Like metadata it only moves towards
 *    `ai_generated`: any resize, crop or re-encode removes it, and nobody gains from adding it.
 * 2b. c2pa, signed capture: a `valid` manifest (intact, and its signer chains to the trust material
 *    of evidence/trust-material.ts) whose origin is `capture` (created as digitalCapture, no
 *    generative action or ingredient, no invalid manifest in the store) decides `real`. An
 *    `untrusted` or `invalid` capture claim decides nothing: anyone can sign with a certificate of
 *    their own, so only a trusted signer's word that a camera made the image counts.
 * 3. pixels, uncertain: the item is flagged out of distribution (`ood`), or its patches disagree
 *    (`patches.logitStd` above the model's `uncertainty.patch_logit_std_max`, else
 *    PATCH_DISAGREEMENT_LOGIT_STD), or the probability falls inside the model's uncertainty band
 *    (`uncertainty.band` in metadata.json: for a model deciding at an operating point, between its
 *    real threshold and its threshold, set on validation so that at most 2 % of real photos are
 *    called AI and at most 2 % of fakes real; for older models, where its validation accuracy is
 *    below 90 %). P(AI) exactly at the threshold is decided by it.
 *    The technical reason is followed by one a person can act on (REVIEW_BY_HAND).
 * 4. pixels: `ai_generated` when probability ≥ threshold, else `real`.
 *
 * Camera EXIF (Make, Model, Software), an XMP capture source type, or no metadata at all never make
 * an image `real`: all are trivially forged or stripped, so they are reported, not trusted. No rule
 * but the trusted signed capture (2b) and the pixel rule 4 ever answers `real`.
 */
import type { Evidence } from '../evidence/extract-evidence';
import sharedConstants from '../../../../models/shared-constants.json';

export type VerdictLabel = 'ai_generated' | 'real' | 'uncertain';
export type DecidedBy = 'c2pa' | 'metadata' | 'watermark' | 'pixels';

/** IPTC digital source types that say a generative model made (part of) the image. */
export const GENERATIVE_SOURCE_TYPES: readonly string[] = ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia'];

/** Standard deviation of the patch logits above which patches "disagree strongly" (a logit spread of ±1.5 spans P 0.18..0.82). */
/** models/shared-constants.json: held-out evaluation (training/heldout_eval.py) counts disagreeing patches by the same rule. */
export const PATCH_DISAGREEMENT_LOGIT_STD: number = sharedConstants.patch_disagreement_logit_std;

/**
 * What a person can do about an `uncertain` verdict, added after the technical reason (the last
 * reason of every uncertain verdict): the detector's answer is not to be relied on for this image.
 */
export const REVIEW_BY_HAND = {
  outOfDistribution: 'the detector is not reliable for this kind of image (it is unlike the images it was trained on): review it by hand',
  patchesDisagree: 'the detector is not reliable for this image (its parts look different, as in a composite or an edit): review it by hand',
  band: 'the detector is not reliable for images that score between its thresholds for real and AI: review it by hand',
} as const;

export interface PolicyInput {
  probability: number;
  threshold: number;
  /** The model's uncertainty band [low, high] of probabilities, or null where its metadata has none. */
  band: readonly [number, number] | null;
  patchLogitStdMax?: number;
  patches?: { logitStd: number };
  ood?: { outOfDistribution: boolean; score: number; threshold: number };
  evidence?: Evidence;
}

export interface PolicyDecision {
  verdict: VerdictLabel;
  decided_by: DecidedBy;
  /** What was considered, in words, in the order of the rules. */
  reasons: string[];
}

const isGenerative = (type: string | null): boolean => type !== null && GENERATIVE_SOURCE_TYPES.includes(type);

export function decideVerdict(input: PolicyInput): PolicyDecision {
  const reasons: string[] = [];
  const evidence = input.evidence;
  if (evidence !== undefined) {
    const c2pa = evidence.c2pa;
    let signedCapture: string | null = null;
    if (c2pa.present) {
      const generative = c2pa.digital_source_types.filter(isGenerative);
      const intact = c2pa.validation === 'valid' || c2pa.validation === 'untrusted';
      const partly = c2pa.origin === 'partly_generated';
      if (intact && (generative.length > 0 || c2pa.origin === 'generated' || partly)) {
        const declared = generative.length > 0 ? generative.join(', ') : 'a generative source';
        reasons.push(
          `a C2PA manifest with intact signature and hash binding (${c2pa.validation}) declares ${declared}` +
            (partly ? ': partly generated (a generative edit or composite)' : ''),
        );
        return { verdict: 'ai_generated', decided_by: 'c2pa', reasons };
      }
      if (c2pa.validation === 'invalid' || c2pa.validation === 'unverified') {
        reasons.push(`the C2PA manifest is ${c2pa.validation} (${c2pa.codes.join(', ') || 'no codes'}), so it decides nothing`);
      } else if (c2pa.origin === 'capture' && c2pa.validation === 'valid' && c2pa.manifests.every((manifest) => manifest.validation !== 'invalid')) {
        signedCapture = `a C2PA manifest signed by ${signerName(c2pa)}, trusted by trust list ${c2pa.trust_list ?? '(unnamed)'}, declares a digital capture with no generative step`;
      } else if (c2pa.origin === 'capture') {
        const why = c2pa.validation === 'valid' ? 'another manifest of the store is invalid' : 'its signer is on no trust list';
        reasons.push(`the C2PA manifest (${c2pa.validation}) declares a digital capture, but ${why}, so it decides nothing`);
      } else {
        reasons.push(`the C2PA manifest (${c2pa.validation}) declares no generative source`);
      }
    }
    const marks: string[] = [];
    if (isGenerative(evidence.xmp.digital_source_type)) marks.push(`XMP declares DigitalSourceType ${evidence.xmp.digital_source_type}`);
    for (const mark of evidence.generators) marks.push(`${mark.source} was written by ${mark.generator}`);
    if (marks.length > 0) {
      reasons.push(...marks);
      return { verdict: 'ai_generated', decided_by: 'metadata', reasons };
    }
    const mark = evidence.watermark;
    if (mark?.matched === true) {
      reasons.push(`the pixels carry the ${mark.message} invisible watermark (${mark.method}, ${mark.bit_errors} of ${mark.bits.length} bits differ)`);
      return { verdict: 'ai_generated', decided_by: 'watermark', reasons };
    }
    if (signedCapture !== null) {
      reasons.push(signedCapture);
      return { verdict: 'real', decided_by: 'c2pa', reasons };
    }
    const camera = [evidence.exif.make, evidence.exif.model].filter((value) => value !== null);
    if (camera.length > 0) reasons.push(`EXIF names a camera (${camera.join(' ')}): reported, not trusted`);
  }
  if (input.ood?.outOfDistribution === true) {
    reasons.push(`the image is out of the detector's distribution (score ${round(input.ood.score)} > ${round(input.ood.threshold)})`);
    reasons.push(REVIEW_BY_HAND.outOfDistribution);
    return { verdict: 'uncertain', decided_by: 'pixels', reasons };
  }
  const stdMax = input.patchLogitStdMax ?? PATCH_DISAGREEMENT_LOGIT_STD;
  if (input.patches !== undefined && input.patches.logitStd > stdMax) {
    reasons.push(`the patches disagree (logit standard deviation ${round(input.patches.logitStd)} > ${stdMax})`);
    reasons.push(REVIEW_BY_HAND.patchesDisagree);
    return { verdict: 'uncertain', decided_by: 'pixels', reasons };
  }
  const p = input.probability;
  // The band is [low, high): at the threshold's own edge (an operating point's band ends at the threshold) the threshold decides.
  if (input.band !== null && p >= input.band[0] && (p < input.band[1] || (p === input.band[1] && input.band[1] !== input.threshold))) {
    reasons.push(`P(AI) ${round(p)} is inside the model's uncertainty band [${input.band[0]}, ${input.band[1]}]`);
    reasons.push(REVIEW_BY_HAND.band);
    return { verdict: 'uncertain', decided_by: 'pixels', reasons };
  }
  // With a band, `real` is answered below its lower edge (an operating point's real threshold), not merely below the threshold.
  const realBelow = input.band === null ? null : input.band[0];
  reasons.push(
    p >= input.threshold
      ? `P(AI) ${round(p)} is at or above the threshold ${input.threshold}`
      : realBelow === null
        ? `P(AI) ${round(p)} is below the threshold ${input.threshold}`
        : `P(AI) ${round(p)} is below ${realBelow}, the model's threshold for real`,
  );
  return { verdict: p >= input.threshold ? 'ai_generated' : 'real', decided_by: 'pixels', reasons };
}

function signerName(c2pa: Evidence['c2pa']): string {
  const signer = c2pa.signer;
  return signer?.organization ?? signer?.common_name ?? 'an unnamed signer';
}

const round = (value: number): number => Math.round(value * 1e4) / 1e4;
