/**
 * The Cloud Storage path, through the real @google-cloud/storage client against the local JSON
 * API server: a data scientist uploads a dataset with scripts/ops/upload-dataset.ts (dataset.json
 * last), and the pipeline lists it and mirrors it into its cache for the trainer.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startGcsServer, type GcsServer } from '../../../functions/test/support/gcs-server';
import { main as uploadMain } from '../../../scripts/ops/upload-dataset';
import { cacheFolderFor, downloadDataset, listDataset, openDataset } from '../../src/dataset';
import { DATASET_INFO, generateImages, writeDataset } from '../support/datasets';

let server: GcsServer;
let root: string;
let images: Record<string, Buffer>;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startGcsServer();
  root = mkdtempSync(path.join(tmpdir(), 'gcs-dataset-'));
  images = await generateImages({ train: { REAL: 6, FAKE: 6 }, val: { REAL: 2, FAKE: 2 } }, { formats: ['jpeg', 'png'] });
  writeDataset(path.join(root, 'local'), images);
  env = { STORAGE_API_ENDPOINT: server.url, MODEL_STORE: path.join(root, 'models') };
});

afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const SMALL = ['--min-train-per-class', '2', '--min-eval-per-class', '1'];

async function upload(args: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const code = await uploadMain(args, env, { write: (text: string) => (output += text) });
  return { code, output };
}

describe('uploading a dataset to Cloud Storage', () => {
  it('validates, uploads every image, and writes dataset.json last', async () => {
    const { code, output } = await upload(['--dataset', path.join(root, 'local'), '--to', 'gs://data-bucket/datasets', ...SMALL]);
    expect(output).toContain('verdict: OK');
    expect(output).toMatch(/upload: files 16\/16 \(100%\)/);
    expect(output).toContain('uploaded 17 files');
    expect(code).toBe(0);
    for (const [key, bytes] of Object.entries(images)) {
      expect(server.get('data-bucket', `datasets/tiny/1/${key}`)?.equals(bytes)).toBe(true);
    }
    expect(JSON.parse(server.get('data-bucket', 'datasets/tiny/1/dataset.json')?.toString() ?? 'null')).toEqual(DATASET_INFO);
    // Generations increase with every write: dataset.json's is the highest, so it arrived last.
    const { store } = openDataset('gs://data-bucket/datasets/tiny/1', { gcsApiEndpoint: server.url });
    const blobs = await store.list('');
    const info = blobs.find((blob) => blob.key === 'dataset.json');
    expect(info).toBeDefined();
    for (const blob of blobs) if (blob.key !== 'dataset.json') expect(BigInt(blob.generation) < BigInt(info?.generation ?? 0)).toBe(true);
  });

  it('refuses to overwrite an uploaded version', async () => {
    const { code, output } = await upload(['--dataset', path.join(root, 'local'), '--to', 'gs://data-bucket/datasets', ...SMALL]);
    expect(code).toBe(7);
    expect(output).toContain('gs://data-bucket/datasets/tiny/1/dataset.json already exists; datasets are immutable: choose a new --version');
  });

  it('uploads under --name and --version, writing them into the uploaded dataset.json', async () => {
    const { code } = await upload(['--dataset', path.join(root, 'local'), '--to', 'gs://data-bucket/datasets', '--version', '2', ...SMALL]);
    expect(code).toBe(0);
    expect(JSON.parse(server.get('data-bucket', 'datasets/tiny/2/dataset.json')?.toString() ?? 'null')).toEqual({ ...DATASET_INFO, version: '2' });
  });

  it('uploads nothing when the dataset is invalid', async () => {
    const broken = writeDataset(path.join(root, 'broken'), { ...images, 'train/REAL/broken.jpg': 'not an image' }, { ...DATASET_INFO, name: 'broken' });
    const requestsBefore = server.requests.filter((request) => request.method === 'POST').length;
    const { code, output } = await upload(['--dataset', broken, '--to', 'gs://data-bucket/datasets', ...SMALL]);
    expect(code).toBe(3);
    expect(output).toContain('train/REAL/broken.jpg: unsupported_format');
    expect(server.requests.filter((request) => request.method === 'POST').length).toBe(requestsBefore);
  });

  it('explains usage errors', async () => {
    const { code, output } = await upload(['--dataset', path.join(root, 'local')]);
    expect(code).toBe(2);
    expect(output).toContain('--to is required (e.g. gs://my-bucket/datasets)');
  });
});

describe('reading a gs:// dataset in the pipeline', () => {
  it('lists it like a local one and mirrors it into the cache, removing stale files', async () => {
    const uri = 'gs://data-bucket/datasets/tiny/1';
    const dataset = openDataset(uri, { gcsApiEndpoint: server.url });
    expect(dataset.localRoot).toBeNull();
    const listing = await listDataset(dataset.store);
    expect(listing.location).toBe(uri);
    expect(listing.splits).toEqual(['train', 'val']);
    expect(listing.files.map((file) => file.key)).toEqual(Object.keys(images).sort());
    expect(listing.files.find((file) => file.key === 'val/FAKE/f0001.png')).toMatchObject({ split: 'val', className: 'FAKE', label: 1 });

    const folder = cacheFolderFor(uri, path.join(root, 'cache'));
    expect(folder).toBe(path.join(root, 'cache', 'data-bucket', 'datasets', 'tiny', '1'));
    const local = await downloadDataset(dataset.store, listing, folder);
    writeFileSync(path.join(folder, 'train', 'REAL', 'stale.png'), 'left over from another version');
    mkdirSync(path.join(folder, 'aligned', 'FAKE', 'aligned-taef2'), { recursive: true });
    writeFileSync(path.join(folder, 'aligned', 'FAKE', 'aligned-taef2', 'train-0a.jpg'), 'a reconstruction the trainer cached');
    const progress: number[] = [];
    await downloadDataset(dataset.store, listing, folder, { onProgress: (done) => progress.push(done) });
    expect(existsSync(path.join(folder, 'train', 'REAL', 'stale.png'))).toBe(false);
    expect(existsSync(path.join(folder, 'aligned', 'FAKE', 'aligned-taef2', 'train-0a.jpg'))).toBe(true);
    expect(progress.at(-1)).toBe(16);
    for (const [key, bytes] of Object.entries(images)) expect(readFileSync(path.join(local, ...key.split('/'))).equals(bytes)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(local, 'dataset.json'), 'utf8'))).toEqual(DATASET_INFO);
  });
});
