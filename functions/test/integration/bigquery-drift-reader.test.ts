/**
 * The BigQuery drift reader against a local stand-in speaking BigQuery's REST API, through the real
 * @google-cloud/bigquery client (only the endpoint differs from production), and its equivalence
 * with the file reader: on the same telemetry both give the same report — PSI, KS D and p-values
 * identical (the grids hold every PSI edge and every reference sample value, so ks_grid_bound is 0),
 * means within 1e-12 relative (the stand-in sums values in another order than the file reader).
 */
import { BigQueryDriftReader } from '../../src/monitoring/drift/bigquery-drift-reader';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/monitoring/drift/drift-report';
import { FileDriftReader } from '../../src/monitoring/drift/file-drift-reader';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { serializeRecords, telemetryObjectKey, type TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { type BigQueryServer, driftAnswer, startBigQueryServer } from '../support/bigquery-server';
import { expectSameReport, generatedReference, generateTelemetry } from '../support/telemetry-fixtures';
import { tempDir } from '../support/test-service';

const reference = generatedReference(3000);
const start = new Date('2024-05-21T06:00:00.000Z');
const end = new Date('2024-05-22T06:00:00.000Z');
const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, min_samples: 200 };
const TABLE = 'my-project.detector_telemetry.telemetry_{model}';

/** Telemetry over two and a half days around the window: version 1 and 2, and another model. */
const records: TelemetryRecord[] = [
  ...generateTelemetry({
    seed: 21,
    count: 4000,
    versions: ['1', '1', '2'],
    brighten: 0.03,
    start: new Date('2024-05-20T18:00:00.000Z'),
    spanMs: 60 * 3_600_000,
  }),
  ...generateTelemetry({ seed: 22, count: 300, model: 'other', start: new Date('2024-05-21T00:00:00.000Z') }),
];

async function fileStore(): Promise<FileBlobStore> {
  const store = new FileBlobStore(tempDir('bq-telemetry-'));
  const byKey = new Map<string, TelemetryRecord[]>();
  for (const record of records) {
    const key = telemetryObjectKey(record.model, new Date(record.time), 'instance-a', 0);
    byKey.set(key, [...(byKey.get(key) ?? []), record]);
  }
  for (const [key, group] of byKey) await store.write(key, serializeRecords(group));
  return store;
}

describe('BigQueryDriftReader', () => {
  let server: BigQueryServer;
  let reader: BigQueryDriftReader;

  beforeAll(async () => {
    server = await startBigQueryServer({ answer: driftAnswer(records) });
    reader = new BigQueryDriftReader({ table: TABLE, projectId: 'my-project', apiEndpoint: server.url });
  });
  afterAll(() => server.close());

  it('gives the report the file reader gives on the same telemetry', async () => {
    const now = end;
    const fromFiles = await new FileDriftReader(await fileStore()).read({ reference, start, end, now, thresholds });
    const fromBigQuery = await reader.read({ reference, start, end, now, thresholds });
    expect(fromFiles.report.n).toBeGreaterThan(1000);
    expect(fromFiles.telemetry.sampled).toBe(false);
    expectSameReport(fromBigQuery.report, fromFiles.report, 1e-12);
    expect(fromBigQuery.report.status).toBe(fromFiles.report.status);
    expect(fromBigQuery.report.reasons).toEqual(fromFiles.report.reasons);
    expect(fromBigQuery.telemetry).toMatchObject({
      reader: 'bigquery',
      table: 'my-project.detector_telemetry.telemetry_shoes',
      total_records: fromFiles.report.n,
      sampled: false,
    });
    expect(fromBigQuery.telemetry.bytes_processed).toBeGreaterThan(0);
  });

  it('sends every value of the run as a typed parameter, none in the text', async () => {
    const before = server.queries.length;
    await reader.read({ reference, start, end, now: end, thresholds });
    const sent = server.queries[before]!;
    expect(sent.query).toContain('FROM `my-project.detector_telemetry.telemetry_shoes`');
    expect(sent.query).not.toContain('2024-05');
    expect(sent.query).not.toMatch(/'shoes'|"shoes"/);
    expect(sent.params).toMatchObject({
      model: 'shoes',
      version: '1',
      start: start.toISOString(),
      end: end.toISOString(),
      start_date: '2024-05-21',
      end_date: '2024-05-22',
    });
    expect(sent.types).toMatchObject({
      start: 'TIMESTAMP',
      end: 'TIMESTAMP',
      start_date: 'DATE',
      end_date: 'DATE',
      model: 'STRING',
      grid_score: 'ARRAY<FLOAT64>',
      grid_width: 'ARRAY<FLOAT64>',
    });
    // width's grid holds whole numbers; sent as FLOAT64 all the same.
    expect(sent.params.grid_width).toEqual(expect.arrayContaining([640, 800, 1000, 1200]));
  });

  it('waits for a query that is still running (getQueryResults polls)', async () => {
    const quick = await reader.read({ reference, start, end, now: end, thresholds });
    server.pendingPolls = 2;
    const polled = await reader.read({ reference, start, end, now: end, thresholds });
    expect(polled.report).toEqual(quick.report);
    expect(server.requests.filter((r) => r.method === 'GET' && r.path.includes('/queries/')).length).toBeGreaterThanOrEqual(2);
  });

  it('rejects when BigQuery answers an error, naming it', async () => {
    const failing = await startBigQueryServer({
      answer: () => {
        throw new Error('Not found: Table my-project:detector_telemetry.telemetry_shoes');
      },
    });
    try {
      const broken = new BigQueryDriftReader({ table: TABLE, projectId: 'my-project', apiEndpoint: failing.url });
      await expect(broken.read({ reference, start, end, now: end, thresholds })).rejects.toThrow('Not found: Table');
    } finally {
      await failing.close();
    }
  });

  it('refuses a table that is not project.dataset.table at construction', () => {
    expect(() => new BigQueryDriftReader({ table: 'dataset.table; DROP', apiEndpoint: server.url })).toThrow('is not project.dataset.table');
  });
});
