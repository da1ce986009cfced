/**
 * Dataset validation as a pure function over what was found: the parsed dataset.json, the listing
 * and the scan of every image (sha256 and whether the serving decoder accepts it). It returns a
 * report that says whether the dataset may be trained on, and renders it for people.
 *
 * Errors (any one fails the run):
 * - dataset.json missing or not matching models/dataset.schema.json;
 * - a split without images of a class, or fewer than the minimum per class;
 * - class imbalance in a split above `maxImbalance` (larger class / smaller class);
 * - more corrupt or refused images than `maxCorrupt` (every one is listed);
 * - the same bytes labelled both REAL and FAKE;
 * - cross-split leakage: the same bytes in two splits (train/val, train/test, val/test), more than `maxLeaks`;
 * - byte-identical copies inside a split above `maxDuplicateShare` of the split.
 * Warnings: files the trainer ignores, any duplicates under the threshold, imbalance above 1.5,
 * an extension that does not match the content.
 */
import type { FeedbackSummary } from './feedback';
import { DEFAULT_SOURCE, sourceKey, sourceOf } from './sources';
import { isValidationHash } from './shared-constants';
import type { DatasetInfoResult, DatasetInfo } from './dataset-info';
import { CLASS_NAMES, type ClassName, type DatasetListing, SPLITS, type SplitName } from './dataset';
import type { ScannedFile } from './scan-dataset';

export interface ValidationThresholds {
  /** Fewest usable images per class in train/. */
  minTrainPerClass: number;
  /** Fewest usable images per class in val/ (explicit or carved) and test/. */
  minEvalPerClass: number;
  /** Largest allowed ratio larger class / smaller class within a split. */
  maxImbalance: number;
  /** Most corrupt or refused images tolerated (they are listed either way). */
  maxCorrupt: number;
  /** Largest share of a split that may be extra byte-identical copies (same class). */
  maxDuplicateShare: number;
  /** Most images whose bytes appear in another split. */
  maxLeaks: number;
  /** The trainer's --val-fraction: without val/, that share of train/ becomes val by content hash. */
  valFraction: number;
}

export const DEFAULT_THRESHOLDS: Readonly<ValidationThresholds> = Object.freeze({
  minTrainPerClass: 50,
  minEvalPerClass: 10,
  maxImbalance: 3,
  maxCorrupt: 0,
  maxDuplicateShare: 0.01,
  maxLeaks: 0,
  valFraction: 0.1,
});

/** Above this ratio an imbalance is reported as a warning even when it is allowed. */
export const IMBALANCE_WARNING = 1.5;

export interface SplitCounts {
  REAL: number;
  FAKE: number;
  /** True for a val split carved out of train/ by content hash. */
  carved: boolean;
  /** Usable images per source (`REAL/<source>`, `FAKE/<source>`), for a dataset with a source level. */
  sources?: Record<string, number>;
}

export interface SameBytes {
  sha256: string;
  keys: string[];
}

export interface DatasetReport {
  ok: boolean;
  location: string;
  dataset: DatasetInfo | null;
  thresholds: ValidationThresholds;
  images: number;
  splits: Partial<Record<SplitName, SplitCounts>>;
  formats: Record<string, number>;
  /** Smallest, median and largest shorter side of the usable images, in pixels. */
  shorter_side: { min: number; median: number; max: number } | null;
  errors: string[];
  warnings: string[];
  corrupt: Array<{ key: string; code: string; message: string }>;
  label_conflicts: SameBytes[];
  leaks: SameBytes[];
  duplicates: SameBytes[];
  ignored: Array<{ key: string; reason: string }>;
  /** Files under aligned/: the trainer's cached reconstructions of the REAL photos, not dataset images. */
  cached_reconstructions: number;
  extension_mismatches: Array<{ key: string; format: string }>;
  /** --with-feedback: what joined train/ from POST /feedback, and what was left out. */
  feedback?: FeedbackSummary;
}

/** The trainer's split rule (training/dataset_files.py is_validation), from models/shared-constants.json. */
export function isCarvedIntoValidation(sha256: string, valFraction: number): boolean {
  return isValidationHash(sha256, valFraction);
}

