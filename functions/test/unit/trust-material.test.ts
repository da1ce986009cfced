/** trust.json and the files it names (evidence/trust-material.ts), on a local folder store. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrustMaterial, parseTrustIndex } from '../../src/detector/evidence/trust-material';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function folder(files: Record<string, string>): FileBlobStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trust-unit-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return new FileBlobStore(dir);
}

describe('parseTrustIndex', () => {
  it.each([
    ['not JSON', '{', /trust.json is not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['no version', JSON.stringify({ trust_anchors: ['a.pem'] }), /version must be a non-empty string/],
    ['no anchors', JSON.stringify({ version: '1', trust_anchors: [] }), /trust_anchors must name at least one PEM file/],
    ['a path outside the folder', JSON.stringify({ version: '1', trust_anchors: ['../etc/passwd'] }), /trust_anchors must be a list of file names/],
    ['a bad trust_config', JSON.stringify({ version: '1', trust_anchors: ['a.pem'], trust_config: 7 }), /trust_config must be a file name/],
  ])('rejects %s, naming the field', (_name, text, message) => {
    expect(() => parseTrustIndex(Buffer.from(text))).toThrow(message);
  });

  it('reports every problem at once', () => {
    expect(() => parseTrustIndex(Buffer.from(JSON.stringify({ trust_anchors: [], allowed_list: 'x' })))).toThrow(
      /version must .*; trust_anchors must name .*; allowed_list must be a list/,
    );
  });
});

describe('loadTrustMaterial', () => {
  it('concatenates the anchors and the allowed list, and reads the EKU configuration', async () => {
    const store = folder({
      'trust.json': JSON.stringify({ version: ' 2026-08.1 ', trust_anchors: ['a.pem', 'b.pem'], allowed_list: ['c.pem'], trust_config: 'eku.cfg' }),
      'a.pem': PEM.trim(),
      'b.pem': PEM,
      'c.pem': PEM,
      'eku.cfg': '1.3.6.1.5.5.7.3.36\n',
    });
    expect(await loadTrustMaterial(store)).toEqual({ version: '2026-08.1', trustAnchors: PEM + PEM, allowedList: PEM, trustConfig: '1.3.6.1.5.5.7.3.36\n' });
  });

  it('rejects a named file that holds no certificate, naming it', async () => {
    const store = folder({ 'trust.json': JSON.stringify({ version: '1', trust_anchors: ['a.pem'] }), 'a.pem': 'not a certificate' });
    await expect(loadTrustMaterial(store)).rejects.toThrow('a.pem holds no PEM certificate');
  });

  it('rejects a folder without trust.json', async () => {
    await expect(loadTrustMaterial(folder({}))).rejects.toThrow(/trust.json/);
  });

  it('reads the shipped material', async () => {
    const material = await loadTrustMaterial(new FileBlobStore(path.join(__dirname, '..', '..', '..', 'models', 'trust')));
    expect(material.version).toMatch(/^\d{4}-\d{2}/);
    expect(material.trustAnchors.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(40);
    expect(material.allowedList.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(50);
  });
});
