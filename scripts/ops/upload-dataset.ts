/**
 * Uploads a labelled dataset for the training pipeline:
 *
 *   npm run build && node dist/scripts/ops/upload-dataset.js --dataset ./my-dataset --to gs://bucket/datasets
 *
 * 1. validates the local folder with the pipeline's own checks (dataset.json schema, every image
 *    decoded by the serving decoder, class counts and balance, duplicates, leakage, corrupt files);
 * 2. uploads every image to `<to>/<name>/<version>/` (name and version from dataset.json, or
 *    --name / --version, which are then written into the uploaded dataset.json) with a progress line;
 * 3. uploads dataset.json last, create-only: its arrival is what starts the training build, so a
 *    half-uploaded dataset never triggers one, and an existing version is never overwritten.
 *
 * `--to` may also be a local folder. The serving settings (IMAGE_DECODER, MAX_PIXELS, …,
 * STORAGE_API_ENDPOINT) apply as in the functions.
 */
import { parseArgs } from 'node:util';
import { type BlobStore, ConfigError, isPreconditionFailed, openBlobStore, storeOptionsFrom } from '../../functions/src/platform';
import { type Config, loadConfig } from '../../functions/src/serving';
import { createDecoder } from '../../functions/src/detector';
import { mapConcurrent } from '../../pipeline/src/concurrency';
import { listDataset, openDataset } from '../../pipeline/src/dataset';
import { DATASET_INFO_FILE, parseDatasetInfo } from '../../pipeline/src/dataset-info';
import { EXIT_CODES } from '../../pipeline/src/errors';
import { Progress, type ProgressStream } from '../../pipeline/src/progress';
import { scanDataset } from '../../pipeline/src/scan-dataset';
import { renderDatasetReport, validateDataset, type DatasetReport, type ValidationThresholds } from '../../pipeline/src/validate-dataset';
import { parseValidationFlags, VALIDATION_FLAGS, VALIDATION_HELP } from '../../pipeline/src/validation-flags';

export const HELP = `Usage: node dist/scripts/ops/upload-dataset.js --dataset <dir> --to <gs://bucket/datasets | dir> [options]

Validates a local dataset folder and uploads it to <to>/<name>/<version>/, dataset.json last.

  --dataset <dir>            folder with dataset.json, train/ and optionally val/ and test/
  --to <gs://…|dir>          datasets root, e.g. gs://my-bucket/datasets
  --name <name>              dataset name (default: dataset.json's "name")
  --version <version>        dataset version (default: dataset.json's "version")
  --concurrency <n>          parallel uploads (default: 8)
${VALIDATION_HELP}
  --dry-run                  validate only
  -h, --help                 this text

Uploading dataset.json under datasets/<name>/<version>/ starts the training build (Cloud Storage
notification → Pub/Sub → Cloud Build, see pipeline/cloudbuild.yaml).

Exit status: 0 uploaded (or valid, with --dry-run), 2 usage, 3 dataset invalid,
7 that name and version already exist, 1 anything else.
`;

export interface UploadRequest {
  dataset: string;
  to: string;
  name?: string;
  version?: string;
  concurrency: number;
  thresholds: ValidationThresholds;
  dryRun: boolean;
  config: Readonly<Config>;
  progressStream: ProgressStream;
  progressIntervalMs?: number;
}

export type UploadResult =
  | { status: 'invalid'; report: DatasetReport }
  | { status: 'exists'; uri: string }
  | { status: 'validated'; report: DatasetReport; uri: string }
  | { status: 'uploaded'; report: DatasetReport; uri: string; files: number; bytes: number };