export function checkThresholds(thresholds: ValidationThresholds): void {
  const problems: string[] = [];
  for (const key of ['minTrainPerClass', 'minEvalPerClass', 'maxCorrupt', 'maxLeaks'] as const) {
    if (!Number.isInteger(thresholds[key]) || thresholds[key] < 0) problems.push(`${key} is ${thresholds[key]}; it must be a non-negative integer`);
  }
  if (!(thresholds.maxImbalance >= 1)) problems.push(`maxImbalance is ${thresholds.maxImbalance}; it must be at least 1`);
  if (!(thresholds.maxDuplicateShare >= 0 && thresholds.maxDuplicateShare <= 1)) {
    problems.push(`maxDuplicateShare is ${thresholds.maxDuplicateShare}; it must be between 0 and 1`);
  }
  if (!(thresholds.valFraction >= 0 && thresholds.valFraction < 1)) problems.push(`valFraction is ${thresholds.valFraction}; it must be in [0, 1)`);
  if (problems.length > 0) throw new RangeError(`invalid validation thresholds: ${problems.join('; ')}`);
}

export function validateDataset(
  input: { listing: DatasetListing; info: DatasetInfoResult; scanned: readonly ScannedFile[] },
  thresholds: ValidationThresholds = DEFAULT_THRESHOLDS,
): DatasetReport {
  checkThresholds(thresholds);
  const { listing, info, scanned } = input;
  const errors: string[] = [];
  const warnings: string[] = [];
  if (!info.ok) errors.push(...info.problems);

  const corrupt = scanned.filter((file) => file.problem !== null).map((file) => ({ key: file.key, ...(file.problem as { code: string; message: string }) }));
  const usable = scanned.filter((file) => file.problem === null);
  if (corrupt.length > thresholds.maxCorrupt) {
    errors.push(
      `${corrupt.length} image(s) are corrupt or refused by the serving decoder (allowed: ${thresholds.maxCorrupt}); fix or remove them (listed below)`,
    );
  } else if (corrupt.length > 0) {
    warnings.push(`${corrupt.length} image(s) are corrupt or refused by the serving decoder (allowed: ${thresholds.maxCorrupt})`);
  }

  // Which split each usable image ends up in for training (val may be carved out of train/).
  const hasVal = listing.splits.includes('val');
  const effectiveSplit = (file: ScannedFile): SplitName =>
    file.split === 'train' && !hasVal && isCarvedIntoValidation(file.sha256, thresholds.valFraction) ? 'val' : file.split;

  const splits: Partial<Record<SplitName, SplitCounts>> = {};
  for (const split of SPLITS) {
    if (split === 'val' ? true : listing.splits.includes(split)) splits[split] = { REAL: 0, FAKE: 0, carved: split === 'val' && !hasVal };
  }
  const sourced = usable.some((file) => sourceOf(file.key) !== DEFAULT_SOURCE);
  for (const file of usable) {
    const counts = splits[effectiveSplit(file)];
    if (counts === undefined) continue;
    counts[file.className] += 1;
    if (sourced) {
      const key = sourceKey(file.key, file.label);
      const sources = (counts.sources ??= {});
      sources[key] = (sources[key] ?? 0) + 1;
    }
  }
  if (!listing.splits.includes('train')) errors.push('there is no train/ folder with images; a dataset needs train/REAL and train/FAKE');
  for (const split of SPLITS) {
    const counts = splits[split];
    if (counts === undefined || (split === 'train' && !listing.splits.includes('train'))) continue;
    const where = counts.carved ? `val (carved from train/ with --val-fraction ${thresholds.valFraction})` : `${split}/`;
    const minimum = split === 'train' ? thresholds.minTrainPerClass : thresholds.minEvalPerClass;
    for (const className of CLASS_NAMES) {
      if (counts[className] === 0) errors.push(`${where} has no usable ${className} images`);
      else if (counts[className] < minimum) errors.push(`${where} has ${counts[className]} usable ${className} images; the minimum is ${minimum}`);
    }
    const small = Math.min(counts.REAL, counts.FAKE);
    const large = Math.max(counts.REAL, counts.FAKE);
    if (small > 0) {
      const ratio = large / small;
      const bigger: ClassName = counts.REAL >= counts.FAKE ? 'REAL' : 'FAKE';
      const text = `${where} is imbalanced: ${large} ${bigger} vs ${small} ${bigger === 'REAL' ? 'FAKE' : 'REAL'} (ratio ${ratio.toFixed(2)})`;
      if (ratio > thresholds.maxImbalance) errors.push(`${text}; the limit is ${thresholds.maxImbalance}`);
      else if (ratio > IMBALANCE_WARNING) warnings.push(text);
    }
  }

  // Same bytes in several places.
  const bySha = new Map<string, ScannedFile[]>();
  for (const file of usable) {
    const group = bySha.get(file.sha256);
    if (group === undefined) bySha.set(file.sha256, [file]);
    else group.push(file);
  }
  const labelConflicts: SameBytes[] = [];
  const leaks: SameBytes[] = [];
  const duplicates: SameBytes[] = [];
  let leakedImages = 0;
  const extraCopies: Partial<Record<SplitName, number>> = {};
  for (const [sha256, group] of bySha) {
    if (group.length < 2) continue;
    const keys = group.map((file) => file.key).sort();
    if (new Set(group.map((file) => file.className)).size > 1) labelConflicts.push({ sha256, keys });
    const splitsOfGroup = new Set(group.map(effectiveSplit));
    if (splitsOfGroup.size > 1) {
      leaks.push({ sha256, keys });
      leakedImages += group.filter((file) => effectiveSplit(file) !== 'train').length;
    }
    for (const split of splitsOfGroup) {
      const inSplit = group.filter((file) => effectiveSplit(file) === split);
      if (inSplit.length > 1) {
        duplicates.push({ sha256, keys: inSplit.map((file) => file.key).sort() });
        extraCopies[split] = (extraCopies[split] ?? 0) + inSplit.length - 1;
      }
    }
  }
  if (labelConflicts.length > 0) {
    errors.push(`${labelConflicts.length} image(s) appear with the same bytes under both REAL and FAKE; each image needs one label (listed below)`);
  }
  if (leaks.length > 0) {
    const text = `${leaks.length} image(s) appear in more than one split (${leakedImages} evaluation copies); evaluation on leaked images overstates accuracy (listed below)`;
    if (leakedImages > thresholds.maxLeaks) errors.push(`${text}; allowed: ${thresholds.maxLeaks}`);
    else warnings.push(text);
  }
  for (const split of SPLITS) {
    const extra = extraCopies[split];
    const counts = splits[split];
    if (extra === undefined || counts === undefined) continue;
    const share = extra / Math.max(1, counts.REAL + counts.FAKE);
    const text = `${split}${counts.carved ? ' (carved)' : '/'} holds ${extra} extra byte-identical copies (${(share * 100).toFixed(2)}% of the split)`;
    if (share > thresholds.maxDuplicateShare) errors.push(`${text}; the limit is ${(thresholds.maxDuplicateShare * 100).toFixed(2)}%`);
    else warnings.push(text);
  }

  if (listing.ignored.length > 0) {
    warnings.push(`${listing.ignored.length} file(s) are ignored by the trainer (not images in a split's REAL/ or FAKE/ folder; listed below)`);
  }
  const extensionMismatches = usable
    .filter((file) => file.format !== null && !extensionMatches(file.key, file.format))
    .map((file) => ({ key: file.key, format: file.format as string }));
  if (extensionMismatches.length > 0) warnings.push(`${extensionMismatches.length} file(s) have an extension that does not match their content`);

  const formats: Record<string, number> = {};
  for (const file of usable) formats[file.format ?? 'unknown'] = (formats[file.format ?? 'unknown'] ?? 0) + 1;
  const sides = usable.map((file) => Math.min(file.width, file.height)).sort((a, b) => a - b);

  return {
    ok: errors.length === 0,
    location: listing.location,
    dataset: info.ok ? info.info : null,
    thresholds: { ...thresholds },
    images: scanned.length,
    splits,
    formats,
    shorter_side:
      sides.length === 0 ? null : { min: sides[0] as number, median: sides[Math.floor(sides.length / 2)] as number, max: sides[sides.length - 1] as number },
    errors,
    warnings,
    corrupt,
    label_conflicts: labelConflicts,
    leaks,
    duplicates,
    ignored: listing.ignored,
    cached_reconstructions: listing.cached,
    extension_mismatches: extensionMismatches,
  };
}

