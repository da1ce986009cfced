/**
 * BigQueryDriftReader: the drift report from one BigQuery query per model over the external table
 * on the telemetry objects (terraform/bigquery.tf). The only importer of @google-cloud/bigquery.
 * The same code talks to BigQuery and to a local server speaking its REST API; only `apiEndpoint`
 * differs (requests carry Google credentials only when it is a googleapis.com host, as in
 * gcs-blob-store.ts).
 *
 * The query (bigquery-drift-query.ts) counts the window on the reference's grids and returns a few
 * thousand small rows whatever the window holds; the report is computed from them by
 * `computeDriftReportFromAggregates`. Nothing is sampled, and BigQuery bills the bytes of the
 * objects in the days the window touches (docs/deployment.md, "Drift over BigQuery").
 */
import type * as BigQueryModule from '@google-cloud/bigquery';
import type { BigQuery, BigQueryOptions } from '@google-cloud/bigquery';

/** The SDK, required when the first reader is made: instances reading drift from files never load it. */
function bigquerySdk(): typeof BigQueryModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@google-cloud/bigquery') as typeof BigQueryModule;
}
import { aggregatesFromRows, buildDriftQuery, driftTableFor, type DriftQueryParam, type DriftQueryRow } from './bigquery-drift-query';
import { computeDriftReportFromAggregates, driftGrids } from './drift-report';
import type { DriftReader, DriftReadInput, DriftReading } from './drift-reader';
import { AI_GENERATED_LABEL } from './reference';

export interface BigQueryDriftReaderOptions {
  /** `project.dataset.table`, where `{model}` stands for the model's name (BIGQUERY_TABLE). */
  table: string;
  /** Project that runs (and pays for) the query jobs; default: the credentials' project. */
  projectId?: string;
  /** REST endpoint, e.g. `http://127.0.0.1:9050` for a local server. Default: BigQuery. */
  apiEndpoint?: string;
}

export class BigQueryDriftReader implements DriftReader {
  private readonly client: BigQuery;

  constructor(private readonly options: BigQueryDriftReaderOptions) {
    driftTableFor(options.table, 'model'); // a bad template fails at cold start, naming itself
    const { BigQuery: Client } = bigquerySdk();
    this.client = new Client(clientOptions(options));
  }

  async read(input: DriftReadInput): Promise<DriftReading> {
    const { reference, start, end, now, thresholds } = input;
    const table = driftTableFor(this.options.table, reference.model.name);
    const grids = driftGrids(reference, thresholds);
    const { query, params, types } = buildDriftQuery({
      table,
      model: reference.model.name,
      version: reference.model.version,
      start,
      end,
      grids,
      aiGeneratedLabel: AI_GENERATED_LABEL,
    });
    const [rows, , response] = (await this.client.query({
      query,
      params: clientParams(params, types),
      types,
      useLegacySql: false,
    })) as unknown as [DriftQueryRow[], unknown, { totalBytesProcessed?: string; jobReference?: { jobId?: string } } | undefined];
    const aggregates = aggregatesFromRows(rows, grids, reference.model.version);
    const report = computeDriftReportFromAggregates({ reference, aggregates, now, window: { start, end }, thresholds });
    return {
      report,
      telemetry: {
        reader: 'bigquery',
        table,
        total_records: report.n,
        sampled: false,
        bytes_processed: response?.totalBytesProcessed === undefined ? null : Number(response.totalBytesProcessed),
        result_rows: rows.length,
      },
      corruptLines: 0,
      corruptExamples: [],
    };
  }
}

/**
 * The client sends TIMESTAMP and DATE parameters from its own value classes only (a plain string
 * of those types goes out empty), so those are wrapped here; strings and FLOAT64 arrays pass as they are.
 */
function clientParams(params: Record<string, DriftQueryParam>, types: Record<string, string | string[]>): Record<string, unknown> {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    const type = types[name];
    const { BigQuery: client } = bigquerySdk();
    wrapped[name] = type === 'TIMESTAMP' ? client.timestamp(value as string) : type === 'DATE' ? client.date(value as string) : value;
  }
  return wrapped;
}

function clientOptions(options: BigQueryDriftReaderOptions): BigQueryOptions {
  const client: BigQueryOptions = {};
  if (options.projectId !== undefined) client.projectId = options.projectId;
  if (options.apiEndpoint !== undefined) {
    client.apiEndpoint = options.apiEndpoint;
    // A local server gets no Google credentials: an auth client that adds no header (the client
    // library has no useAuthWithCustomEndpoint switch, unlike the Cloud Storage one).
    if (!isGoogleApisHost(options.apiEndpoint)) client.authClient = NO_CREDENTIALS as unknown as NonNullable<BigQueryOptions['authClient']>;
  }
  return client;
}

const NO_CREDENTIALS = { getRequestHeaders: () => Promise.resolve(new Headers()) };

function isGoogleApisHost(endpoint: string): boolean {
  try {
    const { hostname } = new URL(endpoint.includes('://') ? endpoint : `https://${endpoint}`);
    return hostname === 'googleapis.com' || hostname.endsWith('.googleapis.com');
  } catch {
    throw new TypeError(`invalid BigQuery apiEndpoint ${JSON.stringify(endpoint)}: use a URL like "http://127.0.0.1:9050"`);
  }
}
