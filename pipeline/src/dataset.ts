/**
 * A dataset is a BlobStore root (a local folder or a gs:// prefix) laid out as
 *
 *   dataset.json
 *   train/{REAL,FAKE}/**.{jpg,jpeg,png,webp}
 *   val/{REAL,FAKE}/…     optional; without it the trainer carves val/ out of train/ by content hash
 *   test/{REAL,FAKE}/…    optional
 *
 * This file lists a dataset the way training/dataset_files.py does (class folders are matched
 * exactly, extensions case-insensitively, sub-folders inside a class folder are allowed) and
 * mirrors a gs:// dataset into a local folder for the trainer.
 */
import { IMAGE_EXTENSIONS } from './shared-constants';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { type BlobStore, FileBlobStore, isBlobNotFound, openBlobStore, type OpenBlobStoreOptions, parseGcsUri } from '../../functions/src/platform';
import { DATASET_INFO_FILE } from './dataset-info';
import { mapConcurrent } from './concurrency';

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

/** Class folder → label, as in training/constants.py: REAL is 0, FAKE (AI-generated) is 1. */
export const CLASS_LABELS = { REAL: 0, FAKE: 1 } as const;
export type ClassName = keyof typeof CLASS_LABELS;
export const CLASS_NAMES: readonly ClassName[] = ['REAL', 'FAKE'];

export { IMAGE_EXTENSIONS } from './shared-constants';

export interface DatasetFile {
  /** Path relative to the dataset root, '/'-separated, e.g. `train/REAL/0001.jpg`. */
  key: string;
  split: SplitName;
  className: ClassName;
  label: 0 | 1;
  size: number;
}

export interface IgnoredFile {
  key: string;
  reason: string;
}

export interface DatasetListing {
  /** Where the dataset is, e.g. `/data/shoes` or `gs://bucket/datasets/shoes/3`. */
  location: string;
  /** dataset.json's bytes, or null when there is none. */
  infoBytes: Buffer | null;
  /** Every image the trainer will read, sorted by key. */
  files: DatasetFile[];
  /** Everything else found, with the reason the trainer skips it. */
  ignored: IgnoredFile[];
  /** Files under aligned/: reconstructions of the REAL photos the trainer cached there (training/aligned_fakes.py). */
  cached: number;
  /** Splits that have at least one file under their folder. */
  splits: SplitName[];
}

export interface OpenedDataset {
  uri: string;
  store: BlobStore;
  /** The folder itself for a local dataset; null for gs://. */
  localRoot: string | null;
}

export function openDataset(uri: string, options: OpenBlobStoreOptions = {}): OpenedDataset {
  const store = openBlobStore(uri, options);
  return { uri, store, localRoot: store instanceof FileBlobStore ? store.location : null };
}

export function isGcsUri(uri: string): boolean {
  return parseGcsUri(uri) !== null;
}

/** The folder in which the trainer caches aligned fakes of a dataset's REAL photos (training/aligned_fakes.py ALIGNED_DIR). */
export const ALIGNED_CACHE_FOLDER = 'aligned';

/** Classifies one key of a dataset: an image of a split and class, dataset.json, the trainer's cache, or ignored (with why). */
export function classifyKey(
  key: string,
): { kind: 'image'; split: SplitName; className: ClassName } | { kind: 'info' } | { kind: 'cache' } | { kind: 'ignored'; reason: string } {
  if (key === DATASET_INFO_FILE) return { kind: 'info' };
  const parts = key.split('/');
  const [top, classFolder] = parts;
  if (parts.length === 1) return { kind: 'ignored', reason: 'a file at the top level other than dataset.json' };
  if (top === ALIGNED_CACHE_FOLDER) return { kind: 'cache' };
  if (!(SPLITS as readonly string[]).includes(top ?? '')) {
    return { kind: 'ignored', reason: `"${top}/" is not a split folder; splits are train/, val/ and test/` };
  }
  if (parts.length === 2 || !(CLASS_NAMES as readonly string[]).includes(classFolder ?? '')) {
    return { kind: 'ignored', reason: `not inside a class folder; each split holds REAL/ and FAKE/ (upper case)` };
  }
  const extension = path.posix.extname(key).toLowerCase();
  if (!IMAGE_EXTENSIONS.includes(extension)) {
    return { kind: 'ignored', reason: `extension "${extension}" is not one of ${IMAGE_EXTENSIONS.join(', ')}` };
  }
  return { kind: 'image', split: top as SplitName, className: classFolder as ClassName };
}

