/** The decision policy, rule by rule (scoring/verdict-policy.ts). */
import { emptyEvidence, type Evidence } from '../../src/detector/evidence/extract-evidence';
import type { ManifestOrigin, ManifestSummary } from '../../src/detector/evidence/manifest-reader';
import { decideVerdict, PATCH_DISAGREEMENT_LOGIT_STD, type PolicyInput, REVIEW_BY_HAND } from '../../src/detector/scoring/verdict-policy';

const none: Evidence = emptyEvidence();
const signer = {
  organization: 'Camera Maker',
  common_name: 'Camera Signer',
  issuer_organization: 'Camera CA',
  issuer_common_name: 'Camera Root',
  not_before: null,
  not_after: null,
  algorithm: 'es256',
  timestamp: null,
};
const c2pa = (validation: Evidence['c2pa']['validation'], types: string[], origin: ManifestOrigin | null = null, others: ManifestSummary[] = []): Evidence => ({
  ...none,
  c2pa: {
    ...none.c2pa,
    present: true,
    validation,
    claim_generator: 'x',
    digital_source_types: types,
    trust_list: '2026-08.1',
    signer,
    origin,
    manifests: [
      {
        label: 'a',
        active: true,
        validation: validation === 'valid' ? 'valid' : 'untrusted',
        codes: [],
        claim_generator: 'x',
        signer,
        digital_source_types: types,
      },
      ...others,
    ],
  },
});
const invalidIngredient: ManifestSummary = {
  label: 'b',
  active: false,
  validation: 'invalid',
  codes: ['claimSignature.mismatch'],
  claim_generator: null,
  signer: null,
  digital_source_types: [],
};
const base: PolicyInput = { probability: 0.1, threshold: 0.5, band: [0.35, 0.7] };

describe('decideVerdict', () => {
  it.each<[string, Partial<PolicyInput>, string, string]>([
    ['pixels below the threshold, no metadata', { evidence: none }, 'real', 'pixels'],
    ['pixels above the threshold', { probability: 0.9 }, 'ai_generated', 'pixels'],
    ['inside the band', { probability: 0.55 }, 'uncertain', 'pixels'],
    ['at the band edge', { probability: 0.35 }, 'uncertain', 'pixels'],
    ['at an operating point: below the real threshold', { probability: 0.0999, band: [0.1, 0.6], threshold: 0.6 }, 'real', 'pixels'],
    ['at an operating point: between the thresholds', { probability: 0.5999, band: [0.1, 0.6], threshold: 0.6 }, 'uncertain', 'pixels'],
    ['at an operating point: exactly at the threshold', { probability: 0.6, band: [0.1, 0.6], threshold: 0.6 }, 'ai_generated', 'pixels'],
    ['no band in the metadata', { probability: 0.55, band: null }, 'ai_generated', 'pixels'],
    ['an intact manifest declaring trainedAlgorithmicMedia', { evidence: c2pa('untrusted', ['trainedAlgorithmicMedia']) }, 'ai_generated', 'c2pa'],
    ['a trusted manifest declaring a composite', { evidence: c2pa('valid', ['compositeWithTrainedAlgorithmicMedia']) }, 'ai_generated', 'c2pa'],
    ['a tampered manifest declaring trainedAlgorithmicMedia', { evidence: c2pa('invalid', ['trainedAlgorithmicMedia']) }, 'real', 'pixels'],
    ['an unverified manifest', { evidence: c2pa('unverified', ['trainedAlgorithmicMedia']) }, 'real', 'pixels'],
    ['a valid manifest declaring a camera capture, AI pixels', { probability: 0.9, evidence: c2pa('valid', ['digitalCapture']) }, 'ai_generated', 'pixels'],
    ['a trusted signed capture, AI pixels', { probability: 0.9, evidence: c2pa('valid', ['digitalCapture'], 'capture') }, 'real', 'c2pa'],
    [
      'a trusted signed capture outranks out of distribution',
      { ood: { outOfDistribution: true, score: 9, threshold: 4 }, evidence: c2pa('valid', ['digitalCapture'], 'capture') },
      'real',
      'c2pa',
    ],
    ['an untrusted signed capture, AI pixels', { probability: 0.9, evidence: c2pa('untrusted', ['digitalCapture'], 'capture') }, 'ai_generated', 'pixels'],
    ['a tampered signed capture, AI pixels', { probability: 0.9, evidence: c2pa('invalid', ['digitalCapture'], 'capture') }, 'ai_generated', 'pixels'],
    [
      'a trusted signed capture beside an invalid manifest',
      { probability: 0.9, evidence: c2pa('valid', ['digitalCapture'], 'capture', [invalidIngredient]) },
      'ai_generated',
      'pixels',
    ],
    [
      'a trusted signed capture with a generator chunk',
      { evidence: { ...c2pa('valid', ['digitalCapture'], 'capture'), generators: [{ generator: 'comfyui', source: 'png:prompt', model: null }] } },
      'ai_generated',
      'metadata',
    ],
    [
      'a trusted signed capture with XMP trainedAlgorithmicMedia',
      { evidence: { ...c2pa('valid', ['digitalCapture'], 'capture'), xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: null } } },
      'ai_generated',
      'metadata',
    ],
    [
      'a capture with a later generative edit',
      { evidence: c2pa('valid', ['digitalCapture', 'trainedAlgorithmicMedia'], 'partly_generated') },
      'ai_generated',
      'c2pa',
    ],
    [
      'XMP trainedAlgorithmicMedia',
      { evidence: { ...none, xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: null } } },
      'ai_generated',
      'metadata',
    ],
    ['a generator chunk', { evidence: { ...none, generators: [{ generator: 'comfyui', source: 'png:prompt', model: null }] } }, 'ai_generated', 'metadata'],
    [
      'a tampered manifest and a generator chunk',
      { evidence: { ...c2pa('invalid', []), generators: [{ generator: 'comfyui', source: 'png:prompt', model: null }] } },
      'ai_generated',
      'metadata',
    ],
    [
      'a camera Make on AI pixels',
      { probability: 0.9, evidence: { ...none, exif: { make: 'Canon', model: 'EOS R5', software: null, user_comment: null } } },
      'ai_generated',
      'pixels',
    ],
    [
      'a camera Make inside the band',
      { probability: 0.5, evidence: { ...none, exif: { make: 'Canon', model: null, software: null, user_comment: null } } },
      'uncertain',
      'pixels',
    ],
    ['patches that disagree', { probability: 0.95, patches: { logitStd: PATCH_DISAGREEMENT_LOGIT_STD + 0.1 } }, 'uncertain', 'pixels'],
    ['patches that agree', { probability: 0.95, patches: { logitStd: 0.2 } }, 'ai_generated', 'pixels'],
    ['a model-set disagreement bound', { probability: 0.95, patches: { logitStd: 0.8 }, patchLogitStdMax: 0.5 }, 'uncertain', 'pixels'],
    ['out of distribution', { probability: 0.02, ood: { outOfDistribution: true, score: 9, threshold: 4 } }, 'uncertain', 'pixels'],
    ['in distribution', { probability: 0.02, ood: { outOfDistribution: false, score: 1, threshold: 4 } }, 'real', 'pixels'],
    [
      'metadata outranks out of distribution',
      { ood: { outOfDistribution: true, score: 9, threshold: 4 }, evidence: c2pa('untrusted', ['trainedAlgorithmicMedia']) },
      'ai_generated',
      'c2pa',
    ],
  ])('%s', (_name, input, verdict, decidedBy) => {
    const decision = decideVerdict({ ...base, ...input });
    expect([decision.verdict, decision.decided_by]).toEqual([verdict, decidedBy]);
    expect(decision.reasons.length).toBeGreaterThan(0);
  });

  it('names the signer and the trust list of a signed capture, and says a generative edit is partial', () => {
    expect(decideVerdict({ ...base, evidence: c2pa('valid', ['digitalCapture'], 'capture') }).reasons).toEqual([
      'a C2PA manifest signed by Camera Maker, trusted by trust list 2026-08.1, declares a digital capture with no generative step',
    ]);
    expect(decideVerdict({ ...base, evidence: c2pa('valid', ['compositeWithTrainedAlgorithmicMedia'], 'partly_generated') }).reasons[0]).toMatch(
      /partly generated/,
    );
  });

  it('never answers real from anything but the pixels or a trusted signed capture', () => {
    const evidences: Evidence[] = [
      none,
      c2pa('valid', ['digitalCapture']),
      c2pa('untrusted', ['digitalCapture'], 'capture'),
      c2pa('invalid', ['digitalCapture'], 'capture'),
      c2pa('unverified', ['digitalCapture'], 'capture'),
      { ...none, exif: { make: 'Canon', model: 'EOS R5', software: 'Firmware 1.0', user_comment: null } },
      { ...none, xmp: { digital_source_type: 'digitalCapture', creator_tool: 'Camera' } },
    ];
    for (const evidence of evidences) {
      for (const probability of [0.51, 0.8, 0.99]) expect(decideVerdict({ ...base, band: null, probability, evidence }).verdict).toBe('ai_generated');
    }
  });
});

