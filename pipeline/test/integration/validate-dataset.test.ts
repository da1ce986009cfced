/**
 * Dataset validation on real files: generated images in a temporary folder, listed, hashed and
 * decoded by the serving decoder (sharp), then judged by validateDataset.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SharpDecoder } from '../../../functions/src/detector/image/sharp-decoder';
import { listDataset, openDataset } from '../../src/dataset';
import { parseDatasetInfo } from '../../src/dataset-info';
import { scanDataset } from '../../src/scan-dataset';
import { DEFAULT_THRESHOLDS, renderDatasetReport, validateDataset, type DatasetReport, type ValidationThresholds } from '../../src/validate-dataset';
import { DATASET_INFO, generateImages, noiseImage, writeDataset } from '../support/datasets';

const LIMITS = { maxImageBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, minImageSide: 16 };
const THRESHOLDS: ValidationThresholds = { ...DEFAULT_THRESHOLDS, minTrainPerClass: 6, minEvalPerClass: 2 };

let root: string;
let count = 0;
let clean: Record<string, Buffer>;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'validate-dataset-'));
  clean = await generateImages({ train: { REAL: 8, FAKE: 8 }, val: { REAL: 3, FAKE: 3 } }, { formats: ['png', 'jpeg', 'webp'] });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

async function validate(files: Record<string, Buffer | string>, info: object | string | null = DATASET_INFO, thresholds = THRESHOLDS): Promise<DatasetReport> {
  count += 1;
  const folder = writeDataset(path.join(root, `dataset-${count}`), files, info);
  const dataset = openDataset(folder);
  const listing = await listDataset(dataset.store);
  const scanned = await scanDataset(listing.files, (key) => dataset.store.read(key), {
    decoder: new SharpDecoder({ maxPixels: LIMITS.maxPixels }),
    limits: LIMITS,
    decodeSize: 32,
  });
  return validateDataset({ listing, info: parseDatasetInfo(listing.infoBytes), scanned }, thresholds);
}

describe('validateDataset on generated files', () => {
  it('accepts a clean dataset and counts it', async () => {
    const report = await validate(clean);
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.splits).toEqual({ train: { REAL: 8, FAKE: 8, carved: false }, val: { REAL: 3, FAKE: 3, carved: false } });
    expect(report.formats).toEqual({ png: 8, jpeg: 8, webp: 6 });
    expect(report.dataset).toEqual(DATASET_INFO);
    expect(report.shorter_side).toEqual({ min: 32, median: 32, max: 32 });
  });

  it('finds cross-split leakage by content, whatever the file names', async () => {
    const report = await validate({ ...clean, 'val/FAKE/copy-of-train.png': clean['train/FAKE/f0000.png'] as Buffer });
    expect(report.ok).toBe(false);
    expect(report.leaks).toEqual([{ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), keys: ['train/FAKE/f0000.png', 'val/FAKE/copy-of-train.png'] }]);
    expect(report.errors).toContain(
      '1 image(s) appear in more than one split (1 evaluation copies); evaluation on leaked images overstates accuracy (listed below); allowed: 0',
    );
    expect(renderDatasetReport(report)).toContain('Leaked across splits (1):');
  });

  it('reports the same bytes under both labels', async () => {
    const report = await validate({ ...clean, 'train/REAL/mislabelled.png': clean['train/FAKE/f0003.png'] as Buffer });
    expect(report.label_conflicts.map((group) => group.keys)).toEqual([['train/FAKE/f0003.png', 'train/REAL/mislabelled.png']]);
    expect(report.errors[0]).toMatch(/^1 image\(s\) appear with the same bytes under both REAL and FAKE/);
  });

  it('lists every corrupt or refused file with the serving error code', async () => {
    const jpeg = await noiseImage(999, { format: 'jpeg' });
    const report = await validate({
      ...clean,
      'train/REAL/truncated.jpg': jpeg.subarray(0, 200),
      'train/REAL/not-an-image.jpg': 'hello, I am text',
      'train/FAKE/tiny.png': await noiseImage(1000, { size: 8 }),
      'train/FAKE/empty.webp': Buffer.alloc(0),
    });
    expect(report.ok).toBe(false);
    expect(report.corrupt.map(({ key, code }) => [key, code])).toEqual([
      ['train/FAKE/empty.webp', 'empty_image'],
      ['train/FAKE/tiny.png', 'image_too_small'],
      ['train/REAL/not-an-image.jpg', 'unsupported_format'],
      ['train/REAL/truncated.jpg', 'undecodable_image'],
    ]);
    expect(report.errors[0]).toBe('4 image(s) are corrupt or refused by the serving decoder (allowed: 0); fix or remove them (listed below)');
    // Corrupt files are not counted as training images.
    expect(report.splits.train).toEqual({ REAL: 8, FAKE: 8, carved: false });
    const text = renderDatasetReport(report);
    expect(text).toContain('Corrupt or refused images (4):');
    expect(text).toContain('train/FAKE/tiny.png: image_too_small: image is 8×8 pixels; both sides must be at least 16 pixels');
  });

  it('tolerates corrupt files up to --max-corrupt, still listing them', async () => {
    const report = await validate({ ...clean, 'train/REAL/bad.png': 'nope' }, DATASET_INFO, { ...THRESHOLDS, maxCorrupt: 1 });
    expect(report.ok).toBe(true);
    expect(report.corrupt).toHaveLength(1);
    expect(report.warnings[0]).toContain('1 image(s) are corrupt');
  });

  it.each<[string, object | string | null, string]>([
    ['a missing dataset.json', null, 'dataset.json is missing; every dataset needs one with name, version, classes, description and author'],
    ['invalid JSON', '{"name": ', 'dataset.json is not valid JSON'],
    ['a missing author', { ...DATASET_INFO, author: undefined }, "dataset.json: (root) must have required property 'author'"],
    ['unknown classes', { ...DATASET_INFO, classes: ['REAL', 'AI'] }, 'dataset.json: /classes/1 must be equal to one of the allowed values'],
    ['an invalid name', { ...DATASET_INFO, name: 'My Dataset' }, 'dataset.json: /name must match pattern'],
  ])('reports schema errors: %s', async (_name, info, message) => {
    const report = await validate(clean, info);
    expect(report.ok).toBe(false);
    expect(report.dataset).toBeNull();
    expect(report.errors.some((error) => error.startsWith(message))).toBe(true);
  });

  it('accepts the classes in any order', async () => {
    expect((await validate(clean, { ...DATASET_INFO, classes: ['FAKE', 'REAL'] })).ok).toBe(true);
  });

  it('fails an imbalanced split and warns about a mild imbalance', async () => {
    const imbalanced = await generateImages({ train: { REAL: 21, FAKE: 6 }, val: { REAL: 2, FAKE: 2 } });
    const report = await validate(imbalanced);
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual(['train/ is imbalanced: 21 REAL vs 6 FAKE (ratio 3.50); the limit is 3']);
    const mild = await validate(await generateImages({ train: { REAL: 10, FAKE: 6 }, val: { REAL: 2, FAKE: 2 } }));
    expect(mild.ok).toBe(true);
    expect(mild.warnings).toEqual(['train/ is imbalanced: 10 REAL vs 6 FAKE (ratio 1.67)']);
  });

  it('fails a split with too few images or a missing class', async () => {
    const report = await validate(await generateImages({ train: { REAL: 8, FAKE: 3 }, val: { REAL: 2, FAKE: 0 } }), DATASET_INFO, {
      ...THRESHOLDS,
      maxImbalance: 10,
    });
    expect(report.errors).toEqual(['train/ has 3 usable FAKE images; the minimum is 6', 'val/ has no usable FAKE images']);
  });

  it('predicts the validation split the trainer carves out of train/ when there is no val/', async () => {
    const files = await generateImages({ train: { REAL: 40, FAKE: 40 } });
    const report = await validate(files, DATASET_INFO, { ...THRESHOLDS, valFraction: 0.25, minTrainPerClass: 1, minEvalPerClass: 1 });
    const val = report.splits.val;
    const train = report.splits.train;
    expect(val?.carved).toBe(true);
    expect((val?.REAL ?? 0) + (train?.REAL ?? 0)).toBe(40);
    expect(val?.REAL).toBeGreaterThan(0);
    expect(renderDatasetReport(report)).toContain('* carved from train/ by content hash (--val-fraction 0.25)');
  });

  it('warns about ignored files and duplicates under the threshold', async () => {
    const report = await validate(
      {
        ...clean,
        'README.md': 'notes',
        'train/real/lower-case.png': clean['train/REAL/r0000.png'] as Buffer,
        'train/REAL/notes.txt': 'x',
        'valid/REAL/x.png': clean['val/REAL/r0000.png'] as Buffer,
        'train/REAL/r0000-copy.png': clean['train/REAL/r0000.png'] as Buffer,
      },
      DATASET_INFO,
      { ...THRESHOLDS, maxDuplicateShare: 0.1 },
    );
    expect(report.ok).toBe(true);
    expect(report.ignored.map((item) => item.key).sort()).toEqual(['README.md', 'train/REAL/notes.txt', 'train/real/lower-case.png', 'valid/REAL/x.png']);
    expect(report.duplicates.map((group) => group.keys)).toEqual([['train/REAL/r0000-copy.png', 'train/REAL/r0000.png']]);
    expect(report.warnings).toEqual([
      'train/ holds 1 extra byte-identical copies (5.88% of the split)',
      "4 file(s) are ignored by the trainer (not images in a split's REAL/ or FAKE/ folder; listed below)",
    ]);
  });

  it("counts the trainer's cached reconstructions under aligned/ apart, neither as images nor as ignored files", async () => {
    const report = await validate(
      { ...clean, 'aligned/FAKE/aligned-taef2/train-0a.jpg': clean['train/REAL/r0000.png'] as Buffer, 'aligned/index.json': '{}' },
      DATASET_INFO,
      THRESHOLDS,
    );
    expect(report.ok).toBe(true);
    expect(report.cached_reconstructions).toBe(2);
    expect(report.ignored).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.images).toBe((await validate(clean, DATASET_INFO, THRESHOLDS)).images);
    expect(renderDatasetReport(report)).toContain('aligned/: 2 reconstructions of the REAL photos cached by the trainer');
  });

  it('flags an extension that does not match the content', async () => {
    const report = await validate({ ...clean, 'train/REAL/really-a-png.jpg': await noiseImage(4242) });
    expect(report.extension_mismatches).toEqual([{ key: 'train/REAL/really-a-png.jpg', format: 'png' }]);
  });
});