export async function listDataset(store: BlobStore): Promise<DatasetListing> {
  const blobs = await store.list('');
  const files: DatasetFile[] = [];
  const ignored: IgnoredFile[] = [];
  let cached = 0;
  const splits = new Set<SplitName>();
  let hasInfo = false;
  for (const blob of blobs) {
    const kind = classifyKey(blob.key);
    const top = blob.key.split('/')[0] as SplitName;
    if ((SPLITS as readonly string[]).includes(top) && blob.key.includes('/')) splits.add(top);
    if (kind.kind === 'info') hasInfo = true;
    else if (kind.kind === 'cache') cached += 1;
    else if (kind.kind === 'ignored') ignored.push({ key: blob.key, reason: kind.reason });
    else files.push({ key: blob.key, split: kind.split, className: kind.className, label: CLASS_LABELS[kind.className], size: blob.size });
  }
  let infoBytes: Buffer | null = null;
  if (hasInfo) {
    try {
      infoBytes = await store.read(DATASET_INFO_FILE);
    } catch (error) {
      if (!isBlobNotFound(error)) throw error;
    }
  }
  return { location: store.location, infoBytes, files, ignored, cached, splits: SPLITS.filter((split) => splits.has(split)) };
}

export interface DownloadProgress {
  (done: number, total: number, bytes: number): void;
}

/**
 * Mirrors the dataset's images and dataset.json into `folder`: files already there with the right
 * size are kept, others are downloaded (to a temporary name, then renamed), and image files that are
 * not in the listing are removed so that the trainer sees exactly the listed dataset. The trainer's
 * own cache of reconstructions (aligned/, keyed by the photo's content) is kept for the next run.
 */
export async function downloadDataset(
  store: BlobStore,
  listing: DatasetListing,
  folder: string,
  options: { concurrency?: number; onProgress?: DownloadProgress } = {},
): Promise<string> {
  const root = path.resolve(folder);
  await mkdir(root, { recursive: true });
  const wanted = new Map(listing.files.map((file) => [file.key, file.size]));
  for (const existing of await walkFiles(root)) {
    const key = existing.split(path.sep).join('/');
    if (key !== DATASET_INFO_FILE && classifyKey(key).kind !== 'cache' && !wanted.has(key)) await unlink(path.join(root, existing));
  }
  let done = 0;
  let bytes = 0;
  const total = listing.files.length;
  await mapConcurrent(listing.files, options.concurrency ?? 8, async (file) => {
    const target = path.join(root, ...file.key.split('/'));
    const present = await stat(target).catch(() => null);
    if (present === null || !present.isFile() || present.size !== file.size) {
      await writeAtomically(target, await store.read(file.key));
    }
    done += 1;
    bytes += file.size;
    options.onProgress?.(done, total, bytes);
  });
  if (listing.infoBytes === null) await rm(path.join(root, DATASET_INFO_FILE), { force: true });
  else await writeAtomically(path.join(root, DATASET_INFO_FILE), listing.infoBytes);
  return root;
}

/** The local cache folder for a gs:// dataset: `<cacheRoot>/<bucket>/<prefix>`. */
export function cacheFolderFor(uri: string, cacheRoot: string): string {
  const gcs = parseGcsUri(uri);
  if (gcs === null) throw new TypeError(`${JSON.stringify(uri)} is not a gs:// URI; only Cloud Storage datasets are cached`);
  return path.join(path.resolve(cacheRoot), gcs.bucket, ...gcs.prefix.split('/').filter((part) => part.length > 0));
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.download-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(temp, data);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Relative paths of the files under `root` (native separators). */
async function walkFiles(root: string, relative = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(path.join(root, relative), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) found.push(...(await walkFiles(root, child)));
    else found.push(child);
  }
  return found;
}
