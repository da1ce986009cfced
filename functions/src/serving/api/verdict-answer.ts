/**
 * The answer every endpoint gives for one scored image (the `Verdict` of docs/api.md), and the
 * record of it the monitoring side keeps. The scoring core returns scores and evidence; the
 * shape a client reads is made here, once, for /predict, /batch, /explain and the `detector`
 * command.
 */
import { round } from '../../platform/round';
import type { LoadedModel } from '../../detector/model/model-registry';
import { type Confidence, verdictConfidence } from '../../detector/model/scores';
import type { Evidence } from '../../detector/evidence/extract-evidence';
import { type GeneratorName, nameGenerator } from '../../detector/evidence/generator-name';
import { type DecidedBy, decideVerdict, type VerdictLabel } from '../../detector/scoring/verdict-policy';
import type { ItemScore, OodResult, PatchScores, PreparedImage } from '../../detector/scoring/score-images';
import type { ScoredImage } from '../../monitoring/observer';

export interface Verdict {
  /** The pixel score alone against the threshold, as it always was. */
  prediction: 'ai_generated' | 'real';
  /** The answer of the decision policy (scoring/verdict-policy.ts). */
  verdict: VerdictLabel;
  decided_by: DecidedBy;
  verdict_reasons: string[];
  /** P(AI) from the pixels alone. */
  probability: number;
  /** How far the verdict can be relied on (model/scores.ts verdictConfidence): `low` whenever the verdict is uncertain. */
  confidence: Confidence;
  threshold: number;
  model: { name: string; version: string };
  image: { width: number; height: number; format: string; bytes: number; animated?: true };
  timing_ms: { decode: number; inference: number; total: number };
  /** Patch models: how many patches were scored and how much their logits disagree. */
  patches?: { scored: number; logit_std: number };
  /** Models with OOD statistics: the image's distance from the training images, and whether it is beyond the version's threshold. */
  out_of_distribution?: { score: number; threshold: number; flagged: boolean };
  /** What the file says about itself; absent where scoring ran without evidence (offline evaluation). */
  evidence?: Evidence;
  /** The generator the evidence names, and where it says so (evidence/generator-name.ts); null where it names none; absent without evidence. */
  generator?: GeneratorName | null;
}

/** What the policy weighs beside the probability: evidence, patch scores, the OOD flag. */
export interface VerdictExtras {
  evidence?: Evidence;
  patches?: PatchScores;
  ood?: OodResult;
}

export function toVerdict(
  model: LoadedModel,
  prepared: PreparedImage,
  probability: number,
  inferenceMs: number,
  totalMs: number,
  extras: VerdictExtras = {},
): Verdict {
  const threshold = model.metadata.threshold;
  const image: Verdict['image'] = {
    width: prepared.decoded.width,
    height: prepared.decoded.height,
    format: prepared.header.format,
    bytes: prepared.bytes,
  };
  if (prepared.header.animated) image.animated = true;
  const uncertainty = model.metadata.uncertainty;
  const decision = decideVerdict({
    probability,
    threshold,
    band: uncertainty?.band ?? null,
    ...(uncertainty?.patch_logit_std_max === undefined ? {} : { patchLogitStdMax: uncertainty.patch_logit_std_max }),
    ...(extras.patches === undefined ? {} : { patches: extras.patches }),
    ...(extras.ood === undefined ? {} : { ood: extras.ood }),
    ...(extras.evidence === undefined ? {} : { evidence: extras.evidence }),
  });
  const verdict: Verdict = {
    prediction: probability >= threshold ? 'ai_generated' : 'real',
    verdict: decision.verdict,
    decided_by: decision.decided_by,
    verdict_reasons: decision.reasons,
    probability: round(probability, 4),
    confidence: verdictConfidence(decision.verdict, decision.decided_by, probability, threshold),
    threshold,
    model: { name: model.name, version: model.version },
    image,
    timing_ms: { decode: round(prepared.decodeMs, 2), inference: round(inferenceMs, 2), total: round(totalMs, 2) },
  };
  if (extras.evidence !== undefined) {
    verdict.generator = nameGenerator(extras.evidence);
    verdict.evidence = extras.evidence;
  }
  if (extras.patches !== undefined) verdict.patches = { scored: extras.patches.boxes.length, logit_std: round(extras.patches.logitStd, 4) };
  if (extras.ood !== undefined) {
    verdict.out_of_distribution = { score: round(extras.ood.score, 3), threshold: extras.ood.threshold, flagged: extras.ood.outOfDistribution };
  }
  return verdict;
}

/** The extras an ItemScore carries, for toVerdict. */
export function extrasOf(item: Extract<ItemScore, { ok: true }>): VerdictExtras {
  return {
    ...(item.evidence === undefined ? {} : { evidence: item.evidence }),
    ...(item.patches === undefined ? {} : { patches: item.patches }),
    ...(item.ood === undefined ? {} : { ood: item.ood }),
  };
}

export function toScoredImage(model: LoadedModel, prepared: PreparedImage, probability: number, inferenceMs: number): ScoredImage {
  return {
    model: { name: model.name, version: model.version, threshold: model.metadata.threshold },
    probability,
    prediction: probability >= model.metadata.threshold ? 'ai_generated' : 'real',
    header: prepared.header,
    decoded: prepared.modelInput ?? prepared.decoded,
    bytes: prepared.bytes,
    decodeMs: prepared.decodeMs,
    inferenceMs,
  };
}
