/**
 * Publishing on both BlobStore adapters: FileBlobStore on a temporary folder, and GcsBlobStore
 * through the real Cloud Storage client against the local JSON API server. The point is the
 * production.json flip: concurrent publishers that read the same pointer race, exactly one wins,
 * the others get a conflict naming both versions, and the pointer stays valid.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseProductionPointer } from '../../../functions/src/detector/model/model-metadata';
import type { BlobStore } from '../../../functions/src/platform/storage/blob-store';
import { FileBlobStore } from '../../../functions/src/platform/storage/file-blob-store';
import { GcsBlobStore } from '../../../functions/src/platform/storage/gcs-blob-store';
import { startGcsServer, type GcsServer } from '../../../functions/test/support/gcs-server';
import { isPipelineError, PublishConflictError } from '../../src/errors';
import { keepCandidate, makeVersionId, publishVersion, readProductionPointer, type VersionFiles } from '../../src/publish';

const PUBLISHERS = 6;
let server: GcsServer;
let tempRoot: string;
let stores = 0;

beforeAll(async () => {
  server = await startGcsServer();
  tempRoot = mkdtempSync(path.join(tmpdir(), 'publish-test-'));
});

afterAll(async () => {
  await server.close();
  rmSync(tempRoot, { recursive: true, force: true });
});

const adapters: Array<{ name: string; open: () => BlobStore }> = [
  { name: 'FileBlobStore', open: () => new FileBlobStore(mkdtempSync(path.join(tempRoot, 'store-'))) },
  {
    name: 'GcsBlobStore',
    open: () => {
      stores += 1;
      return new GcsBlobStore({ bucket: 'models-bucket', prefix: `run-${stores}/models`, apiEndpoint: server.url });
    },
  },
];

interface Candidate {
  version: string;
  sha256: string;
  files: VersionFiles;
}

function candidate(second: number): Candidate {
  const model = randomBytes(256);
  const sha256 = createHash('sha256').update(model).digest('hex');
  const version = makeVersionId(new Date(Date.UTC(2026, 10, 26, 10, 15, second)), sha256);
  return {
    version,
    sha256,
    files: {
      'model.onnx': model,
      'metadata.json': JSON.stringify({ version }),
      'reference.json': '{}',
      'metrics.json': '{}',
      'README.md': `# detector ${version}\n`,
      'report.json': '{}',
    },
  };
}

const publish = (store: BlobStore, c: Candidate, expected: Awaited<ReturnType<typeof readProductionPointer>>) =>
  publishVersion({
    store,
    name: 'detector',
    version: c.version,
    sha256: c.sha256,
    files: c.files,
    expected,
    reason: 'test',
    now: new Date('2026-11-26T10:16:00Z'),
  });

describe('makeVersionId', () => {
  it('is the UTC time to the second and the first 8 hex digits of the model sha256', () => {
    expect(makeVersionId(new Date('2026-11-26T10:15:00.789Z'), 'abcdef0123456789'.repeat(4))).toBe('20261126T101500Z-abcdef01');
    expect(() => makeVersionId(new Date(), 'not-a-sha')).toThrow('sha256 must be 64 lower-case hex digits');
  });
});

describe.each(adapters)('publishing on $name', ({ open }) => {
  let store: BlobStore;
  beforeEach(() => {
    store = open();
  });

  it('writes the version files, then the pointer; the next publish records the previous version', async () => {
    const first = candidate(1);
    const result = await publish(store, first, await readProductionPointer(store, 'detector'));
    expect(result.location).toBe(`${store.location}/detector/${first.version}`);
    for (const [name, content] of Object.entries(first.files)) {
      expect((await store.read(`detector/${first.version}/${name}`)).equals(Buffer.from(content))).toBe(true);
    }
    const pointer = parseProductionPointer('production.json', await store.read('detector/production.json'));
    expect(pointer).toEqual({ version: first.version, sha256: first.sha256, updated_at: '2026-11-26T10:16:00.000Z', previous_version: null, reason: 'test' });

    const second = candidate(2);
    await publish(store, second, await readProductionPointer(store, 'detector'));
    const next = (await readProductionPointer(store, 'detector')).pointer;
    expect(next).toMatchObject({ version: second.version, previous_version: first.version });
  });

  it(`lets exactly one of ${PUBLISHERS} concurrent publishers flip the pointer; the others get a conflict`, async () => {
    const seed = candidate(0);
    await publish(store, seed, await readProductionPointer(store, 'detector'));
    const expected = await readProductionPointer(store, 'detector');
    const racers = Array.from({ length: PUBLISHERS }, (_, i) => candidate(10 + i));
    const results = await Promise.allSettled(racers.map((racer) => publish(store, racer, expected)));

    const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [racers[i] as Candidate] : []));
    const losers = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(PUBLISHERS - 1);
    const winner = winners[0] as Candidate;
    for (const loser of losers) {
      expect(loser).toBeInstanceOf(PublishConflictError);
      expect(isPipelineError(loser) && loser.exitCode).toBe(7);
      expect((loser as PublishConflictError).currentVersion).toBe(winner.version);
      expect((loser as Error).message).toContain(`it named version ${seed.version} when read, and now names version ${winner.version}`);
      expect((loser as Error).message).toContain(`This run's version ${(loser as PublishConflictError).ourVersion} is stored under`);
      expect((loser as Error).message).toContain('but is NOT in production');
    }
    // The pointer is intact, valid, and names the winner, whose model is complete.
    const pointer = parseProductionPointer('production.json', await store.read('detector/production.json'));
    expect(pointer).toMatchObject({ version: winner.version, sha256: winner.sha256, previous_version: seed.version });
    const model = await store.read(`detector/${winner.version}/model.onnx`);
    expect(createHash('sha256').update(model).digest('hex')).toBe(pointer.sha256);
  });

  it('lets exactly one of several first publishers create the pointer', async () => {
    const expected = await readProductionPointer(store, 'detector');
    expect(expected).toEqual({ generation: null, pointer: null });
    const racers = Array.from({ length: PUBLISHERS }, (_, i) => candidate(20 + i));
    const results = await Promise.allSettled(racers.map((racer) => publish(store, racer, expected)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const messages = results.flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
    for (const message of messages) expect(message).toContain('it named no version when read');
  });

  it('refuses to overwrite a published version with different bytes, and accepts an identical retry', async () => {
    const c = candidate(30);
    await publish(store, c, await readProductionPointer(store, 'detector'));
    await expect(publish(store, c, await readProductionPointer(store, 'detector'))).resolves.toMatchObject({ pointer: { version: c.version } });
    const tampered = { ...c, files: { ...c.files, 'README.md': 'different' } };
    await expect(publish(store, tampered, await readProductionPointer(store, 'detector'))).rejects.toThrow(
      `detector/${c.version}/README.md already exists with different content; published versions are immutable`,
    );
  });

  it('keeps a rejected model under candidates/ without touching production.json', async () => {
    const c = candidate(40);
    const location = await keepCandidate(store, 'detector', c.version, c.files);
    expect(location).toBe(`${store.location}/detector/candidates/${c.version}`);
    expect((await store.list('detector/')).map((blob) => blob.key)).toEqual(
      Object.keys(c.files)
        .sort()
        .map((name) => `detector/candidates/${c.version}/${name}`),
    );
    expect(await store.stat('detector/production.json')).toBeNull();
  });
});
