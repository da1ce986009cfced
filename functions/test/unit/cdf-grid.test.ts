import { aggregateOnGrid, binSharesFromGrid, driftGrid, type GridAggregate, ksFromGrid, ksGridBound } from '../../src/monitoring/drift/cdf-grid';
import { computeDriftReport, computeDriftReportFromAggregates, driftGrids, type WindowAggregates } from '../../src/monitoring/drift/drift-report';
import { ksTwoSample } from '../../src/monitoring/drift/ks';
import { binShares, edgesFromQuantileGrid } from '../../src/monitoring/drift/psi';
import type { DriftReference } from '../../src/monitoring/drift/reference';
import { FEATURE_NAMES } from '../../src/monitoring/features/image-features';
import type { TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { mulberry32 } from '../../src/platform/seeded-random';
import { expectSameReport, generatedReference, generateTelemetry } from '../support/telemetry-fixtures';

/** Values on a lattice of `levels` points, so that ties within and across samples are common. */
function tiedSample(seed: number, n: number, levels: number, shift = 0): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor((random() + shift) * levels) / levels);
}

describe('KS on a grid', () => {
  it.each([
    ['continuous, same distribution', 1, 300, 1e9, 0],
    ['heavy ties, same distribution', 2, 300, 12, 0],
    ['heavy ties, shifted', 3, 500, 20, 0.1],
    ['continuous, shifted', 4, 2000, 1e9, 0.05],
  ])('%s: on the grid of the reference sample D and p are exactly ksTwoSample’s', (_name, seed, n, levels, shift) => {
    const sample = tiedSample(seed, n, levels).sort((x, y) => x - y);
    const current = tiedSample(seed + 100, 1500, levels, shift);
    const grid = driftGrid(sample, []);
    const aggregate = aggregateOnGrid(current, grid);
    const expected = ksTwoSample(sample, current);
    const got = ksFromGrid(sample, aggregate);
    expect(got).toEqual(expected);
    expect(ksGridBound(sample, aggregate)).toBe(0);
  });

  it('on a coarse grid D falls short by no more than the stated bound', () => {
    const sample = tiedSample(5, 2000, 1e9).sort((x, y) => x - y);
    const current = tiedSample(6, 3000, 1e9, 0.03);
    const exact = ksTwoSample(sample, current).statistic;
    for (const points of [5, 20, 100]) {
      const grid = Array.from({ length: points }, (_, k) => (k + 1) / (points + 1));
      const aggregate = aggregateOnGrid(current, grid);
      const onGrid = ksFromGrid(sample, aggregate).statistic;
      const bound = ksGridBound(sample, aggregate);
      expect(onGrid).toBeLessThanOrEqual(exact + 1e-12);
      expect(exact - onGrid).toBeLessThanOrEqual(bound + 1e-12);
      expect(bound).toBeGreaterThan(0);
    }
  });
});

describe('PSI bins on a grid', () => {
  it('gives the shares binShares gives on the raw values, ties on edges included', () => {
    const reference = tiedSample(7, 2000, 15).sort((x, y) => x - y);
    const quantiles = Array.from({ length: 101 }, (_, k) => reference[Math.min(1999, Math.floor((k / 100) * 1999))]!);
    const edges = edgesFromQuantileGrid(quantiles, 10);
    const current = tiedSample(8, 1234, 15, 0.05);
    const aggregate = aggregateOnGrid(current, driftGrid(reference, edges));
    expect(binSharesFromGrid(aggregate, edges)).toEqual(binShares(Float64Array.from(current).sort(), edges));
  });

  it('refuses an edge that is not a grid point', () => {
    const aggregate = aggregateOnGrid([0.1, 0.2], [0.15]);
    expect(() => binSharesFromGrid(aggregate, [0.3])).toThrow('PSI edge 0.3 is not a grid point');
  });
});

/** What the BigQuery query returns, computed here from records: the per-distribution grid counts. */
function aggregatesOf(records: readonly TelemetryRecord[], reference: DriftReference, start: Date, end: Date): WindowAggregates {
  const inWindow = records.filter((r) => r.model === reference.model.name && Date.parse(r.time) >= start.getTime() && Date.parse(r.time) < end.getTime());
  const same = inWindow.filter((r) => r.model_version === reference.model.version);
  const grids = driftGrids(reference);
  const versions: Record<string, number> = {};
  for (const r of inWindow) versions[r.model_version] = (versions[r.model_version] ?? 0) + 1;
  const features: Record<string, GridAggregate> = {};
  for (const [name, grid] of Object.entries(grids.features)) {
    features[name] = aggregateOnGrid(
      inWindow.map((r) => r.features[name as (typeof FEATURE_NAMES)[number]]),
      grid,
    );
  }
  return {
    versions_seen: versions,
    features,
    score: aggregateOnGrid(
      same.map((r) => r.probability),
      grids.score,
    ),
    ai_generated: same.filter((r) => r.prediction === 'ai_generated').length,
  };
}

describe('computeDriftReportFromAggregates', () => {
  const reference = generatedReference(3000);
  const start = new Date('2024-05-21T00:00:00.000Z');
  const end = new Date('2024-05-22T00:00:00.000Z');
  const now = end;

  it.each([
    ['no drift, two versions', generateTelemetry({ seed: 11, count: 3000, versions: ['1', '2'] })],
    ['brightness shifted', generateTelemetry({ seed: 12, count: 2500, brighten: 0.08 })],
    ['too few records of the version', generateTelemetry({ seed: 13, count: 400, versions: ['1', '2', '3'] })],
    ['too few records', generateTelemetry({ seed: 14, count: 150 })],
  ])('%s: the same report as from the records', (_name, records) => {
    const fromValues = computeDriftReport({ reference, records, now, window: { start, end } });
    const fromAggregates = computeDriftReportFromAggregates({
      reference,
      aggregates: aggregatesOf(records, reference, start, end),
      now,
      window: { start, end },
    });
    expectSameReport(fromAggregates, fromValues, 1e-12);
    expect(fromAggregates.reasons.length).toBe(fromValues.reasons.length);
  });

  it('flags the shifted window as the records do', () => {
    const records = generateTelemetry({ seed: 12, count: 2500, brighten: 0.08 });
    const report = computeDriftReportFromAggregates({ reference, aggregates: aggregatesOf(records, reference, start, end), now, window: { start, end } });
    expect(report.features.brightness?.status).toBe('drift');
  });

  it('refuses a score aggregate that disagrees with versions_seen', () => {
    const records = generateTelemetry({ seed: 11, count: 500 });
    const aggregates = { ...aggregatesOf(records, reference, start, end), versions_seen: { '1': 499 } };
    expect(() => computeDriftReportFromAggregates({ reference, aggregates, now, window: { start, end } })).toThrow('the score aggregate holds 500 values');
  });
});