export async function uploadDataset(request: UploadRequest): Promise<UploadResult> {
  const storeOptions = storeOptionsFrom(request.config);
  const source = openDataset(request.dataset);
  if (source.localRoot === null) throw new TypeError(`--dataset must be a local folder; got ${request.dataset}`);
  const listing = await listDataset(source.store);
  const parsed = parseDatasetInfo(listing.infoBytes);
  const info = parsed.ok
    ? {
        ok: true as const,
        info: {
          ...parsed.info,
          ...(request.name === undefined ? {} : { name: request.name }),
          ...(request.version === undefined ? {} : { version: request.version }),
        },
      }
    : parsed;
  // Overridden names must still satisfy the schema.
  const checked = info.ok ? parseDatasetInfo(JSON.stringify(info.info)) : info;
  const decoder = createDecoder(request.config);
  const progressOptions = { stream: request.progressStream, ...(request.progressIntervalMs === undefined ? {} : { intervalMs: request.progressIntervalMs }) };
  const scanProgress = new Progress({ ...progressOptions, label: 'validate: images' });
  const scanned = await scanDataset(listing.files, (key) => source.store.read(key), {
    decoder,
    limits: { maxImageBytes: request.config.maxImageBytes, maxPixels: request.config.maxPixels, minImageSide: request.config.minImageSide },
    decodeSize: 32,
    onProgress: (done, total) => scanProgress.update(done, total),
  });
  scanProgress.finish();
  const report = validateDataset({ listing, info: checked, scanned }, request.thresholds);
  request.progressStream.write(`${renderDatasetReport(report)}\n`);
  if (!report.ok || !checked.ok) return { status: 'invalid', report };

  const uri = `${request.to.replace(/\/+$/, '')}/${checked.info.name}/${checked.info.version}`;
  const target: BlobStore = openBlobStore(uri, storeOptions);
  if ((await target.stat(DATASET_INFO_FILE)) !== null) return { status: 'exists', uri };
  if (request.dryRun) return { status: 'validated', report, uri };

  const uploadProgress = new Progress({ ...progressOptions, label: 'upload: files' });
  let done = 0;
  let bytes = 0;
  await mapConcurrent(listing.files, request.concurrency, async (file) => {
    const data = await source.store.read(file.key);
    await target.write(file.key, data, { contentType: contentTypeOf(file.key) });
    done += 1;
    bytes += data.length;
    uploadProgress.update(done, listing.files.length, `${(bytes / 1e6).toFixed(1)} MB`);
  });
  uploadProgress.finish();
  try {
    await target.write(DATASET_INFO_FILE, `${JSON.stringify(checked.info, null, 2)}\n`, { ifGenerationMatch: '0', contentType: 'application/json' });
  } catch (error) {
    if (isPreconditionFailed(error)) return { status: 'exists', uri };
    throw error;
  }
  return { status: 'uploaded', report, uri, files: listing.files.length + 1, bytes };
}

function contentTypeOf(key: string): string {
  const extension = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return extension === 'png' ? 'image/png' : extension === 'webp' ? 'image/webp' : 'image/jpeg';
}

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  stderr: ProgressStream = process.stderr,
): Promise<number> {
  const say = (text: string): void => {
    stderr.write(`${text}\n`);
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...VALIDATION_FLAGS,
        dataset: { type: 'string' },
        to: { type: 'string' },
        name: { type: 'string' },
        version: { type: 'string' },
        concurrency: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    say(`error: ${(error as Error).message}; see --help`);
    return EXIT_CODES.usage;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return EXIT_CODES.ok;
  }
  const problems: string[] = [];
  const number = (flag: keyof typeof values, fallback: number, check: (value: number) => boolean, rule: string): number => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || !check(value)) {
      problems.push(`--${flag} must be ${rule}; got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };
  if (values.dataset === undefined) problems.push('--dataset is required (the local dataset folder)');
  if (values.to === undefined) problems.push('--to is required (e.g. gs://my-bucket/datasets)');
  const thresholds = parseValidationFlags(values, problems);
  const concurrency = number('concurrency', 8, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer from 1 to 64');
  if (problems.length > 0) {
    say(`error: ${problems.join('\n       ')}`);
    return EXIT_CODES.usage;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch (error) {
    say(error instanceof ConfigError ? error.message : String(error));
    return EXIT_CODES.usage;
  }
  try {
    const result = await uploadDataset({
      dataset: values.dataset as string,
      to: values.to as string,
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.version === undefined ? {} : { version: values.version }),
      concurrency,
      thresholds,
      dryRun: values['dry-run'] === true,
      config,
      progressStream: stderr,
    });
    switch (result.status) {
      case 'invalid':
        say('error: the dataset is invalid (see the report above); nothing was uploaded');
        return EXIT_CODES.dataset_invalid;
      case 'exists':
        say(`error: ${result.uri}/dataset.json already exists; datasets are immutable: choose a new --version`);
        return EXIT_CODES.publish_conflict;
      case 'validated':
        say(`valid; would upload to ${result.uri}/`);
        return EXIT_CODES.ok;
      case 'uploaded':
        say(`uploaded ${result.files} files (${(result.bytes / 1e6).toFixed(1)} MB) to ${result.uri}/`);
        say(`train locally with: npm run pipeline -- --dataset ${result.uri} --name <model>`);
        return EXIT_CODES.ok;
    }
  } catch (error) {
    say(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_CODES.unexpected;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = EXIT_CODES.unexpected;
    },
  );
}
