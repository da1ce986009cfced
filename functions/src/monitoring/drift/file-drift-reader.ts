/**
 * FileDriftReader: the window's telemetry objects read from the telemetry store (a folder or
 * Cloud Storage) and compared record by record. The default, and the only reader locally.
 */
import type { BlobStore } from '../../platform/storage/blob-store';
import { readTelemetry } from '../telemetry/telemetry-reader';
import { computeDriftReport } from './drift-report';
import type { DriftReader, DriftReadInput, DriftReading } from './drift-reader';

export class FileDriftReader implements DriftReader {
  constructor(private readonly store: BlobStore) {}

  async read(input: DriftReadInput): Promise<DriftReading> {
    const { reference, start, end, now, thresholds } = input;
    const telemetry = await readTelemetry(this.store, { model: reference.model.name, start, end });
    const report = computeDriftReport({ reference, records: telemetry.records, now, window: { start, end }, thresholds });
    return {
      report,
      telemetry: {
        reader: 'files',
        total_records: telemetry.totalRecords,
        sampled: telemetry.sampled,
        corrupt_lines: telemetry.corruptLines,
        objects_read: telemetry.objectsRead,
      },
      corruptLines: telemetry.corruptLines,
      corruptExamples: telemetry.corruptExamples,
    };
  }
}
