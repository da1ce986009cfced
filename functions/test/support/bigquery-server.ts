/**
 * A local BigQuery stand-in for tests: enough of the REST API (v2) for the real
 * @google-cloud/bigquery client pointed at it with `apiEndpoint: server.url`.
 *
 *   const server = await startBigQueryServer({ answer: driftAnswer(records) });
 *   server.queries;            // every query received: text and decoded parameters
 *   server.pendingPolls = 1;   // the next query is "still running" for one getQueryResults poll
 *   await server.close();
 *
 * Served: jobs.query (POST /bigquery/v2/projects/:project/queries), jobs.insert (POST …/jobs),
 * jobs.getQueryResults (GET …/queries/:jobId) and jobs.get (GET …/jobs/:jobId). Results carry a
 * schema and rows in BigQuery's JSON row format, `{ f: [{ v: '…' }] }`, every value a string (or
 * null), as the real API sends them. Anything else is answered 501. It does not parse SQL: `answer`
 * computes the result from the parameters the query was sent.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';

export type ParamValue = string | number[];

export interface ReceivedQuery {
  query: string;
  params: Record<string, ParamValue>;
  /** Declared parameter types, e.g. { start: 'TIMESTAMP', grid_score: 'ARRAY<FLOAT64>' }. */
  types: Record<string, string>;
}

export interface SchemaField {
  name: string;
  type: 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN';
}

export interface QueryAnswer {
  schema: SchemaField[];
  rows: Array<Array<string | number | boolean | null>>;
  totalBytesProcessed: number;
}

export interface BigQueryServer {
  readonly url: string;
  readonly queries: ReceivedQuery[];
  readonly requests: Array<{ method: string; path: string }>;
  /** getQueryResults polls the next query answers "not complete" before its rows. */
  pendingPolls: number;
  close(): Promise<void>;
}

