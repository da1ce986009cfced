/**
 * Step 1, dataset: list it (mirroring a gs:// dataset into the cache), check dataset.json, decode
 * every image with the serving decoder, and validate counts, balance, duplicates, leaks and
 * corrupt files. An invalid dataset ends the run with its report.
 */
import * as path from 'node:path';
import { FileBlobStore } from '../../../functions/src/platform';
import { cacheFolderFor, downloadDataset, listDataset, openDataset } from '../dataset';
import { parseDatasetInfo } from '../dataset-info';
import { type FeedbackSummary, mergeFeedback, renderFeedbackSummary } from '../feedback';
import { DatasetInvalidError } from '../errors';
import { Progress } from '../progress';
import type { RunDir } from '../run-dir';
import { shownPath } from '../run-commands';
import { scanDataset } from '../scan-dataset';
import { renderDatasetReport, validateDataset, type DatasetReport } from '../validate-dataset';
import { type StepContext, writeJson } from './step-context';

export interface DatasetStepInput {
  datasetUri: string;
  /** The side images are decoded at while scanning (the model's input size). */
  imageSize: number;
  /** A completed run (--from-run), whose own validation fraction predicts its split. */
  existingRun: RunDir | null;
}

export interface DatasetStepResult {
  /** A local folder holding the dataset (the dataset itself, its mirror, or with --with-feedback its merge). */
  localRoot: string;
  /** What the trainer trains on: the dataset's location, or the local merge with the feedback. */
  trainUri: string;
  report: DatasetReport;
}

export async function datasetStep(input: DatasetStepInput, context: StepContext): Promise<DatasetStepResult> {
  const { options, deps, step, decoder, limits } = context;
  const { datasetUri } = input;
  step('dataset', `listing ${datasetUri}`);
  const dataset = openDataset(datasetUri, context.storeOptions);
  let listing = await listDataset(dataset.store);
  let localRoot = dataset.localRoot;
  if (localRoot === null) {
    const folder = cacheFolderFor(datasetUri, options.cacheDir);
    step('dataset', `mirroring ${listing.files.length} images into ${folder}`);
    const progress = new Progress({ stream: deps.progressStream, label: 'download: images', intervalMs: options.progressIntervalMs });
    localRoot = await downloadDataset(dataset.store, listing, folder, { onProgress: (done, total) => progress.update(done, total) });
    progress.finish();
  }
  let feedback: FeedbackSummary | null = null;
  if (options.feedback !== null && input.existingRun === null) {
    step('dataset', `adding the feedback of ${options.feedback} for ${options.name} to train/ only`);
    const merged = await mergeFeedback({
      datasetRoot: localRoot,
      feedbackStore: options.feedback,
      model: options.name,
      valFraction: options.validation.valFraction,
      target: path.join(options.workDir, 'dataset-with-feedback'),
      storeOptions: context.storeOptions,
    });
    localRoot = merged.root;
    feedback = merged.summary;
    listing = { ...(await listDataset(new FileBlobStore(localRoot))), location: listing.location };
  }
  const localStore = new FileBlobStore(localRoot);
  step('dataset', `decoding ${listing.files.length} images with the serving decoder (${decoder.name})`);
  const scanProgress = new Progress({ stream: deps.progressStream, label: 'validate: images', intervalMs: options.progressIntervalMs });
  const scanned = await scanDataset(listing.files, (key) => localStore.read(key), {
    decoder,
    limits,
    decodeSize: input.imageSize,
    onProgress: (done, total) => scanProgress.update(done, total),
  });
  scanProgress.finish();
  const info = parseDatasetInfo(listing.infoBytes);
  // A completed run carved its val split with its own --val-fraction; predict the same split.
  const runValFraction = input.existingRun?.training.args.val_fraction;
  const validation = typeof runValFraction === 'number' ? { ...options.validation, valFraction: runValFraction } : options.validation;
  const report = validateDataset({ listing: { ...listing, location: shownPath(listing.location, deps.repoRoot) }, info, scanned }, validation);
  if (feedback !== null) report.feedback = feedback;
  await writeJson(path.join(options.workDir, 'dataset-report.json'), report);
  const rendered = `${renderDatasetReport(report)}${feedback === null ? '' : `\n${renderFeedbackSummary(feedback)}`}`;
  deps.progressStream.write(`${rendered}\n`);
  if (!report.ok) {
    throw new DatasetInvalidError(
      `dataset ${datasetUri} failed validation with ${report.errors.length} error(s); full report: ${path.join(options.workDir, 'dataset-report.json')}`,
      rendered,
    );
  }
  step('dataset', 'dataset is valid', { images: report.images, warnings: report.warnings.length });
  return { localRoot, report, trainUri: feedback === null ? datasetUri : localRoot };
}
