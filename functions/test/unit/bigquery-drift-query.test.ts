import * as fs from 'node:fs';
import * as path from 'node:path';
import { aggregatesFromRows, buildDriftQuery, driftTableFor } from '../../src/monitoring/drift/bigquery-drift-query';

const GOLDEN = path.join(__dirname, '..', 'fixtures', 'bigquery', 'drift-query.sql');
const input = {
  table: 'my-project.detector_telemetry.telemetry_shoes',
  model: "shoes' OR 1=1 --",
  version: '3',
  start: new Date('2024-05-21T06:00:00.000Z'),
  end: new Date('2024-05-22T06:00:00.000Z'),
  grids: { score: [0.1, 0.5, 0.9], features: { width: [640, 1000], brightness: [0.25, 0.5] } },
  aiGeneratedLabel: 'ai_generated',
};

describe('buildDriftQuery', () => {
  it('builds the golden SQL, with every value of the run a parameter', () => {
    const { query, params, types } = buildDriftQuery(input);
    expect(`${query}\n`).toBe(fs.readFileSync(GOLDEN, 'utf8'));
    expect(query).not.toContain('OR 1=1');
    expect(query).not.toContain('2024-05');
    expect(params).toEqual({
      model: "shoes' OR 1=1 --",
      version: '3',
      start: '2024-05-21T06:00:00.000Z',
      end: '2024-05-22T06:00:00.000Z',
      start_date: '2024-05-21',
      end_date: '2024-05-22',
      ai_generated_label: 'ai_generated',
      grid_score: [0.1, 0.5, 0.9],
      grid_width: [640, 1000],
      grid_brightness: [0.25, 0.5],
    });
    expect(types).toEqual({
      model: 'STRING',
      version: 'STRING',
      start: 'TIMESTAMP',
      end: 'TIMESTAMP',
      start_date: 'DATE',
      end_date: 'DATE',
      ai_generated_label: 'STRING',
      grid_score: ['FLOAT64'],
      grid_width: ['FLOAT64'],
      grid_brightness: ['FLOAT64'],
    });
  });

  it.each([
    ['a window ending at midnight reads the days before it only', '2024-05-21T00:00:00.000Z', '2024-05-23T00:00:00.000Z', '2024-05-21', '2024-05-22'],
    ['a one-hour window reads its day', '2024-05-21T10:00:00.000Z', '2024-05-21T11:00:00.000Z', '2024-05-21', '2024-05-21'],
  ])('%s', (_name, start, end, startDate, endDate) => {
    const { params } = buildDriftQuery({ ...input, start: new Date(start), end: new Date(end) });
    expect([params.start_date, params.end_date]).toEqual([startDate, endDate]);
  });

  it.each([
    ['a table that is not project.dataset.table', { table: 'dataset.table' }, 'is not project.dataset.table'],
    ['a table with SQL in it', { table: 'my-project.ds.t` WHERE 1=1 --' }, 'is not project.dataset.table'],
    ['a feature name that is not an identifier', { grids: { score: [0.5], features: { 'x) OR (1': [1] } } }, 'cannot name a query parameter'],
    ['an empty window', { end: new Date('2024-05-21T06:00:00.000Z') }, 'start must be before end'],
  ])('refuses %s', (_name, change, message) => {
    expect(() => buildDriftQuery({ ...input, ...change })).toThrow(message);
  });
});

describe('driftTableFor', () => {
  it.each([
    ['my-project.ds.telemetry_{model}', 'shoes', 'my-project.ds.telemetry_shoes'],
    ['my-project.ds.telemetry_{model}', 'product-photos', 'my-project.ds.telemetry_product_photos'],
    ['my-project.ds.telemetry', 'shoes', 'my-project.ds.telemetry'],
  ])('%s for %s is %s', (template, model, table) => {
    expect(driftTableFor(template, model)).toBe(table);
  });
});

describe('aggregatesFromRows', () => {
  const grids = { score: [0.5], features: { width: [640, 1000] } };
  it('adds the rows up per distribution and version', () => {
    const rows = [
      { kind: 'version', name: '3', cell: null, at_point: null, count: 5, total: null, ai_generated: 2 },
      { kind: 'version', name: '2', cell: null, at_point: null, count: 4, total: null, ai_generated: 4 },
      { kind: 'cell', name: 'score', cell: 0, at_point: false, count: 3, total: 0.6, ai_generated: null },
      { kind: 'cell', name: 'score', cell: 1, at_point: true, count: 1, total: 0.5, ai_generated: null },
      { kind: 'cell', name: 'score', cell: 1, at_point: false, count: 1, total: 0.9, ai_generated: null },
      { kind: 'cell', name: 'width', cell: 1, at_point: true, count: 9, total: 5760, ai_generated: null },
    ];
    expect(aggregatesFromRows(rows, grids, '3')).toEqual({
      versions_seen: { '3': 5, '2': 4 },
      ai_generated: 2,
      score: { grid: [0.5], cells: [3, 2], at_points: [0, 1], sum: 2 },
      features: { width: { grid: [640, 1000], cells: [0, 9, 0], at_points: [0, 9, 0], sum: 5760 } },
    });
  });

  it('refuses a row outside the grids', () => {
    const rows = [{ kind: 'cell', name: 'width', cell: 3, at_point: false, count: 1, total: 1, ai_generated: null }];
    expect(() => aggregatesFromRows(rows, grids, '3')).toThrow('unexpected row');
  });
});
