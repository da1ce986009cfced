/**
 * DriftReader: computes a model's drift report over a window of telemetry, wherever the telemetry
 * is read. Two implementations, chosen by DRIFT_READER:
 * - FileDriftReader (`files`, the default): reads the window's NDJSON objects from the telemetry
 *   store and compares the records (telemetry-reader.ts, drift-report.ts).
 * - BigQueryDriftReader (`bigquery`): one query over the external table on the same objects counts
 *   the window on the reference's grids; only those counts leave BigQuery.
 * Both give the same report (cdf-grid.ts says why); they differ in what `telemetry` describes.
 */
import type { DriftReport, DriftThresholds } from './drift-report';
import type { DriftReference } from './reference';

export interface DriftReadInput {
  reference: DriftReference;
  /** Inclusive. */
  start: Date;
  /** Exclusive. */
  end: Date;
  /** When the report is made. */
  now: Date;
  thresholds: DriftThresholds;
}

export interface DriftReading {
  report: DriftReport;
  /** How the window was read, stored with the report (`reader` says which). */
  telemetry: Record<string, unknown> & { reader: 'files' | 'bigquery' };
  /** Telemetry lines skipped as invalid, for the log (the file reader only). */
  corruptLines: number;
  corruptExamples: string[];
}

export interface DriftReader {
  read(input: DriftReadInput): Promise<DriftReading>;
}
