/**
 * Monitoring's own settings: where telemetry goes and how often, and how POST /drift reads its
 * window (files, or one BigQuery query).
 */
import { BIGQUERY_TABLE_PATTERN } from './drift/bigquery-drift-query';
import { type Env, int, oneOf, optionalText, type Parser, readSettings, settingOf, storeLocation } from '../platform/settings';

export interface MonitoringSettings {
  telemetryStore: string;
  telemetryFlushRecords: number;
  telemetryFlushSeconds: number;
  telemetryRetryMaxSeconds: number;
  telemetryBufferCapacity: number;
  driftWindowHours: number;
  driftMinSamples: number;
  driftReader: 'files' | 'bigquery';
  bigqueryTable: string | null;
  bigqueryApiEndpoint: string | null;
}

const setting = settingOf<MonitoringSettings>();

const bigqueryTable: Parser<string | null> = (raw, name) => {
  const value = raw.trim();
  if (value === '') return null;
  if (!BIGQUERY_TABLE_PATTERN.test(value.replace(/\{model\}/g, 'model'))) {
    throw new Error(
      `${name} must be project.dataset.table (letters, digits and '_' in dataset and table; {model} allowed), like my-project.detector_telemetry.telemetry_{model}; got ${JSON.stringify(value.slice(0, 200))}`,
    );
  }
  return value;
};

export const MONITORING_SETTINGS = [
  setting(
    'telemetryStore',
    'TELEMETRY_STORE',
    '<repo>/.local/telemetry',
    storeLocation,
    'Where telemetry records and drift reports go: a folder or gs://bucket/prefix.',
  ),
  setting('telemetryFlushRecords', 'TELEMETRY_FLUSH_RECORDS', '20', int(1, 100000), 'Flush telemetry when this many records are buffered.'),
  setting(
    'telemetryFlushSeconds',
    'TELEMETRY_FLUSH_SECONDS',
    '2',
    int(0, 86400),
    'Flush telemetry when the oldest buffered record is this old (from inside a request, or from a timer on an idle instance).',
  ),
  setting(
    'telemetryRetryMaxSeconds',
    'TELEMETRY_RETRY_MAX_SECONDS',
    '300',
    int(1, 86400),
    'While telemetry writes fail, retries wait 1 s, then twice as long after each failure, up to this; /health says degraded meanwhile.',
  ),
  setting(
    'telemetryBufferCapacity',
    'TELEMETRY_BUFFER_CAPACITY',
    '10000',
    int(1, 10000000),
    'Most records buffered per instance; older ones are dropped (and counted) past it.',
  ),
  setting('driftWindowHours', 'DRIFT_WINDOW_HOURS', '24', int(1, 24 * 90), 'Window of telemetry compared with the reference by POST /drift.'),
  setting('driftMinSamples', 'DRIFT_MIN_SAMPLES', '200', int(1, 100000000), 'Fewest records for a drift verdict; below it the status is insufficient_data.'),
  setting(
    'driftReader',
    'DRIFT_READER',
    'files',
    oneOf('files', 'bigquery'),
    'How POST /drift reads the window: files (the telemetry objects, in the function) or bigquery (one query over the external table on them; needs BIGQUERY_TABLE).',
  ),
  setting(
    'bigqueryTable',
    'BIGQUERY_TABLE',
    '',
    bigqueryTable,
    'External table of the telemetry for DRIFT_READER=bigquery, as project.dataset.table; `{model}` stands for the model name (with - as _), e.g. my-project.detector_telemetry.telemetry_{model}.',
  ),
  setting('bigqueryApiEndpoint', 'BIGQUERY_API_ENDPOINT', '', optionalText, 'BigQuery REST API endpoint override (tests, a local server).'),
] as const;

/** Reads monitoring's settings, adding each problem (and each inconsistency between them) to `problems`. */
export function readMonitoringSettings(env: Env, problems: string[]): Partial<MonitoringSettings> {
  const values = readSettings<MonitoringSettings>(MONITORING_SETTINGS, env, problems);
  if (
    values.telemetryFlushRecords !== undefined &&
    values.telemetryBufferCapacity !== undefined &&
    values.telemetryFlushRecords > values.telemetryBufferCapacity
  ) {
    problems.push(`TELEMETRY_FLUSH_RECORDS (${values.telemetryFlushRecords}) must not exceed TELEMETRY_BUFFER_CAPACITY (${values.telemetryBufferCapacity})`);
  }
  if (values.driftReader === 'bigquery' && values.bigqueryTable === null) {
    problems.push('DRIFT_READER=bigquery needs BIGQUERY_TABLE (project.dataset.table of the telemetry external table)');
  }
  return values;
}
