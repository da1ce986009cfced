/**
 * The held-out evaluation at the operating point (`python3 -m training.heldout_eval`, heldout.json
 * in a run folder): per held-out REAL collection, generator and aligned family, what a recipe calls
 * AI when each fold sets its operating point on its own in-source validation split, summarised
 * against the detector's targets. Pure: the parsed report in, Markdown and numbers out.
 *
 * Folds that kept their scores can also set the published model's thresholds (a recipe's
 * `evaluation.held_out["set-operating-point"]`): heldOutThresholds pools every fold's held-out real
 * photos and generator images; crossFoldReading grades that rule without grading it on the photos
 * that set it, by reading each fold at thresholds set on the other folds only.
 */
import { answerAt, round4, thresholdsFor, wilsonInterval, type HeldOutOperatingPoint, type OperatingPointTargets, type Thresholds } from './operating-point';

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
  /** A diagnostic (--shift-held-out): the held-out photos with their first `shift` rows and columns cut off, off their JPEG grid. */
  held_out_real_shifted?: Decisions & { shift: number; roc_auc_vs_generators: number | null };
  held_out_generators: Record<string, Decisions & { roc_auc: number | null }>;
  held_out_aligned?: Decisions;
  /** A REAL fold's scores (P(AI) by its model): the held-out photos, the generator images it tested, its own validation split. */
  scores?: FoldScores;
  seconds: number;
}

export interface FoldScores {
  held_out_real: number[];
  generators: number[];
  in_source_real?: number[];
  in_source_fake?: number[];
}

/** One fold read at thresholds set on the other folds' scores. */
export interface CrossFoldRow {
  fold: string;
  thresholds: Thresholds;
  real: { n: number; ai: number; real: number };
  generators: { n: number; ai: number; real: number };
  /** Share of the fold's own validation images between the thresholds (null without those scores). */
  in_source_uncertain: number | null;
}

