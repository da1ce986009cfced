/**
 * Step 5, gate: the thresholds, and the current production version (loaded as serving loads it)
 * scored on the same images; a model that does not pass is kept as a candidate by the next step.
 */
import { type BlobStore } from '../../../functions/src/platform';
import { createOnnxEngine, type LoadedModel, ModelRegistry } from '../../../functions/src/detector';
import { summarizeSplit, type SplitEvaluation } from '../evaluate';
import { decideGate, gateAnswers, renderGateDecision, type ChampionResult, type GateDecision } from '../gate';
import { answersBySource, type SplitAnswers } from '../sources';
import { readProductionPointer, type PointerState } from '../publish';
import type { RunDir, SplitItem } from '../run-dir';
import { evaluateWithProgress } from './evaluate-step';
import { messageOf, type StepContext } from './step-context';

export interface GateStepInput {
  evaluations: readonly SplitEvaluation[];
  runDir: RunDir;
  localRoot: string;
  /** Per split, what the model answers at its operating point (the evaluate step's); absent for a model without one. */
  answers?: Record<string, SplitAnswers>;
}

export interface GateStepResult {
  decision: GateDecision;
  /** production.json as the gate read it: the publish step's compare-and-swap expects it unchanged. */
  pointer: PointerState;
}

export async function gateStep(input: GateStepInput, context: StepContext): Promise<GateStepResult> {
  const { options, step, modelStore } = context;
  const gateEvaluation = input.evaluations.find((evaluation) => evaluation.split === 'test') ?? (input.evaluations[0] as SplitEvaluation);
  const pointer = await readProductionPointer(modelStore, options.name);
  let champion: ChampionResult | null = null;
  if (options.champion && pointer.pointer !== null) {
    step('gate', `evaluating production version ${pointer.pointer.version} on the same ${gateEvaluation.items.length} ${gateEvaluation.split} images`);
    champion = await evaluateChampion(modelStore, options.name, pointer, input.runDir.split[gateEvaluation.split], input.localRoot, context);
  }
  const splitAnswers = input.answers?.[gateEvaluation.split];
  const answers = splitAnswers === undefined ? null : gateAnswers(splitAnswers);
  const decision = decideGate(
    {
      ...(answers === null ? {} : { answers }),
      split: gateEvaluation.split,
      challenger: gateEvaluation.metrics,
      champion,
      championSkipped: !options.champion && pointer.pointer !== null,
      robustness: input.runDir.robustness === null ? null : { drop_points: input.runDir.robustness.drop_points, quality: input.runDir.robustness.quality },
    },
    options.gate,
  );
  context.deps.progressStream.write(`${renderGateDecision(decision)}\n`);
  step('gate', decision.passed ? `passed on ${decision.split}` : `rejected on ${decision.split}: ${decision.reasons.join('; ')}`);
  return { decision, pointer };
}

/** Loads the production version exactly as serving does (ModelRegistry) and scores the same images. */
export async function evaluateChampion(
  store: BlobStore,
  name: string,
  pointer: PointerState,
  items: readonly SplitItem[],
  root: string,
  context: StepContext,
): Promise<ChampionResult> {
  const { deps } = context;
  const version = pointer.pointer?.version ?? '(none)';
  const registry = new ModelRegistry({
    store,
    createEngine: (bytes) => createOnnxEngine(bytes, { intraOpNumThreads: deps.config.ortIntraOpThreads }),
    refreshMs: 3_600_000,
    logger: deps.logger,
  });
  let model: LoadedModel;
  try {
    model = await registry.get(name);
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return { version, error: [messageOf(error), cause === undefined ? null : messageOf(cause)].filter((part) => part !== null).join(': ') };
  }
  try {
    if (model.version !== version) {
      return { version, error: `production.json moved to ${model.version} while the pipeline was reading it; run again` };
    }
    const scored = await evaluateWithProgress(model, root, items, context, 'the gate split');
    const summary = summarizeSplit('val', scored, model.metadata.threshold);
    if (summary.failures > 0) {
      const first = scored.find((item) => item.error !== null);
      return { version, error: `it could not score ${summary.failures} of the images (first: ${first?.path}: ${first?.error})` };
    }
    // Production that decides at an operating point (uncertainty.target_fpr) is read by the answers it gives, as the challenger is.
    const uncertainty = model.metadata.uncertainty;
    if (uncertainty?.target_fpr === undefined) return { version, metrics: summary.metrics };
    return { version, metrics: summary.metrics, answers: gateAnswers(answersBySource(scored, uncertainty.band[0], model.metadata.threshold)) };
  } finally {
    model.retire();
  }
}
