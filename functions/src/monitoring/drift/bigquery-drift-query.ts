/**
 * The one query the BigQuery drift reader runs per model and window, built by a pure function: SQL
 * text that never contains a value of the run (model, version, times and grids are all query
 * parameters) plus the parameters and their BigQuery types. Only the table name is part of the
 * text — BigQuery cannot take an identifier as a parameter — and it comes from configuration,
 * checked against `BIGQUERY_TABLE_PATTERN` before it gets here.
 *
 * The table is the external table over the telemetry objects of one model (terraform/bigquery.tf):
 * the NDJSON fields of telemetry-record.ts plus the Hive partition columns `dt` (DATE) and `hour`
 * (INTEGER) of `<model>/dt=YYYY-MM-DD/hour=HH/`. `dt BETWEEN @start_date AND @end_date` prunes
 * partitions, so a check reads the objects of the days the window touches and no others.
 *
 * It returns long-format rows, one per non-empty grid cell of each distribution plus one per model
 * version (`versionRows`/`cellRows` below say how `bigquery-drift-reader.ts` reads them):
 *   kind 'version': name = model_version, count = records, ai_generated = those predicted ai_generated
 *   kind 'cell':    name = distribution (score or a feature), cell = RANGE_BUCKET(value, grid),
 *                   at_point = value equals grid[cell - 1], count, total = SUM(value)
 * RANGE_BUCKET(v, grid) is the number of grid points ≤ v, the `cells` index of cdf-grid.ts.
 */
import type { GridAggregate } from './cdf-grid';
import type { DriftGrids, WindowAggregates } from './drift-report';

export interface DriftQueryInput {
  /** `project.dataset.table`, already validated. */
  table: string;
  model: string;
  /** The reference's version: the score is counted over its records only. */
  version: string;
  /** Inclusive. */
  start: Date;
  /** Exclusive. */
  end: Date;
  grids: DriftGrids;
  /** The prediction counted as ai_generated. */
  aiGeneratedLabel: string;
}

export type DriftQueryParam = string | number[];

export interface DriftQuery {
  query: string;
  /** Named parameters (@name in the text): strings and arrays of FLOAT64. */
  params: Record<string, DriftQueryParam>;
  /** BigQuery type of each parameter, so that [1000, 1200] is sent as ARRAY<FLOAT64>, not INT64. */
  types: Record<string, string | string[]>;
}

/** `project.dataset.table`: a project id, then dataset and table names of letters, digits and '_'. */
export const BIGQUERY_TABLE_PATTERN = /^[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_]{1,1024}$/;

/** The table of `model` named by a BIGQUERY_TABLE value: `{model}` is replaced, '-' becoming '_'. */
export function driftTableFor(template: string, model: string): string {
  const table = template.replace(/\{model\}/g, model.replace(/-/g, '_'));
  if (!BIGQUERY_TABLE_PATTERN.test(table)) {
    throw new RangeError(`BigQuery table ${JSON.stringify(table)} is not project.dataset.table (letters, digits and '_' in dataset and table)`);
  }
  return table;
}

/** The parameter name of a distribution's grid: `grid_score`, `grid_brightness`, … */
export function gridParam(distribution: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(distribution)) throw new RangeError(`distribution name ${JSON.stringify(distribution)} cannot name a query parameter`);
  return `grid_${distribution}`;
}