export async function startBigQueryServer(options: { answer: (query: ReceivedQuery) => QueryAnswer }): Promise<BigQueryServer> {
  const queries: ReceivedQuery[] = [];
  const requests: Array<{ method: string; path: string }> = [];
  const jobs = new Map<string, { projectId: string; answer: QueryAnswer; polls: number }>();
  let nextJob = 1;

  const state: BigQueryServer = {
    url: '',
    queries,
    requests,
    pendingPolls: 0,
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };

  const results = (projectId: string, jobId: string, answer: QueryAnswer, complete: boolean) => ({
    kind: 'bigquery#queryResponse',
    jobReference: { projectId, jobId, location: 'EU' },
    jobComplete: complete,
    ...(complete
      ? {
          schema: { fields: answer.schema.map((field) => ({ ...field, mode: 'NULLABLE' })) },
          rows: answer.rows.map((row) => ({ f: row.map((v) => ({ v: v === null ? null : String(v) })) })),
          totalRows: String(answer.rows.length),
          totalBytesProcessed: String(answer.totalBytesProcessed),
          cacheHit: false,
        }
      : {}),
  });

  const start = (projectId: string, body: Record<string, unknown>): string => {
    const received = decodeQuery(body);
    queries.push(received);
    const jobId = `job_${nextJob++}`;
    jobs.set(jobId, { projectId, answer: options.answer(received), polls: state.pendingPolls });
    state.pendingPolls = 0;
    return jobId;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push({ method: req.method ?? '', path: url.pathname });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      try {
        const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        let match = /^\/bigquery\/v2\/projects\/([^/]+)\/queries$/.exec(url.pathname);
        if (req.method === 'POST' && match !== null) {
          const jobId = start(match[1]!, body);
          const job = jobs.get(jobId)!;
          send(200, results(job.projectId, jobId, job.answer, job.polls === 0));
          return;
        }
        match = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(url.pathname);
        if (req.method === 'POST' && match !== null) {
          const configuration = (body.configuration as { query?: Record<string, unknown> } | undefined)?.query ?? {};
          const jobId = start(match[1]!, configuration);
          send(200, { kind: 'bigquery#job', jobReference: { projectId: match[1], jobId, location: 'EU' }, status: { state: 'RUNNING' } });
          return;
        }
        match = /^\/bigquery\/v2\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(url.pathname);
        if (req.method === 'GET' && match !== null) {
          const job = jobs.get(match[2]!);
          if (job === undefined) return send(404, { error: { code: 404, message: `Not found: Job ${match[2]}`, status: 'NOT_FOUND' } });
          const complete = job.polls === 0;
          if (!complete) job.polls -= 1;
          send(200, results(job.projectId, match[2]!, job.answer, complete));
          return;
        }
        match = /^\/bigquery\/v2\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(url.pathname);
        if (req.method === 'GET' && match !== null) {
          const job = jobs.get(match[2]!);
          if (job === undefined) return send(404, { error: { code: 404, message: `Not found: Job ${match[2]}`, status: 'NOT_FOUND' } });
          send(200, {
            kind: 'bigquery#job',
            jobReference: { projectId: job.projectId, jobId: match[2], location: 'EU' },
            status: { state: job.polls === 0 ? 'DONE' : 'RUNNING' },
            statistics: { query: { totalBytesProcessed: String(job.answer.totalBytesProcessed) } },
          });
          return;
        }
        send(501, { error: { code: 501, message: `the BigQuery stand-in does not serve ${req.method} ${url.pathname}` } });
      } catch (error) {
        send(400, { error: { code: 400, message: (error as Error).message, status: 'INVALID_ARGUMENT' } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

interface RestParameter {
  name: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: unknown; arrayValues?: Array<{ value?: unknown }> };
}

/** The query text and its named parameters, decoded from the REST request's `queryParameters`. */
function decodeQuery(body: Record<string, unknown>): ReceivedQuery {
  if (typeof body.query !== 'string') throw new Error('query is missing');
  if (body.useLegacySql !== false) throw new Error('the stand-in answers standard SQL only (useLegacySql: false)');
  const params: Record<string, ParamValue> = {};
  const types: Record<string, string> = {};
  for (const parameter of (body.queryParameters ?? []) as RestParameter[]) {
    const { type, arrayType } = parameter.parameterType;
    if (type === 'ARRAY') {
      types[parameter.name] = `ARRAY<${arrayType?.type ?? '?'}>`;
      params[parameter.name] = (parameter.parameterValue.arrayValues ?? []).map((item) => Number(item.value));
    } else {
      types[parameter.name] = type;
      params[parameter.name] = String(parameter.parameterValue.value);
    }
  }
  return { query: body.query, params, types };
}

const DRIFT_SCHEMA: SchemaField[] = [
  { name: 'kind', type: 'STRING' },
  { name: 'name', type: 'STRING' },
  { name: 'cell', type: 'INTEGER' },
  { name: 'at_point', type: 'BOOLEAN' },
  { name: 'count', type: 'INTEGER' },
  { name: 'total', type: 'FLOAT' },
  { name: 'ai_generated', type: 'INTEGER' },
];

/**
 * Answers the drift query over `records` the way BigQuery would evaluate it, from its parameters:
 * records of @model with @start ≤ time < @end; per distribution (grid_<name>) the counts of values
 * per RANGE_BUCKET cell, split by whether the value is the cell's grid point; per version the count
 * and the ai_generated count. Bytes processed: the NDJSON bytes of the records in the dates touched.
 */
export function driftAnswer(records: readonly TelemetryRecord[]): (query: ReceivedQuery) => QueryAnswer {
  return ({ params }) => {
    const text = (name: string) => {
      const value = params[name];
      if (typeof value !== 'string') throw new Error(`parameter @${name} is missing`);
      return value;
    };
    const startMs = Date.parse(text('start'));
    const endMs = Date.parse(text('end'));
    const [startDate, endDate] = [text('start_date'), text('end_date')];
    const inDates = records.filter((r) => r.model === text('model') && r.time.slice(0, 10) >= startDate && r.time.slice(0, 10) <= endDate);
    const window = inDates.filter((r) => Date.parse(r.time) >= startMs && Date.parse(r.time) < endMs);
    const rows: QueryAnswer['rows'] = [];
    for (const [name, grid] of Object.entries(params)) {
      if (!name.startsWith('grid_') || !Array.isArray(grid)) continue;
      const distribution = name.slice('grid_'.length);
      const values =
        distribution === 'score'
          ? window.filter((r) => r.model_version === text('version')).map((r) => r.probability)
          : window.map((r) => (r.features as unknown as Record<string, number>)[distribution]!);
      const groups = new Map<string, { cell: number; atPoint: boolean; count: number; total: number }>();
      for (const v of values) {
        let cell = 0;
        while (cell < grid.length && grid[cell]! <= v) cell += 1;
        const atPoint = cell > 0 && grid[cell - 1] === v;
        const key = `${cell}:${atPoint}`;
        const group = groups.get(key) ?? { cell, atPoint, count: 0, total: 0 };
        group.count += 1;
        group.total += v;
        groups.set(key, group);
      }
      for (const g of groups.values()) rows.push(['cell', distribution, g.cell, g.atPoint, g.count, g.total, null]);
    }
    const versions = new Map<string, { count: number; ai: number }>();
    for (const r of window) {
      const v = versions.get(r.model_version) ?? { count: 0, ai: 0 };
      v.count += 1;
      if (r.prediction === text('ai_generated_label')) v.ai += 1;
      versions.set(r.model_version, v);
    }
    for (const [version, v] of versions) rows.push(['version', version, null, null, v.count, null, v.ai]);
    const bytes = inDates.reduce((total, r) => total + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    return { schema: DRIFT_SCHEMA, rows, totalBytesProcessed: bytes };
  };
}
