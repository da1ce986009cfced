import { type ChampionResult, decideGate, DEFAULT_GATE, gateAnswers, type GateThresholds } from '../../src/gate';
import { answersBySource } from '../../src/sources';

/** The gate's reading of labelled scores answered at `realThreshold` / `aiThreshold`. */
const answersAt = (labels: ReadonlyArray<0 | 1>, probabilities: readonly number[], realThreshold: number, aiThreshold: number) =>
  gateAnswers(
    answersBySource(
      labels.map((label, i) => ({ path: `val/${label === 1 ? 'FAKE' : 'REAL'}/${i}.jpg`, label, probability: probabilities[i]! })),
      realThreshold,
      aiThreshold,
    ),
  );
import { binaryMetrics, type BinaryMetrics } from '../../src/evaluation-metrics';

/** Metrics with the given headline numbers (the rest from a small real computation). */
function metrics(overrides: Partial<BinaryMetrics>): BinaryMetrics {
  return { ...binaryMetrics([1, 0], [0.9, 0.1]), ...overrides };
}

const good = metrics({ accuracy: 0.95, roc_auc: 0.98, precision: 0.94, recall: 0.96, f1: 0.95, ece: 0.03, n: 1000 });
const champion = (overrides: Partial<BinaryMetrics>): ChampionResult => ({ version: '20260101T000000Z-aaaaaaaa', metrics: metrics({ ...good, ...overrides }) });

