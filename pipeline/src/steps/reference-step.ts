/** Step 4, reference: the drift reference (models/reference.schema.json) from the same evaluation. */
import { buildReference, type DriftReference, parseReference, type ReferenceInput } from '../../../functions/src/monitoring';
import { type ModelMetadata } from '../../../functions/src/detector';
import type { SplitEvaluation } from '../evaluate';
import type { StepContext } from './step-context';

export interface ReferenceStepInput {
  evaluations: readonly SplitEvaluation[];
  metadata: ModelMetadata;
  version: string;
}

export function referenceStep(input: ReferenceStepInput, context: StepContext): DriftReference {
  const { threshold } = input.metadata;
  const records: ReferenceInput[] = input.evaluations.flatMap((evaluation) =>
    evaluation.items.flatMap((item) =>
      item.probability === null || item.features === null
        ? []
        : [{ probability: item.probability, prediction: item.probability >= threshold ? 'ai_generated' : 'real', features: item.features }],
    ),
  );
  const reference = parseReference(
    buildReference(records, { name: context.options.name, version: input.version }, { createdAt: context.now() }),
    'the new drift reference',
  );
  context.step('reference', `built from ${reference.n} evaluated images`, { ai_generated_share: reference.prediction_mix.ai_generated_share });
  return reference;
}