export interface CrossFoldReading {
  rows: CrossFoldRow[];
  pooled: HeldOutOperatingPoint['cross_fold'];
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

/** The REAL folds that kept their scores. */
function scoredFolds(report: HeldOutReport): Array<HeldOutFold & { scores: FoldScores }> {
  return report.folds.filter((fold): fold is HeldOutFold & { scores: FoldScores } => fold.held_out_real !== undefined && fold.scores !== undefined);
}

/** Thresholds from the pooled scores of `folds`: their held-out real photos and their generator images. */
function pooledThresholds(folds: ReadonlyArray<{ scores: FoldScores }>, targets: OperatingPointTargets): Thresholds {
  return thresholdsFor(
    folds.flatMap((fold) => fold.scores.held_out_real),
    folds.flatMap((fold) => fold.scores.generators),
    targets,
  );
}

/** Each scored fold at thresholds set on the other scored folds, and the pooled rates. Needs at least two scored folds. */
export function crossFoldReading(report: HeldOutReport, targets: OperatingPointTargets): CrossFoldReading {
  const folds = scoredFolds(report);
  if (folds.length < 2) throw new RangeError(`a cross-fold reading needs two REAL folds with scores; the report has ${folds.length}`);
  return readFolds(folds, (fold) =>
    pooledThresholds(
      folds.filter((other) => other !== fold),
      targets,
    ),
  );
}

/** Each scored fold at the same given thresholds (another way of answering, e.g. a band set elsewhere, read on the same scores). */
export function fixedThresholdReading(report: HeldOutReport, thresholds: Thresholds): CrossFoldReading {
  const folds = scoredFolds(report);
  if (folds.length === 0) throw new RangeError('the report has no REAL fold with scores');
  return readFolds(folds, () => thresholds);
}

function readFolds(folds: ReadonlyArray<HeldOutFold & { scores: FoldScores }>, thresholdsOf: (fold: HeldOutFold) => Thresholds): CrossFoldReading {
  const rows = folds.map((fold): CrossFoldRow => {
    const thresholds = thresholdsOf(fold);
    const count = (scores: readonly number[]) => ({
      n: scores.length,
      ai: scores.filter((p) => answerAt(p, thresholds) === 'ai').length,
      real: scores.filter((p) => answerAt(p, thresholds) === 'real').length,
    });
    const own = [...(fold.scores.in_source_real ?? []), ...(fold.scores.in_source_fake ?? [])];
    const between = own.filter((p) => answerAt(p, thresholds) === 'uncertain').length;
    return {
      fold: fold.fold,
      thresholds,
      real: count(fold.scores.held_out_real),
      generators: count(fold.scores.generators),
      in_source_uncertain: own.length === 0 ? null : between / own.length,
    };
  });
  const sum = (pick: (row: CrossFoldRow) => number) => rows.reduce((total, row) => total + pick(row), 0);
  const realN = sum((row) => row.real.n);
  const realAi = sum((row) => row.real.ai);
  const genN = sum((row) => row.generators.n);
  const genAi = sum((row) => row.generators.ai);
  const uncertain = rows.map((row) => row.in_source_uncertain).filter((value): value is number => value !== null);
  return {
    rows,
    pooled: {
      fpr: round4(realN === 0 ? 0 : realAi / realN),
      fpr_ci: wilsonInterval(realAi, realN),
      tpr: round4(genN === 0 ? 0 : genAi / genN),
      tpr_ci: wilsonInterval(genAi, genN),
      fnr: round4(genN === 0 ? 0 : sum((row) => row.generators.real) / genN),
      share_uncertain_in_source: uncertain.length === 0 ? null : round4(uncertain.reduce((total, value) => total + value, 0) / uncertain.length),
    },
  };
}

/**
 * The published model's thresholds from its held-out folds (every scored REAL fold pooled), with
 * the cross-fold reading as their estimate. Throws RangeError when fewer than two folds kept scores.
 */
export function heldOutThresholds(report: HeldOutReport, targets: OperatingPointTargets): { thresholds: Thresholds; heldOut: HeldOutOperatingPoint } {
  const folds = scoredFolds(report);
  const reading = crossFoldReading(report, targets);
  return {
    thresholds: pooledThresholds(folds, targets),
    heldOut: {
      folds: folds.map((fold) => fold.fold),
      real_images: folds.reduce((total, fold) => total + fold.scores.held_out_real.length, 0),
      generator_images: folds.reduce((total, fold) => total + fold.scores.generators.length, 0),
      cross_fold: reading.pooled,
    },
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
  const shifted = report.folds.filter((fold) => fold.held_out_real !== undefined && fold.held_out_real_shifted !== undefined);
  if (shifted.length > 0) {
    lines.push(
      '',
      "Off the grid (a diagnostic): each fold's held-out photos again, with their first rows and columns cut off so that the 8×8 grid of their last JPEG compression no longer starts where the patches do, at the fold's own thresholds.",
      '',
      '| fold | pixels cut | called AI as stored | called AI off the grid | ROC-AUC as stored | off the grid |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const fold of shifted) {
      const real = fold.held_out_real!;
      const off = fold.held_out_real_shifted!;
      lines.push(`| ${fold.fold} | ${off.shift} | ${pct(real.ai)} | ${pct(off.ai)} | ${auc(real.roc_auc_vs_generators)} | ${auc(off.roc_auc_vs_generators)} |`);
    }
  }
  const generators = Object.entries(summary.generators);
  if (generators.length === 0) lines.push('', 'No fold held a generator out: every fold trained on every generator folder.');
  else {
    lines.push('', '| held-out generator | ROC-AUC vs in-source real photos | called AI | images |', '| --- | ---: | ---: | ---: |');
    for (const [key, entry] of generators) lines.push(`| ${key} | ${auc(entry.rocAuc)} | ${pct(entry.calledAi)} | ${entry.n} |`);
  }
  const realAucs = Object.values(summary.realRocAuc);
  lines.push(
    '',
    '| target | reached |',
    '| --- | ---: |',
    `| mean held-out ROC-AUC ≥ 0.85 | ${auc(summary.meanRocAuc)}${generators.length === 0 ? ' (real collections only)' : ''} |`,
    `| every held-out real collection's ROC-AUC ≥ 0.80 | lowest ${auc(realAucs.length === 0 ? null : Math.min(...realAucs.map((value) => value ?? 0)))} |`,
    `| held-out real photos called AI ≤ 2 % | ${pct(summary.realCalledAi.share)} of ${summary.realCalledAi.n} |`,
    `| held-out generator images called AI ≥ 70 % | ${generators.length === 0 ? 'not measured (no generator held out)' : `${pct(summary.generatorsCalledAi.share)} of ${summary.generatorsCalledAi.n}`} |`,
    `| in-source uncertain ≤ 30 % | ${pct(summary.inSourceUncertain)} |`,
    '',
  );
  if (scoredFolds(report).length >= 2)
    lines.push(renderCrossFold(crossFoldReading(report, { target_fpr: report.targets.fpr, target_fnr: report.targets.fnr })), '');
  lines.push(`Command: \`${report.command}\``);
  return lines.join('\n');
}

/** Markdown: each fold at thresholds set on the other folds' held-out images, then the pooled rates. */
export function renderCrossFold(
  reading: CrossFoldReading,
  heading = "Thresholds set on held-out collections, read fold by fold: each fold at thresholds set on the *other* folds' held-out real photos (at most the target share called AI) and generator images (at most the target share called real), never on its own.",
): string {
  const share = (count: number, n: number) => (n === 0 ? 'n/a' : pct(count / n));
  const interval = (range: [number, number]) => `${pct(range[0])}–${pct(range[1])}`;
  const lines = [
    heading,
    '',
    '| fold | thresholds (real, AI) | held-out photos called AI | called real | generator images called AI | called real | own validation uncertain |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of reading.rows) {
    lines.push(
      `| ${row.fold} | ${row.thresholds.real_threshold}, ${row.thresholds.ai_threshold} | ${share(row.real.ai, row.real.n)} of ${row.real.n} | ${share(row.real.real, row.real.n)} | ${share(row.generators.ai, row.generators.n)} of ${row.generators.n} | ${share(row.generators.real, row.generators.n)} | ${row.in_source_uncertain === null ? 'n/a' : pct(row.in_source_uncertain)} |`,
    );
  }
  const pooled = reading.pooled;
  lines.push(
    '',
    `Pooled: held-out real photos called AI ${pct(pooled.fpr)} (95 % CI ${interval(pooled.fpr_ci)}); generator images called AI ${pct(pooled.tpr)} (95 % CI ${interval(pooled.tpr_ci)}), called real ${pct(pooled.fnr)}; own validation images uncertain ${pooled.share_uncertain_in_source === null ? 'n/a' : pct(pooled.share_uncertain_in_source)} (mean over folds).`,
  );
  return lines.join('\n');
}