function extensionMatches(key: string, format: string): boolean {
  const extension = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return format === 'jpeg' ? extension === 'jpg' || extension === 'jpeg' : extension === format;
}

/** The report as text for a terminal or a build log; long lists are cut at `maxListed` entries. */
export function renderDatasetReport(report: DatasetReport, maxListed = 20): string {
  const lines: string[] = [];
  const title = report.dataset === null ? '(dataset.json unusable)' : `${report.dataset.name} ${report.dataset.version} by ${report.dataset.author}`;
  lines.push(`Dataset ${report.location}: ${title}`);
  lines.push(`  ${report.images} images; verdict: ${report.ok ? 'OK' : 'INVALID'}`);
  lines.push('  split        REAL    FAKE   ratio');
  for (const split of SPLITS) {
    const counts = report.splits[split];
    if (counts === undefined) continue;
    const small = Math.min(counts.REAL, counts.FAKE);
    const ratio = small === 0 ? '-' : (Math.max(counts.REAL, counts.FAKE) / small).toFixed(2);
    const name = counts.carved ? 'val*' : split;
    lines.push(`  ${name.padEnd(8)} ${String(counts.REAL).padStart(7)} ${String(counts.FAKE).padStart(7)} ${ratio.padStart(7)}`);
  }
  const sourceKeys = [...new Set(SPLITS.flatMap((split) => Object.keys(report.splits[split]?.sources ?? {})))].sort();
  if (sourceKeys.length > 0) {
    const shown = SPLITS.filter((split) => report.splits[split] !== undefined);
    lines.push(`  source${' '.repeat(26)}${shown.map((split) => (report.splits[split]?.carved === true ? 'val*' : split).padStart(7)).join('')}`);
    for (const key of sourceKeys) {
      lines.push(`  ${key.padEnd(32)}${shown.map((split) => String(report.splits[split]?.sources?.[key] ?? 0).padStart(7)).join('')}`);
    }
  }
  if (report.splits.val?.carved === true) lines.push(`  * carved from train/ by content hash (--val-fraction ${report.thresholds.valFraction})`);
  const formats = Object.entries(report.formats)
    .map(([format, count]) => `${format} ${count}`)
    .join(', ');
  if (formats.length > 0) lines.push(`  formats: ${formats}`);
  if (report.shorter_side !== null) {
    const side = report.shorter_side;
    lines.push(`  shorter side: min ${side.min} px, median ${side.median} px, max ${side.max} px`);
  }
  if (report.cached_reconstructions > 0) {
    lines.push(
      `  aligned/: ${report.cached_reconstructions} reconstructions of the REAL photos cached by the trainer (training/aligned_fakes.py), not dataset images`,
    );
  }
  const section = <T>(heading: string, items: readonly T[], format: (item: T) => string): void => {
    if (items.length === 0) return;
    lines.push(`${heading} (${items.length}):`);
    for (const item of items.slice(0, maxListed)) lines.push(`  ${format(item)}`);
    if (items.length > maxListed) lines.push(`  … and ${items.length - maxListed} more (see the JSON report)`);
  };
  section('Errors', report.errors, (text) => `✗ ${text}`);
  section('Warnings', report.warnings, (text) => `! ${text}`);
  section('Corrupt or refused images', report.corrupt, (item) => `${item.key}: ${item.code}: ${item.message}`);
  section('Same bytes under REAL and FAKE', report.label_conflicts, (item) => `${item.sha256.slice(0, 12)}: ${item.keys.join(' = ')}`);
  section('Leaked across splits', report.leaks, (item) => `${item.sha256.slice(0, 12)}: ${item.keys.join(' = ')}`);
  section('Duplicates within a split', report.duplicates, (item) => `${item.sha256.slice(0, 12)}: ${item.keys.join(' = ')}`);
  section('Ignored files', report.ignored, (item) => `${item.key}: ${item.reason}`);
  section('Extension does not match content', report.extension_mismatches, (item) => `${item.key}: ${item.format}`);
  return lines.join('\n');
}
