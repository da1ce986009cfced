/**
 * --with-feedback <store>: the images clients sent to POST /feedback (<store>/<model>/train/{REAL,
 * FAKE}/<sha256>.<ext>) join the dataset's train split, and only it. The dataset is laid out anew
 * in <workDir>/dataset-with-feedback/ (hard links where the file system allows, else copies):
 * its own train/, val/ and test/ as they are — a val/ the trainer would carve out of train/ is
 * carved here, by the trainer's rule, so that no feedback image can end up in it — and the
 * feedback under train/<CLASS>/feedback/. A feedback image with the bytes of a val/ or test/ image
 * (or already in train/) is left out and listed. The merged folder is then validated like any
 * dataset (decoded by the serving decoder, duplicates, leaks), the report flags the feedback and
 * the gate still decides.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { FileBlobStore, isBlobNotFound, openBlobStore, type OpenBlobStoreOptions } from '../../functions/src/platform';
import { CLASS_NAMES, listDataset } from './dataset';
import { DATASET_INFO_FILE } from './dataset-info';
import { isValidationHash } from './shared-constants';

export interface FeedbackSummary {
  /** Where the feedback came from, <store>/<model>. */
  store: string;
  /** Feedback images added to train/. */
  added: number;
  per_class: { REAL: number; FAKE: number };
  excluded: Array<{ key: string; reason: string }>;
}

export interface MergeFeedbackInput {
  /** The dataset's local folder. */
  datasetRoot: string;
  /** FEEDBACK_STORE of the functions: a folder or gs://bucket/prefix. */
  feedbackStore: string;
  model: string;
  valFraction: number;
  /** The folder to lay the merged dataset out in (emptied first). */
  target: string;
  storeOptions: OpenBlobStoreOptions;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function place(source: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  try {
    await link(source, target);
  } catch {
    await copyFile(source, target);
  }
}

export async function mergeFeedback(input: MergeFeedbackInput): Promise<{ root: string; summary: FeedbackSummary }> {
  const feedback = openBlobStore(`${input.feedbackStore.replace(/\/+$/, '')}/${input.model}`, input.storeOptions);
  const dataset = await listDataset(new FileBlobStore(input.datasetRoot));
  await rm(input.target, { recursive: true, force: true });
  await mkdir(input.target, { recursive: true });

  const carve = !dataset.splits.includes('val');
  const evaluation = new Set<string>();
  const training = new Set<string>();
  for (const file of dataset.files) {
    const bytes = await readFile(path.join(input.datasetRoot, file.key));
    const hash = sha256(bytes);
    let key = file.key;
    if (file.split === 'train' && carve && isValidationHash(hash, input.valFraction)) key = `val/${file.key.slice('train/'.length)}`;
    (key.startsWith('train/') ? training : evaluation).add(hash);
    await place(path.join(input.datasetRoot, file.key), path.join(input.target, key));
  }

  const summary: FeedbackSummary = { store: feedback.location, added: 0, per_class: { REAL: 0, FAKE: 0 }, excluded: [] };
  let blobs: Awaited<ReturnType<typeof feedback.list>> = [];
  try {
    blobs = await feedback.list('train/');
  } catch (error) {
    if (!isBlobNotFound(error)) throw error;
  }
  for (const blob of blobs) {
    const [, className, name] = blob.key.split('/');
    if (!(CLASS_NAMES as readonly string[]).includes(className ?? '') || name === undefined || blob.key.split('/').length !== 3) {
      summary.excluded.push({ key: blob.key, reason: 'not train/REAL/<file> or train/FAKE/<file>' });
      continue;
    }
    const bytes = await feedback.read(blob.key);
    const hash = sha256(bytes);
    if (evaluation.has(hash)) {
      summary.excluded.push({ key: blob.key, reason: 'the same bytes as a val/ or test/ image: it stays out of training' });
      continue;
    }
    if (training.has(hash)) {
      summary.excluded.push({ key: blob.key, reason: 'already in the dataset’s train/' });
      continue;
    }
    training.add(hash);
    const target = path.join(input.target, 'train', className!, 'feedback', name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    summary.added += 1;
    summary.per_class[className as 'REAL' | 'FAKE'] += 1;
  }

  const info = dataset.infoBytes === null ? null : (JSON.parse(dataset.infoBytes.toString('utf8')) as Record<string, unknown>);
  if (info !== null) {
    const merged = { ...info, feedback: { store: summary.store, added: summary.added, per_class: summary.per_class } };
    await writeFile(path.join(input.target, DATASET_INFO_FILE), `${JSON.stringify(merged, null, 2)}\n`);
  }
  return { root: input.target, summary };
}

/** The dataset report's lines about feedback. */
export function renderFeedbackSummary(summary: FeedbackSummary): string {
  const lines = [
    `Feedback from ${summary.store}: ${summary.added} image(s) added to train/ only (REAL ${summary.per_class.REAL}, FAKE ${summary.per_class.FAKE}); never to val/ or test/`,
  ];
  for (const item of summary.excluded.slice(0, 20)) lines.push(`  left out ${item.key}: ${item.reason}`);
  if (summary.excluded.length > 20) lines.push(`  … and ${summary.excluded.length - 20} more left out`);
  return lines.join('\n');
}
