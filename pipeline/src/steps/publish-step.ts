/**
 * Step 6, publish: the version's files (model, metadata, reference, metrics, model card, report)
 * go to an immutable <store>/<name>/<version>/, then production.json flips by compare-and-swap; a
 * model the gate rejected goes to <store>/<name>/candidates/<version>/ and ends the run.
 */
import * as path from 'node:path';
import { type DriftReference } from '../../../functions/src/monitoring';
import { type ModelMetadata, parseMetadata } from '../../../functions/src/detector';
import { GateRejectedError } from '../errors';
import type { GateDecision } from '../gate';
import { isLosoReport, isProbeReport, losoSummary, renderGeneralization } from '../generalization';
import { isHeldOutReport, renderHeldOut } from '../held-out-report';
import type { BinaryMetrics } from '../evaluation-metrics';
import { renderModelCard } from '../model-card';
import type { SkewReport } from '../parity';
import { keepCandidate, publishVersion, type PointerState, type VersionFiles } from '../publish';
import { reproductionCommands, shownPath } from '../run-commands';
import type { RunDir } from '../run-dir';
import type { SplitAnswers } from '../sources';
import type { DatasetReport } from '../validate-dataset';
import { type PipelineOptions, type PipelineResult, readRunReport, type StepContext, writeJson } from './step-context';

export interface PublishStepInput {
  version: string;
  metadata: ModelMetadata;
  runDir: RunDir;
  datasetUri: string;
  report: DatasetReport;
  metrics: Record<string, BinaryMetrics>;
  perSource?: Record<string, Record<string, BinaryMetrics>>;
  answers?: Record<string, SplitAnswers>;
  skew: SkewReport;
  decision: GateDecision;
  pointer: PointerState;
  reference: DriftReference;
}

export async function publishStep(input: PublishStepInput, context: StepContext): Promise<Extract<PipelineResult, { status: 'published' }>> {
  const { options, deps, step, modelStore: store, now } = context;
  const { version, metadata, runDir, report, metrics, skew, decision, reference, pointer } = input;
  const modelStore = store;
  const datasetUri = input.datasetUri;
  const commands = [
    `# training (from ${shownPath(path.join(runDir.dir, 'training.json'), deps.repoRoot)})`,
    ...reproductionCommands(runDir.dir, runDir.training, deps.repoRoot),
    ...(options.appliedRecipe === null
      ? []
      : [
          options.fromRun === null
            ? `# (training recipe ${options.appliedRecipe.name}, ${shownPath(options.appliedRecipe.file, deps.repoRoot)}: the command below runs all of the above)`
            : `# (recipe ${options.appliedRecipe.name}, ${shownPath(options.appliedRecipe.file, deps.repoRoot)}: its evaluations, operating point and gate, on the run above)`,
        ]),
    '# evaluation, gate and publication',
    options.invocation,
  ];
  const files = buildVersionFiles(
    {
      options,
      version,
      metadata,
      runDir,
      datasetUri: shownPath(datasetUri, deps.repoRoot),
      report,
      metrics,
      ...(input.perSource === undefined ? {} : { perSource: input.perSource }),
      ...(input.answers === undefined ? {} : { answers: input.answers }),
      skew,
      decision,
      reference,
      commands,
      createdAt: now(),
    },
    decision.passed ? 'production' : 'candidate',
  );
  await writeJson(path.join(options.workDir, 'report.json'), JSON.parse(files['report.json'] as string));
  if (!decision.passed) {
    const location = await keepCandidate(modelStore, options.name, version, files);
    step('publish', `rejected by the gate; kept as a candidate at ${location}`);
    throw new GateRejectedError(`model ${options.name} ${version} was rejected by the gate: ${decision.reasons.join('; ')}; kept at ${location}`, location);
  }
  const result = await publishVersion({
    store: modelStore,
    name: options.name,
    version,
    sha256: runDir.modelSha256,
    files,
    expected: pointer,
    reason: describeReason(decision),
    now: now(),
  });
  step('publish', `production.json of ${options.name} now names ${version}`, {
    location: result.location,
    previous_version: result.pointer.previous_version ?? null,
  });
  return {
    status: 'published',
    name: options.name,
    version,
    location: result.location,
    previous_version: result.pointer.previous_version ?? null,
    gate: decision,
    metrics,
  };
}

