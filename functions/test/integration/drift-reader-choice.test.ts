/**
 * DRIFT_READER chooses where POST /drift reads the window: the same service, configured with
 * DRIFT_READER=bigquery, BIGQUERY_TABLE and BIGQUERY_API_ENDPOINT, queries the local BigQuery
 * stand-in instead of reading the telemetry objects, and stores the same report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { serializeRecords, telemetryObjectKey, type TelemetryRecord } from '../../src/monitoring/telemetry/telemetry-record';
import { type BigQueryServer, driftAnswer, startBigQueryServer } from '../support/bigquery-server';
import { type FunctionClient, startFunction } from '../support/function-server';
import { generatedReference, generateTelemetry } from '../support/telemetry-fixtures';
import { startService, tempDir } from '../support/test-service';

const KEY = 'reader-choice-key-0123';
const END = new Date('2024-05-22T06:00:00.000Z');
const records: TelemetryRecord[] = generateTelemetry({ seed: 31, count: 1500, start: new Date('2024-05-21T06:00:00.000Z'), spanMs: 24 * 3_600_000 });

async function stores(): Promise<{ models: string; telemetry: string }> {
  const models = tempDir('reader-models-');
  fs.mkdirSync(path.join(models, 'shoes', '1'), { recursive: true });
  fs.writeFileSync(path.join(models, 'shoes', 'production.json'), JSON.stringify({ version: '1', sha256: '0'.repeat(64) }));
  fs.writeFileSync(path.join(models, 'shoes', '1', 'reference.json'), JSON.stringify(generatedReference(2000)));
  const telemetry = tempDir('reader-telemetry-');
  const store = new FileBlobStore(telemetry);
  const byKey = new Map<string, TelemetryRecord[]>();
  for (const record of records) {
    const key = telemetryObjectKey(record.model, new Date(record.time), 'a', 0);
    byKey.set(key, [...(byKey.get(key) ?? []), record]);
  }
  for (const [key, group] of byKey) await store.write(key, serializeRecords(group));
  return { models, telemetry };
}

async function postDrift(env: Record<string, string>): Promise<Record<string, unknown>> {
  startService({ API_KEYS: KEY, METRICS_SINK: 'none', ...env }, { now: () => END.getTime() });
  const drift: FunctionClient = await startFunction('drift');
  try {
    const response = await drift.request('/?model=shoes', { method: 'POST', headers: { 'X-API-Key': KEY } });
    expect(response.status).toBe(200);
    return (response.body as { reports: Array<Record<string, unknown>> }).reports[0]!;
  } finally {
    await drift.close();
  }
}

describe('DRIFT_READER', () => {
  let server: BigQueryServer;
  beforeAll(async () => {
    server = await startBigQueryServer({ answer: driftAnswer(records) });
  });
  afterAll(() => server.close());

  it('bigquery queries the table and stores the report the files reader stores', async () => {
    const { models, telemetry } = await stores();
    const fromFiles = await postDrift({ MODEL_STORE: models, TELEMETRY_STORE: telemetry });
    const fromBigQuery = await postDrift({
      MODEL_STORE: models,
      TELEMETRY_STORE: tempDir('reader-empty-'),
      DRIFT_READER: 'bigquery',
      BIGQUERY_TABLE: 'my-project.detector_telemetry.telemetry_{model}',
      BIGQUERY_API_ENDPOINT: server.url,
      GOOGLE_CLOUD_PROJECT: 'my-project',
    });
    expect(server.queries).toHaveLength(1);
    expect(server.requests[0]!.path).toBe('/bigquery/v2/projects/my-project/queries');
    expect(fromFiles.telemetry).toMatchObject({ reader: 'files', total_records: 1500 });
    expect(fromBigQuery.telemetry).toMatchObject({ reader: 'bigquery', table: 'my-project.detector_telemetry.telemetry_shoes', total_records: 1500 });
    expect({ status: fromBigQuery.status, n: fromBigQuery.n, reasons: fromBigQuery.reasons }).toEqual({
      status: fromFiles.status,
      n: fromFiles.n,
      reasons: fromFiles.reasons,
    });
  });
});