describe('decideGate', () => {
  it.each<
    [string, Partial<BinaryMetrics>, ChampionResult | null, Partial<GateThresholds>, { drop_points: number; quality: number } | null, boolean, string | null]
  >([
    ['passes with no production version', {}, null, {}, null, true, null],
    ['fails below the minimum accuracy', { accuracy: 0.79 }, null, {}, null, false, 'accuracy 0.7900 < 0.8000'],
    ['fails below the minimum ROC-AUC', { roc_auc: 0.8 }, null, {}, null, false, 'ROC-AUC 0.8000 < 0.8500'],
    ['fails when ROC-AUC is undefined (one class)', { roc_auc: null }, null, {}, null, false, 'ROC-AUC n/a < 0.8500 (undefined: one class only)'],
    ['fails above the maximum ECE', { ece: 0.12 }, null, {}, null, false, 'ECE 0.1200 > 0.1000'],
    ['checks precision only when asked', { precision: 0.5 }, null, {}, null, true, null],
    ['fails below a requested precision', { precision: 0.5 }, null, { minPrecision: 0.9 }, null, false, 'precision 0.5000 < 0.9000'],
    ['fails below a requested recall', { recall: 0.5 }, null, { minRecall: 0.6 }, null, false, 'recall 0.5000 < 0.6000'],
    [
      'fails on a large JPEG accuracy drop',
      {},
      null,
      {},
      { drop_points: 12.5, quality: 75 },
      false,
      'accuracy drops 12.50 points when re-encoded as JPEG q75 (> 10)',
    ],
    ['passes a small JPEG accuracy drop', {}, null, {}, { drop_points: 2, quality: 75 }, true, null],
    ['passes when as good as production', {}, champion({}), {}, null, true, null],
    ['passes when better than production', {}, champion({ accuracy: 0.9, roc_auc: 0.95 }), {}, null, true, null],
    [
      'fails when worse than production on accuracy',
      {},
      champion({ accuracy: 0.951 }),
      {},
      null,
      false,
      "accuracy 0.9500 vs production 20260101T000000Z-aaaaaaaa's 0.9510 on the same 1000 images",
    ],
    [
      'fails when worse than production on ROC-AUC',
      {},
      champion({ roc_auc: 0.99 }),
      {},
      null,
      false,
      "ROC-AUC 0.9800 vs production 20260101T000000Z-aaaaaaaa's 0.9900 on the same 1000 images",
    ],
    ['allows a configured tolerance', {}, champion({ accuracy: 0.955 }), { championTolerance: 0.01 }, null, true, null],
    ['compares only the configured metrics', {}, champion({ roc_auc: 0.99 }), { championMetrics: ['accuracy'] }, null, true, null],
    [
      'compares F1 when asked',
      { f1: 0.9 },
      champion({ f1: 0.92 }),
      { championMetrics: ['f1'] },
      null,
      false,
      "F1 0.9000 vs production 20260101T000000Z-aaaaaaaa's 0.9200 on the same 1000 images",
    ],
    [
      'fails when production cannot be evaluated',
      {},
      { version: 'v7', error: 'model.onnx is missing' },
      {},
      null,
      false,
      'production version v7 could not be evaluated (model.onnx is missing); fix it, or pass --no-champion to publish without the comparison',
    ],
  ])('%s', (_name, challengerOverrides, current, thresholdOverrides, robustness, passed, reason) => {
    const decision = decideGate(
      { split: 'test', challenger: { ...good, ...challengerOverrides }, champion: current, robustness },
      { ...DEFAULT_GATE, ...thresholdOverrides },
    );
    expect(decision.passed).toBe(passed);
    expect(decision.split).toBe('test');
    if (reason === null) expect(decision.reasons).toEqual([]);
    else expect(decision.reasons).toEqual([reason]);
  });

  it('lists every failed check, not just the first', () => {
    const decision = decideGate({ split: 'val', challenger: { ...good, accuracy: 0.5, ece: 0.3 }, champion: champion({}), robustness: null });
    expect(decision.reasons).toHaveLength(3);
    expect(decision.checks.filter((check) => !check.passed).map((check) => check.name)).toEqual([
      'accuracy',
      'ECE',
      'accuracy vs production 20260101T000000Z-aaaaaaaa',
    ]);
  });

  it('says when the comparison was switched off', () => {
    const decision = decideGate({ split: 'val', challenger: good, champion: null, championSkipped: true, robustness: null });
    expect(decision.passed).toBe(true);
    expect(decision.checks.at(-1)?.detail).toBe('comparison with production switched off (--no-champion)');
  });

  it('refuses nonsensical thresholds, naming them', () => {
    expect(() => decideGate({ split: 'val', challenger: good, champion: null, robustness: null }, { ...DEFAULT_GATE, minAccuracy: 80 })).toThrow(
      'minAccuracy is 80; it must be between 0 and 1',
    );
    expect(() =>
      decideGate({ split: 'val', challenger: good, champion: null, robustness: null }, { ...DEFAULT_GATE, championMetrics: ['speed' as never] }),
    ).toThrow('championMetrics has unknown metric(s) speed');
  });

  describe('a challenger answering at an operating point', () => {
    // Six images: two real photos below 0.1, one real at 0.5 (uncertain), fakes at 0.97, 0.99 and 0.3 (uncertain).
    const labels: Array<0 | 1> = [0, 0, 0, 1, 1, 1];
    const probabilities = [0.02, 0.05, 0.5, 0.97, 0.99, 0.3];
    // Binary accuracy at the AI threshold 0.95 counts both uncertain images as `real`: 5 of 6 right, by accident of the fake at 0.3 being called real.
    const atThreshold = metrics({ ...good, accuracy: 0.6 });

    it('counts only the images it decides, and says how many', () => {
      const answers = answersAt(labels, probabilities, 0.1, 0.95);
      expect(answers).toEqual({ n: 6, decided: 4, accuracy: 1, real_threshold: 0.1, ai_threshold: 0.95 });
      expect(answersAt(labels, [0.02, 0.05, 0.96, 0.97, 0.99, 0.05], 0.1, 0.95).accuracy).toBe(4 / 6);
      expect(() => answersAt(labels, probabilities, 0.96, 0.95)).toThrow('the real threshold 0.96 is above the AI threshold 0.95');
    });

    it('is judged on the accuracy of its answers, not at one threshold', () => {
      const decision = decideGate({
        split: 'val',
        challenger: atThreshold,
        champion: null,
        robustness: null,
        answers: answersAt(labels, probabilities, 0.1, 0.95),
      });
      expect(decision.passed).toBe(true);
      expect(decision.checks[0]).toMatchObject({ name: 'accuracy of its answers', passed: true, value: 1 });
      expect(decision.checks[0]?.detail).toBe(
        'accuracy of its answers 1.0000 ≥ 0.8000 (it decides 4 of 6 images, 66.7 %, at P(AI) < 0.1 or ≥ 0.95; the others are uncertain)',
      );
      // The same scores without the operating point fail on accuracy at the threshold.
      expect(decideGate({ split: 'val', challenger: atThreshold, champion: null, robustness: null }).reasons).toEqual(['accuracy 0.6000 < 0.8000']);
    });

    it('fails when it decides nothing, saying so', () => {
      const decision = decideGate({ split: 'val', challenger: good, champion: null, robustness: null, answers: answersAt(labels, probabilities, 0.01, 0.999) });
      expect(decision.reasons).toEqual(['accuracy of its answers n/a < 0.8000: it decides none of the 6 images (all between its thresholds 0.01 and 0.999)']);
    });

    it("compares its answers' accuracy with a production version that also answers at an operating point", () => {
      const ours = answersAt(labels, [0.02, 0.05, 0.96, 0.97, 0.99, 0.05], 0.1, 0.95);
      const theirs = answersAt(labels, probabilities, 0.1, 0.95);
      const decision = decideGate(
        {
          split: 'val',
          challenger: good,
          champion: { version: 'v1', metrics: good, answers: theirs },
          robustness: null,
          answers: ours,
        },
        { ...DEFAULT_GATE, minAccuracy: 0.5 },
      );
      expect(decision.passed).toBe(false);
      expect(decision.reasons).toEqual([
        "accuracy of its answers 0.6667 (it decides 6 of 6 images, 100.0 %, at P(AI) < 0.1 or ≥ 0.95) vs production v1's 1.0000 (4 of 6 images, 66.7 %, at P(AI) < 0.1 or ≥ 0.95)",
      ]);
      expect(
        decideGate({ split: 'val', challenger: good, champion: { version: 'v1', metrics: good, answers: ours }, robustness: null, answers: theirs }).passed,
      ).toBe(true);
    });

    it('does not compare accuracy with a production version answering by a band, but still compares ROC-AUC', () => {
      const answers = answersAt(labels, probabilities, 0.1, 0.95);
      const decision = decideGate({ split: 'val', challenger: good, champion: champion({ accuracy: 0.99, roc_auc: 0.99 }), robustness: null, answers });
      expect(decision.checks.find((check) => check.name === 'accuracy of its answers vs production 20260101T000000Z-aaaaaaaa')).toMatchObject({
        passed: true,
        detail:
          'accuracy not compared with production 20260101T000000Z-aaaaaaaa: it answers with an uncertainty band, not at an operating point, so the two decide different images by different rules (ROC-AUC is compared)',
      });
      expect(decision.reasons).toEqual(["ROC-AUC 0.9800 vs production 20260101T000000Z-aaaaaaaa's 0.9900 on the same 1000 images"]);
    });
  });
});
