import { round4 } from '../../src/operating-point';
import {
  crossFoldReading,
  fixedThresholdReading,
  heldOutThresholds,
  isHeldOutReport,
  renderHeldOut,
  summarizeHeldOut,
  type HeldOutReport,
} from '../../src/held-out-report';

const decisions = (n: number, ai: number, real: number) => ({ n, ai, real, uncertain: 1 - ai - real, ai_ci: [0, 1] as [number, number] });
const inSource = (uncertain: number) => ({ ...decisions(100, 0.5, 0.5 - uncertain), uncertain, ood_flagged: 0.05, patches_disagree: 0.01, roc_auc: 0.9 });

const report: HeldOutReport = {
  recipe: {},
  command: 'python3 -m training.heldout_eval …',
  targets: { fpr: 0.02, fnr: 0.02 },
  folds: [
    {
      fold: 'REAL/a',
      held_out: ['REAL/a'],
      operating_point: { ai_threshold: 0.8, real_threshold: 0.3 },
      in_source: inSource(0.2),
      held_out_real: { ...decisions(100, 0.01, 0.9), roc_auc_vs_generators: 0.9 },
      held_out_generators: { 'FAKE/g': { ...decisions(50, 0.8, 0.1), roc_auc: 0.95 } },
      seconds: 1,
    },
    {
      fold: 'REAL/b',
      held_out: ['REAL/b'],
      operating_point: { ai_threshold: 0.7, real_threshold: 0.2 },
      in_source: inSource(0.4),
      held_out_real: { ...decisions(300, 0.05, 0.8), roc_auc_vs_generators: 0.7 },
      held_out_generators: { 'FAKE/g': { ...decisions(50, 0.6, 0.1), roc_auc: 0.85 } },
      seconds: 1,
    },
  ],
};

describe('held-out report', () => {
  it('pools the rates by images and averages each generator over the folds that held it out', () => {
    const summary = summarizeHeldOut(report);
    expect(summary.realCalledAi.share).toBeCloseTo((0.01 * 100 + 0.05 * 300) / 400, 10);
    expect(summary.generators['FAKE/g']?.rocAuc).toBeCloseTo(0.9, 10);
    expect(summary.generators['FAKE/g']?.calledAi).toBeCloseTo(0.7, 10);
    expect(summary.generators['FAKE/g']?.n).toBe(100);
    expect(summary.inSourceUncertain).toBeCloseTo(0.3, 10);
    // Each source once: REAL/a 0.9, REAL/b 0.7, FAKE/g 0.9.
    expect(summary.meanRocAuc).toBeCloseTo((0.9 + 0.7 + 0.9) / 3, 10);
  });

  it('renders each fold and the targets with what was reached', () => {
    const text = renderHeldOut(report);
    expect(text).toContain('| REAL/b | 0.2, 0.7 | 5.0 % (0.0 %–100.0 %) of 300 |');
    expect(text).toContain('| held-out real photos called AI ≤ 2 % | 4.0 % of 400 |');
    expect(text).toContain("every held-out real collection's ROC-AUC ≥ 0.80 | lowest 0.700");
    expect(text).toContain('| held-out generator | ROC-AUC vs in-source real photos | called AI | images |');
  });

  it('says so when no fold held a generator out, instead of an empty table and a rate of nothing', () => {
    const realOnly: HeldOutReport = { ...report, folds: report.folds.map((fold) => ({ ...fold, held_out_generators: {} })) };
    const text = renderHeldOut(realOnly);
    expect(text).toContain('No fold held a generator out: every fold trained on every generator folder.');
    expect(text).not.toContain('| held-out generator |');
    expect(text).toContain('| held-out generator images called AI ≥ 70 % | not measured (no generator held out) |');
    expect(text).toContain('(real collections only)');
  });

  it('renders the off-the-grid diagnostic beside the held-out photos as stored', () => {
    const [first, second] = report.folds;
    const withShift: HeldOutReport = {
      ...report,
      folds: [{ ...first!, held_out_real_shifted: { ...decisions(100, 0.2, 0.5), shift: 4, roc_auc_vs_generators: 0.6 } }, second!],
    };
    expect(renderHeldOut(withShift)).toContain('| REAL/a | 4 | 1.0 % | 20.0 % | 0.900 | 0.600 |');
    expect(renderHeldOut(report)).not.toContain('Off the grid');
  });

  it('recognises only heldout_eval reports', () => {
    expect(isHeldOutReport(report)).toBe(true);
    expect(isHeldOutReport({ folds: [{ source: 'REAL/a' }] })).toBe(false);
  });
});

