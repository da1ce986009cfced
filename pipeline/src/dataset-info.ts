/**
 * dataset.json: parsed and checked against models/dataset.schema.json. Returns the problems as
 * sentences instead of throwing, so that the dataset report can list them with everything else.
 */
import Ajv from 'ajv';
import datasetSchema from '../../models/dataset.schema.json';
import { describeAjvErrors } from '../../functions/src/platform';

export interface DatasetInfo {
  name: string;
  version: string;
  classes: Array<'REAL' | 'FAKE'>;
  description: string;
  author: string;
  license?: string;
  created_at?: string;
  notes?: string;
  /** The training recipe this dataset is trained with (training/recipes/<recipe>.json). */
  recipe?: string;
  [extra: string]: unknown;
}

export type DatasetInfoResult = { ok: true; info: DatasetInfo } | { ok: false; problems: string[] };

const ajv = new Ajv({ allErrors: true, strict: false });
const validateInfo = ajv.compile<DatasetInfo>(datasetSchema);

export const DATASET_INFO_FILE = 'dataset.json';

export function parseDatasetInfo(bytes: Buffer | string | null, source = DATASET_INFO_FILE): DatasetInfoResult {
  if (bytes === null) {
    return {
      ok: false,
      problems: [`${source} is missing; every dataset needs one with name, version, classes, description and author (see models/dataset.schema.json)`],
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString());
  } catch (error) {
    return { ok: false, problems: [`${source} is not valid JSON: ${(error as Error).message}`] };
  }
  if (!validateInfo(value)) {
    return {
      ok: false,
      problems: describeAjvErrors(validateInfo.errors)
        .split('; ')
        .map((detail) => `${source}: ${detail}`),
    };
  }
  return { ok: true, info: value };
}
