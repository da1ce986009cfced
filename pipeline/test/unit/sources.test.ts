import { isLosoReport, isProbeReport, type LosoReport, losoSummary, renderGeneralization } from '../../src/generalization';
import { answersBySource, metricsBySource, sourceKey, sourceOf } from '../../src/sources';

describe('the source level of the dataset contract', () => {
  it.each([
    ['train/FAKE/sd/x.jpg', 'sd'],
    ['val/REAL/grocery/deep/er/x.jpg', 'grocery'],
    ['train/REAL/x.jpg', 'default'],
  ])('%s belongs to %s', (key, source) => {
    expect(sourceOf(key)).toBe(source);
  });

  it('keys sources by class', () => {
    expect(sourceKey('val/FAKE/sd/x.jpg', 1)).toBe('FAKE/sd');
    expect(sourceKey('val/REAL/food/x.jpg', 0)).toBe('REAL/food');
  });

  it('computes every metric per source over the scored items, sorted', () => {
    const items = [
      { path: 'val/REAL/a/1.jpg', label: 0 as const, probability: 0.1 },
      { path: 'val/REAL/a/2.jpg', label: 0 as const, probability: 0.9 },
      { path: 'val/REAL/b/1.jpg', label: 0 as const, probability: null },
      { path: 'val/FAKE/g/1.jpg', label: 1 as const, probability: 0.8 },
    ];
    const bySource = metricsBySource(items, 0.5);
    expect(Object.keys(bySource)).toEqual(['FAKE/g', 'REAL/a']);
    expect(bySource['REAL/a']).toMatchObject({ n: 2, accuracy: 0.5, roc_auc: null });
    expect(bySource['FAKE/g']).toMatchObject({ n: 1, accuracy: 1 });
  });

  it("counts an operating point's answers per class and per source: real below one threshold, AI at or above the other", () => {
    const items = [
      { path: 'val/REAL/a/1.jpg', label: 0 as const, probability: 0.05 },
      { path: 'val/REAL/a/2.jpg', label: 0 as const, probability: 0.5 },
      { path: 'val/REAL/a/3.jpg', label: 0 as const, probability: 0.95 },
      { path: 'val/REAL/b/1.jpg', label: 0 as const, probability: null },
      { path: 'val/FAKE/g/1.jpg', label: 1 as const, probability: 0.1 },
      { path: 'val/FAKE/g/2.jpg', label: 1 as const, probability: 0.99 },
    ];
    const answers = answersBySource(items, 0.1, 0.95);
    expect(answers.byClass).toEqual({ real: { n: 3, real: 1, uncertain: 1, ai: 1 }, ai: { n: 2, real: 0, uncertain: 1, ai: 1 } });
    // 0.1 is not below the real threshold (uncertain); 0.95 is at the AI threshold (AI).
    expect(answers.bySource).toEqual({ 'FAKE/g': { n: 2, real: 0, uncertain: 1, ai: 1 }, 'REAL/a': { n: 3, real: 1, uncertain: 1, ai: 1 } });
    expect(answersBySource([{ path: 'val/REAL/x.jpg', label: 0, probability: 0.2 }], 0.1, 0.9).bySource).toEqual({});
  });

  it('is empty for a dataset without a source level', () => {
    expect(metricsBySource([{ path: 'val/REAL/1.jpg', label: 0, probability: 0.2 }], 0.5)).toEqual({});
  });
});

const fold = (source: string, auc: number | null, wrong: number) => ({
  source,
  held_out_images: 10,
  in_source_val: { accuracy: 0.9, roc_auc: 0.95, coverage: 0.95, n: 100 },
  threshold: 0.5,
  original: { roc_auc: auc, accuracy: 0.8, coverage: 0.9, wrong },
  jpeg75: { roc_auc: auc, accuracy: 0.7, coverage: 0.9, wrong },
  long512: { roc_auc: auc, accuracy: 0.8, coverage: 0.9, wrong, identity: true },
  half: { roc_auc: 0.5, accuracy: 0.5, coverage: 0.5, wrong: 0.3 },
});

describe('leave-one-source-out in the model card', () => {
  const report: LosoReport = {
    recipe: { epochs: 3, samples_per_epoch: 4000, representation: 'npr', width: 16 },
    folds: [fold('FAKE/sd', 0.9, 0.1), fold('REAL/food', 0.7, 0.3)],
  };

  it('recognises its reports', () => {
    expect(isLosoReport(report)).toBe(true);
    expect(isLosoReport({ folds: [{ source: 1 }] })).toBe(false);
    expect(isProbeReport({ file_features: { val_accuracy: 0.6 } })).toBe(true);
    expect(isProbeReport({})).toBe(false);
  });

  it('means the held-out numbers over the folds', () => {
    const summary = losoSummary(report);
    expect(summary.roc_auc).toBeCloseTo(0.8, 10);
    expect(summary.wrong).toBeCloseTo(0.2, 10);
    expect(summary.coverage).toBeCloseTo(0.9, 10);
  });

  it('renders the table, the robustness rows and the probes, and says when they are missing', () => {
    const text = renderGeneralization(report, {
      file_features: { features: ['width'], classifier: 'a tree', val_accuracy: 0.61, chance: 0.5, n_train: 10, n_val: 5 },
      source_probe: { sources: ['a', 'b'], val_accuracy: 0.9, chance: 0.5, n_train: 10, n_val: 4 },
    }).join('\n');
    expect(text).toContain('| FAKE/sd | 10 | 0.900 | 80.0 % | 90.0 % | 10.0 % | 90.0 % | 95.0 % |');
    expect(text).toContain('| **mean** |  | **0.800** |');
    expect(text).toContain('no image here is larger, so that row equals the original');
    expect(text).toContain('label 61.0 % of 5 validation images');
    expect(text).toContain('apart on 90.0 % of 4 validation photos');
    const empty = renderGeneralization(null, null).join('\n');
    expect(empty).toContain('nothing is known about images from other sources');
    expect(empty).toContain('no shortcut probes');
  });
});
