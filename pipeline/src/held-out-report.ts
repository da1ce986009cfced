/**
 * The held-out evaluation at the operating point (`python3 -m training.heldout_eval`, heldout.json
 * in a run folder): per held-out REAL collection, generator and aligned family, what a recipe calls
 * AI when each fold sets its operating point on its own in-source validation split, summarised
 * against the detector's targets. Pure: the parsed report in, Markdown and numbers out.
 */
export interface Decisions {
  n: number;
  ai: number;
  real: number;
  uncertain: number;
  ai_ci: [number, number];
}

export interface HeldOutFold {
  fold: string;
  held_out: string[];
  operating_point: { ai_threshold: number; real_threshold: number };
  in_source: Decisions & { ood_flagged: number; patches_disagree: number; roc_auc: number | null };
  held_out_real?: Decisions & { roc_auc_vs_generators: number | null };
  held_out_generators: Record<string, Decisions & { roc_auc: number | null }>;
  held_out_aligned?: Decisions;
  seconds: number;
}

export interface HeldOutReport {
  recipe: Record<string, unknown>;
  command: string;
  targets: { fpr: number; fnr: number };
  folds: HeldOutFold[];
}

export interface HeldOutSummary {
  /** Mean ROC-AUC over held-out sources: each REAL collection once, each generator once (averaged over the folds that held it out). */
  meanRocAuc: number | null;
  realRocAuc: Record<string, number | null>;
  /** Held-out REAL photos called AI, pooled over the folds. */
  realCalledAi: { share: number; n: number };
  /** Held-out generator images called AI, pooled. */
  generatorsCalledAi: { share: number; n: number };
  /** Mean share of in-source validation images between the thresholds. */
  inSourceUncertain: number;
  generators: Record<string, { rocAuc: number | null; calledAi: number; n: number }>;
}

export function isHeldOutReport(value: unknown): value is HeldOutReport {
  const folds = (value as { folds?: unknown } | null)?.folds;
  return (
    Array.isArray(folds) &&
    folds.every((fold) => typeof (fold as HeldOutFold).fold === 'string' && typeof (fold as HeldOutFold).in_source?.uncertain === 'number')
  );
}

function mean(values: Array<number | null>): number | null {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  return present.length === 0 ? null : present.reduce((sum, value) => sum + value, 0) / present.length;
}

export function summarizeHeldOut(report: HeldOutReport): HeldOutSummary {
  const realRocAuc: Record<string, number | null> = {};
  let realAi = 0;
  let realN = 0;
  const perGenerator = new Map<string, { aucs: Array<number | null>; ai: number; n: number }>();
  for (const fold of report.folds) {
    if (fold.held_out_real !== undefined) {
      realRocAuc[fold.fold] = fold.held_out_real.roc_auc_vs_generators;
      realAi += fold.held_out_real.ai * fold.held_out_real.n;
      realN += fold.held_out_real.n;
    }
    for (const [key, scores] of Object.entries(fold.held_out_generators)) {
      const entry = perGenerator.get(key) ?? { aucs: [], ai: 0, n: 0 };
      entry.aucs.push(scores.roc_auc);
      entry.ai += scores.ai * scores.n;
      entry.n += scores.n;
      perGenerator.set(key, entry);
    }
  }
  const generators = Object.fromEntries(
    [...perGenerator.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, entry]) => [key, { rocAuc: mean(entry.aucs), calledAi: entry.n === 0 ? 0 : entry.ai / entry.n, n: entry.n }]),
  );
  const generatorN = Object.values(generators).reduce((sum, entry) => sum + entry.n, 0);
  const generatorAi = Object.values(generators).reduce((sum, entry) => sum + entry.calledAi * entry.n, 0);
  return {
    meanRocAuc: mean([...Object.values(realRocAuc), ...Object.values(generators).map((entry) => entry.rocAuc)]),
    realRocAuc,
    realCalledAi: { share: realN === 0 ? 0 : realAi / realN, n: realN },
    generatorsCalledAi: { share: generatorN === 0 ? 0 : generatorAi / generatorN, n: generatorN },
    inSourceUncertain: mean(report.folds.map((fold) => fold.in_source.uncertain)) ?? 0,
    generators,
  };
}

const pct = (value: number): string => `${(100 * value).toFixed(1)} %`;
const auc = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : value.toFixed(3));

/** Markdown: one row per fold, then one per held-out generator, then the summary against the targets. */
export function renderHeldOut(report: HeldOutReport): string {
  const summary = summarizeHeldOut(report);
  const lines = [
    `Each fold trains the recipe without what it holds out, sets its operating point on its own in-source validation split (at most ${pct(report.targets.fpr)} of real photos called AI, ${pct(report.targets.fnr)} of fakes called real) and is tested on what it held out.`,
    '',
    '| fold | thresholds (real, AI) | held-out photos called AI (95 % CI) | called real | uncertain | ROC-AUC vs generators | in-source uncertain | in-source OOD flagged |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const fold of report.folds) {
    const real = fold.held_out_real;
    const aligned = fold.held_out_aligned;
    const held = real ?? aligned;
    lines.push(
      `| ${fold.fold} | ${fold.operating_point.real_threshold}, ${fold.operating_point.ai_threshold} | ${held ? `${pct(held.ai)} (${pct(held.ai_ci[0])}–${pct(held.ai_ci[1])}) of ${held.n}` : '—'} | ${held ? pct(held.real) : '—'} | ${held ? pct(held.uncertain) : '—'} | ${real ? auc(real.roc_auc_vs_generators) : '—'} | ${pct(fold.in_source.uncertain)} | ${pct(fold.in_source.ood_flagged)} |`,
    );
  }
  lines.push('', '| held-out generator | ROC-AUC vs in-source real photos | called AI | images |', '| --- | ---: | ---: | ---: |');
  for (const [key, entry] of Object.entries(summary.generators)) lines.push(`| ${key} | ${auc(entry.rocAuc)} | ${pct(entry.calledAi)} | ${entry.n} |`);
  const realAucs = Object.values(summary.realRocAuc);
  lines.push(
    '',
    '| target | reached |',
    '| --- | ---: |',
    `| mean held-out ROC-AUC ≥ 0.85 | ${auc(summary.meanRocAuc)} |`,
    `| every held-out real collection's ROC-AUC ≥ 0.80 | lowest ${auc(realAucs.length === 0 ? null : Math.min(...realAucs.map((value) => value ?? 0)))} |`,
    `| held-out real photos called AI ≤ 2 % | ${pct(summary.realCalledAi.share)} of ${summary.realCalledAi.n} |`,
    `| held-out generator images called AI ≥ 70 % | ${pct(summary.generatorsCalledAi.share)} of ${summary.generatorsCalledAi.n} |`,
    `| in-source uncertain ≤ 30 % | ${pct(summary.inSourceUncertain)} |`,
    '',
    `Command: \`${report.command}\``,
  );
  return lines.join('\n');
}