describe('an uncertain verdict', () => {
  it.each<[string, Partial<PolicyInput>, string, string]>([
    ['inside the band', { probability: 0.55 }, "P(AI) 0.55 is inside the model's uncertainty band [0.35, 0.7]", REVIEW_BY_HAND.band],
    [
      'out of distribution',
      { ood: { outOfDistribution: true, score: 9, threshold: 4 } },
      "the image is out of the detector's distribution (score 9 > 4)",
      REVIEW_BY_HAND.outOfDistribution,
    ],
    [
      'patches that disagree',
      { probability: 0.95, patches: { logitStd: 2 } },
      'the patches disagree (logit standard deviation 2 > 1.5)',
      REVIEW_BY_HAND.patchesDisagree,
    ],
  ])('%s gives the technical reason, then what a person can do', (_name, input, technical, action) => {
    const decision = decideVerdict({ ...base, ...input });
    expect(decision.verdict).toBe('uncertain');
    expect(decision.reasons.slice(-2)).toEqual([technical, action]);
    expect(action).toMatch(/^the detector is not reliable for .+: review it by hand$/);
  });
});

describe("a pixel verdict's reason", () => {
  it.each<[string, Partial<PolicyInput>, string]>([
    ['AI, at or above the threshold', { probability: 0.8 }, 'P(AI) 0.8 is at or above the threshold 0.5'],
    ['real, without a band: below the threshold', { probability: 0.4, band: null }, 'P(AI) 0.4 is below the threshold 0.5'],
    // With a band, 0.4 would be uncertain: real is answered below the band's lower edge, and the reason names that edge.
    [
      'real, below an operating point’s real threshold',
      { probability: 0.05, band: [0.1, 0.6], threshold: 0.6 },
      "P(AI) 0.05 is below 0.1, the model's threshold for real",
    ],
  ])('%s', (_name, input, reason) => {
    expect(decideVerdict({ ...base, ...input }).reasons.at(-1)).toBe(reason);
  });
});
