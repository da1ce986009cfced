import { isHeldOutReport, renderHeldOut, summarizeHeldOut, type HeldOutReport } from '../../src/held-out-report';

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
  });

  it('recognises only heldout_eval reports', () => {
    expect(isHeldOutReport(report)).toBe(true);
    expect(isHeldOutReport({ folds: [{ source: 'REAL/a' }] })).toBe(false);
  });
});