export function buildDriftQuery(input: DriftQueryInput): DriftQuery {
  if (!BIGQUERY_TABLE_PATTERN.test(input.table)) throw new RangeError(`table ${JSON.stringify(input.table)} is not project.dataset.table`);
  if (!(input.start.getTime() < input.end.getTime())) throw new RangeError('start must be before end');
  // Feature names become column paths and string literals of the text: names of FEATURE_NAMES only.
  const features = Object.keys(input.grids.features);
  for (const feature of features) gridParam(feature);
  const distributions = [
    `    SELECT 'score' AS distribution, probability AS value, @${gridParam('score')} AS grid FROM in_window WHERE model_version = @version`,
    ...features.map((feature) => `    SELECT '${feature}', features.${feature}, @${gridParam(feature)} FROM in_window`),
  ];
  const query = [
    'WITH in_window AS (',
    '  SELECT model_version, prediction, probability, features',
    `  FROM \`${input.table}\``,
    '  WHERE dt BETWEEN @start_date AND @end_date',
    '    AND model = @model',
    '    AND time >= @start AND time < @end',
    '),',
    'observed AS (',
    distributions.join('\n    UNION ALL\n'),
    '),',
    'bucketed AS (',
    '  SELECT distribution, value, RANGE_BUCKET(value, grid) AS cell,',
    '    IFNULL(value = grid[SAFE_OFFSET(RANGE_BUCKET(value, grid) - 1)], FALSE) AS at_point',
    '  FROM observed',
    '  WHERE value IS NOT NULL AND NOT IS_NAN(value)',
    ')',
    "SELECT 'cell' AS kind, distribution AS name, cell, at_point,",
    '  COUNT(*) AS count, SUM(value) AS total, NULL AS ai_generated',
    'FROM bucketed',
    'GROUP BY distribution, cell, at_point',
    'UNION ALL',
    "SELECT 'version', model_version, NULL, NULL, COUNT(*), NULL, COUNTIF(prediction = @ai_generated_label)",
    'FROM in_window',
    'GROUP BY model_version',
  ].join('\n');

  const params: Record<string, DriftQueryParam> = {
    model: input.model,
    version: input.version,
    start: input.start.toISOString(),
    end: input.end.toISOString(),
    start_date: input.start.toISOString().slice(0, 10),
    // The last day holding a record before `end` (exclusive): end - 1 ms.
    end_date: new Date(input.end.getTime() - 1).toISOString().slice(0, 10),
    ai_generated_label: input.aiGeneratedLabel,
    [gridParam('score')]: [...input.grids.score],
  };
  const types: Record<string, string | string[]> = {
    model: 'STRING',
    version: 'STRING',
    start: 'TIMESTAMP',
    end: 'TIMESTAMP',
    start_date: 'DATE',
    end_date: 'DATE',
    ai_generated_label: 'STRING',
    [gridParam('score')]: ['FLOAT64'],
  };
  for (const feature of features) {
    params[gridParam(feature)] = [...(input.grids.features[feature] as number[])];
    types[gridParam(feature)] = ['FLOAT64'];
  }
  return { query, params, types };
}

/** One row of the query's result, as the client returns it (INT64 as number, NULL as null). */
export interface DriftQueryRow {
  kind: string;
  name: string;
  cell: number | null;
  at_point: boolean | null;
  count: number;
  total: number | null;
  ai_generated: number | null;
}

/** The query's rows as the report's `WindowAggregates`; a row that does not fit the grids is an error. */
export function aggregatesFromRows(rows: readonly DriftQueryRow[], grids: DriftGrids, version: string): WindowAggregates {
  const versions: Record<string, number> = {};
  let aiGenerated = 0;
  const distributions = new Map<string, { grid: readonly number[]; cells: number[]; at_points: number[]; sum: number }>();
  const empty = (grid: readonly number[]) => ({
    grid,
    cells: new Array<number>(grid.length + 1).fill(0),
    at_points: new Array<number>(grid.length + 1).fill(0),
    sum: 0,
  });
  distributions.set('score', empty(grids.score));
  for (const [feature, grid] of Object.entries(grids.features)) distributions.set(feature, empty(grid));
  for (const row of rows) {
    if (!Number.isInteger(row.count) || row.count < 0) throw new RangeError(`row ${JSON.stringify(row)} has no valid count`);
    if (row.kind === 'version') {
      versions[row.name] = (versions[row.name] ?? 0) + row.count;
      if (row.name === version) aiGenerated += row.ai_generated ?? 0;
      continue;
    }
    const target = distributions.get(row.name);
    if (row.kind !== 'cell' || target === undefined || row.cell === null || !Number.isInteger(row.cell) || row.cell < 0 || row.cell > target.grid.length) {
      throw new RangeError(`unexpected row ${JSON.stringify(row)} in the drift query's result`);
    }
    target.cells[row.cell] = (target.cells[row.cell] as number) + row.count;
    if (row.at_point === true) target.at_points[row.cell] = (target.at_points[row.cell] as number) + row.count;
    target.sum += row.total ?? 0;
  }
  const features: Record<string, GridAggregate> = {};
  for (const feature of Object.keys(grids.features)) features[feature] = distributions.get(feature) as GridAggregate;
  return { versions_seen: versions, features, score: distributions.get('score') as GridAggregate, ai_generated: aiGenerated };
}
