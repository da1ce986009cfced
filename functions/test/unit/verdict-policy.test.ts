/** The decision policy, rule by rule (scoring/verdict-policy.ts). */
import type { Evidence } from '../../src/evidence/extract-evidence';
import { decideVerdict, PATCH_DISAGREEMENT_LOGIT_STD, type PolicyInput, REVIEW_BY_HAND } from '../../src/scoring/verdict-policy';

const none: Evidence = {
  c2pa: { present: false, validation: null, codes: [], claim_generator: null, digital_source_types: [] },
  xmp: { digital_source_type: null, creator_tool: null },
  exif: { make: null, model: null, software: null },
  generators: [],
  text_chunks: { count: 0, keywords: [] },
  comments: [],
  limits_hit: [],
};
const c2pa = (validation: Evidence['c2pa']['validation'], types: string[]): Evidence => ({
  ...none,
  c2pa: { present: true, validation, codes: [], claim_generator: 'x', digital_source_types: types },
});
const base: PolicyInput = { probability: 0.1, threshold: 0.5, band: [0.35, 0.7] };

describe('decideVerdict', () => {
  it.each<[string, Partial<PolicyInput>, string, string]>([
    ['pixels below the threshold, no metadata', { evidence: none }, 'real', 'pixels'],
    ['pixels above the threshold', { probability: 0.9 }, 'ai_generated', 'pixels'],
    ['inside the band', { probability: 0.55 }, 'uncertain', 'pixels'],
    ['at the band edge', { probability: 0.35 }, 'uncertain', 'pixels'],
    ['no band in the metadata', { probability: 0.55, band: null }, 'ai_generated', 'pixels'],
    ['an intact manifest declaring trainedAlgorithmicMedia', { evidence: c2pa('untrusted', ['trainedAlgorithmicMedia']) }, 'ai_generated', 'c2pa'],
    ['a trusted manifest declaring a composite', { evidence: c2pa('valid', ['compositeWithTrainedAlgorithmicMedia']) }, 'ai_generated', 'c2pa'],
    ['a tampered manifest declaring trainedAlgorithmicMedia', { evidence: c2pa('invalid', ['trainedAlgorithmicMedia']) }, 'real', 'pixels'],
    ['an unverified manifest', { evidence: c2pa('unverified', ['trainedAlgorithmicMedia']) }, 'real', 'pixels'],
    ['a valid manifest declaring a camera capture, AI pixels', { probability: 0.9, evidence: c2pa('valid', ['digitalCapture']) }, 'ai_generated', 'pixels'],
    [
      'XMP trainedAlgorithmicMedia',
      { evidence: { ...none, xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: null } } },
      'ai_generated',
      'metadata',
    ],
    ['a generator chunk', { evidence: { ...none, generators: [{ generator: 'comfyui', source: 'png:prompt' }] } }, 'ai_generated', 'metadata'],
    [
      'a tampered manifest and a generator chunk',
      { evidence: { ...c2pa('invalid', []), generators: [{ generator: 'comfyui', source: 'png:prompt' }] } },
      'ai_generated',
      'metadata',
    ],
    [
      'a camera Make on AI pixels',
      { probability: 0.9, evidence: { ...none, exif: { make: 'Canon', model: 'EOS R5', software: null } } },
      'ai_generated',
      'pixels',
    ],
    ['a camera Make inside the band', { probability: 0.5, evidence: { ...none, exif: { make: 'Canon', model: null, software: null } } }, 'uncertain', 'pixels'],
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

  it('never answers real from anything but the pixels', () => {
    const evidences: Evidence[] = [
      none,
      c2pa('valid', ['digitalCapture']),
      { ...none, exif: { make: 'Canon', model: 'EOS R5', software: 'Firmware 1.0' } },
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