describe('thresholds set on held-out folds', () => {
  const targets = { target_fpr: 0.02, target_fnr: 0.02 };
  /** A fold with scores: its held-out real photos, the generator images it tested, its own validation split. */
  const scored = (fold: string, held: number[], generators: number[], own: number[] = []) => ({
    ...report.folds[0]!,
    fold,
    held_out: [fold],
    scores: { held_out_real: held, generators, in_source_real: own, in_source_fake: [] },
  });
  const folds = [
    scored('REAL/a', [0.1, 0.2, 0.3], [0.5, 0.9], [0.1, 0.45, 0.95]),
    scored('REAL/b', [0.4, 0.6], [0.7, 0.8]),
    scored('REAL/c', [0.05, 0.35], [0.2, 0.99]),
  ];
  const { held_out_real: _none, ...generatorFold } = report.folds[1]!;
  const withScores: HeldOutReport = { ...report, folds: [...folds, { ...generatorFold, fold: 'family:x' }] };

  it('pools every scored fold: no more than the target share of their real photos reach the AI threshold', () => {
    const { thresholds, heldOut } = heldOutThresholds(withScores, targets);
    // 7 real photos, 2 % of them rounds down to none: strictly above the highest, 0.6.
    expect(thresholds.ai_threshold).toBe(0.6001);
    // 6 generator images: none may fall below the real threshold, so it is the lowest, 0.2.
    expect(thresholds.real_threshold).toBe(0.2);
    expect(heldOut).toMatchObject({ folds: ['REAL/a', 'REAL/b', 'REAL/c'], real_images: 7, generator_images: 6 });
  });

  it('reads each fold at thresholds set on the other folds only', () => {
    const reading = crossFoldReading(withScores, targets);
    const a = reading.rows.find((row) => row.fold === 'REAL/a')!;
    // Set on b and c: AI above 0.6 (b's highest real photo), real below 0.2 (their lowest generator image).
    expect(a.thresholds).toEqual({ ai_threshold: 0.6001, real_threshold: 0.2 });
    expect(a.real).toEqual({ n: 3, ai: 0, real: 1 });
    expect(a.generators).toEqual({ n: 2, ai: 1, real: 0 });
    // Its own validation: 0.45 is between, 0.1 and 0.95 are decided.
    expect(a.in_source_uncertain).toBeCloseTo(1 / 3, 10);
    const b = reading.rows.find((row) => row.fold === 'REAL/b')!;
    // Set on a and c: AI above 0.35, real below 0.2: b's 0.4 and 0.6 are called AI.
    expect(b.thresholds).toEqual({ ai_threshold: 0.3501, real_threshold: 0.2 });
    expect(b.real).toEqual({ n: 2, ai: 2, real: 0 });
    expect(b.in_source_uncertain).toBeNull();
    expect(reading.pooled.fpr).toBeCloseTo(reading.rows.reduce((sum, row) => sum + row.real.ai, 0) / 7, 4);
    expect(reading.pooled.fpr_ci[0]).toBeLessThanOrEqual(reading.pooled.fpr);
    expect(reading.pooled.fpr_ci[1]).toBeGreaterThanOrEqual(reading.pooled.fpr);
  });

  it('renders the cross-fold reading with the report, and refuses to set thresholds from one fold', () => {
    expect(renderHeldOut(withScores)).toContain('| REAL/b | 0.2, 0.3501 | 100.0 % of 2 |');
    expect(() => heldOutThresholds({ ...report, folds: [folds[0]!] }, targets)).toThrow('needs two REAL folds with scores; the report has 1');
    expect(renderHeldOut(report)).not.toContain('Thresholds set on held-out collections');
  });

  it('reads every scored fold at the same fixed thresholds, for a band set elsewhere', () => {
    const reading = fixedThresholdReading(withScores, { real_threshold: 0.15, ai_threshold: 0.5 });
    expect(reading.rows.map((row) => row.fold)).toEqual(['REAL/a', 'REAL/b', 'REAL/c']);
    expect(reading.rows.every((row) => row.thresholds.ai_threshold === 0.5 && row.thresholds.real_threshold === 0.15)).toBe(true);
    // b's 0.6 is the only held-out real photo at or above 0.5; a's 0.1 and c's 0.05 are below 0.15.
    expect(reading.rows.map((row) => row.real)).toEqual([
      { n: 3, ai: 0, real: 1 },
      { n: 2, ai: 1, real: 0 },
      { n: 2, ai: 0, real: 1 },
    ]);
    expect(reading.pooled.fpr).toBe(round4(1 / 7));
    // Generators at or above 0.5: a's 0.5 and 0.9, b's 0.7 and 0.8, c's 0.99 (5 of 6).
    expect(reading.pooled.tpr).toBe(round4(5 / 6));
    expect(() => fixedThresholdReading(report, { real_threshold: 0.1, ai_threshold: 0.9 })).toThrow('the report has no REAL fold with scores');
  });
});