function describeReason(decision: GateDecision): string {
  const passed = decision.checks.filter((check) => check.value !== null).map((check) => check.detail);
  return `training pipeline: gate passed on ${decision.split} (${passed.join('; ')})`;
}

interface VersionFileInput extends Omit<PublishStepInput, 'pointer'> {
  options: PipelineOptions;
  commands: string[];
  createdAt: Date;
}

function buildVersionFiles(input: VersionFileInput, status: 'production' | 'candidate'): VersionFiles {
  const { options, version, runDir, report, metrics, skew, decision } = input;
  const metadata: ModelMetadata = {
    ...input.metadata,
    training: {
      ...(input.metadata.training ?? {}),
      dataset: { name: report.dataset?.name ?? null, version: report.dataset?.version ?? null, uri: input.datasetUri },
      published_by: 'training pipeline',
      gate_split: decision.split,
    },
  };
  const metadataText = `${JSON.stringify(metadata, null, 2)}\n`;
  parseMetadata(`${options.name}/${version}/metadata.json`, metadataText);
  const torch = Object.fromEntries(
    Object.entries(runDir.torchEval).map(([split, value]) => {
      const { probabilities: _probabilities, ...rest } = value as { probabilities: number[] };
      return [split, rest];
    }),
  );
  const loso = readRunReport(runDir.dir, 'loso.json', isLosoReport);
  const probes = readRunReport(runDir.dir, 'probes.json', isProbeReport);
  const heldOut = readRunReport(runDir.dir, 'heldout.json', isHeldOutReport);
  const perSource = input.perSource ?? {};
  const metricsDoc = {
    model: { name: options.name, version, sha256: runDir.modelSha256 },
    evaluated_at: input.createdAt.toISOString(),
    threshold: input.metadata.threshold,
    gate_split: decision.split,
    serving: metrics,
    pytorch: torch,
    skew: { passed: skew.passed, tolerances: skew.tolerances, checks: skew.checks, parity: skew.parity },
    robustness: runDir.robustness,
    champion: decision.champion,
    ...(Object.values(perSource).some((entries) => Object.keys(entries).length > 0) ? { per_source: perSource } : {}),
    ...(input.answers === undefined ? {} : { answers: input.answers }),
    ...(loso === null ? {} : { leave_one_source_out: { mean: losoSummary(loso), recipe: loso.recipe, folds: loso.folds } }),
    ...(probes === null ? {} : { shortcut_probes: probes }),
  };
  const reportDoc = {
    status,
    model: { name: options.name, version, sha256: runDir.modelSha256 },
    created_at: input.createdAt.toISOString(),
    gate: decision,
    skew,
    dataset: report,
    training: runDir.training,
    commands: input.commands,
  };
  const readme = renderModelCard({
    name: options.name,
    version,
    status,
    createdAt: input.createdAt,
    metadata,
    modelSha256: runDir.modelSha256,
    modelBytes: runDir.modelBytes.length,
    dataset: { uri: input.datasetUri, info: report.dataset, report },
    training: runDir.training,
    commands: input.commands,
    metrics: { val: metrics.val as BinaryMetrics, ...(metrics.test === undefined ? {} : { test: metrics.test }) },
    skew,
    gate: decision,
    reference: input.reference,
    robustness: runDir.robustness,
    perSource,
    ...(input.answers === undefined ? {} : { answers: input.answers }),
    generalization: [
      ...renderGeneralization(loso, probes),
      ...(heldOut === null ? [] : ['## Held-out sources at the operating point', '', renderHeldOut(heldOut), '']),
    ],
  });
  return {
    'model.onnx': runDir.modelBytes,
    'metadata.json': metadataText,
    'reference.json': `${JSON.stringify(input.reference)}\n`,
    'metrics.json': `${JSON.stringify(metricsDoc, null, 2)}\n`,
    'README.md': readme,
    'report.json': `${JSON.stringify(reportDoc, null, 2)}\n`,
  };
}
