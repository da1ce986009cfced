/**
 * The real C2PA reader (@contentauth/c2pa-wasm) on c2pa-rs's own signed files, on the malformed
 * manifest of scripts/fixtures/make-evidence-fixtures.ts, on OpenAI's signed image and on manifests signed
 * here with c2pa-rs's test key (support/c2pa-signer.ts). Without trust material an intact manifest
 * is `untrusted`; with the shipped material (models/trust) a signer it covers is `valid`; a tampered
 * or malformed manifest is `invalid` either way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { C2paWasmReader } from '../../src/detector/evidence/c2pa-wasm-reader';
import { extractEvidence } from '../../src/detector/evidence/extract-evidence';
import { loadTrustMaterial } from '../../src/detector/evidence/trust-material';
import { FileBlobStore } from '../../src/platform/storage/file-blob-store';
import { signWithTestKey, TEST_CHAIN } from '../support/c2pa-signer';
import { FIXTURES, fixtureImage, SHIPPED_TRUST, tempDir } from '../support/test-service';

const reader = new C2paWasmReader();
const evidenceFixture = (name: string) => fs.readFileSync(path.join(FIXTURES, 'evidence', name));

describe('C2paWasmReader', () => {
  it.each([
    ['ocsp.jpg', { present: true, validation: 'untrusted', digital_source_types: ['compositeWithTrainedAlgorithmicMedia'] }, /Photoshop/],
    ['C.jpg', { present: true, validation: 'untrusted', digital_source_types: ['algorithmicMedia'] }, /make_test_images/],
  ])('reads %s: intact, signer not trusted', async (name, expected, generator) => {
    const { c2pa } = await extractEvidence(evidenceFixture(name), 'jpeg', reader);
    expect(c2pa).toMatchObject(expected);
    expect(c2pa.codes).toContain('signingCredential.untrusted');
    expect(c2pa.claim_generator).toMatch(generator);
  });

  it('reports the tampered file invalid with the hash-binding code', async () => {
    const { c2pa } = await extractEvidence(evidenceFixture('XCA.jpg'), 'jpeg', reader);
    expect(c2pa.validation).toBe('invalid');
    expect(c2pa.codes).toContain('assertion.dataHash.mismatch');
  });

  it('reports a malformed manifest invalid instead of failing', async () => {
    const { c2pa } = await extractEvidence(evidenceFixture('malformed-manifest.jpg'), 'jpeg', reader);
    expect(c2pa).toMatchObject({
      present: true,
      validation: 'invalid',
      codes: ['manifest.malformed'],
      claim_generator: null,
      digital_source_types: [],
      manifests: [],
    });
  });

  it('reports a manifest whose pixels were cut short as invalid', async () => {
    const bytes = evidenceFixture('ocsp.jpg');
    const { c2pa } = await extractEvidence(bytes.subarray(0, bytes.length - 5000), 'jpeg', reader);
    expect(c2pa.validation).toBe('invalid');
  });
});

/** A trust folder holding the shipped files, its trust.json narrowed or widened. */
function trustFolder(index: { trust_anchors: string[]; allowed_list?: string[]; trust_config?: string | null }, extra: Record<string, string> = {}): string {
  const dir = tempDir('trust-');
  fs.cpSync(SHIPPED_TRUST, dir, { recursive: true });
  for (const [name, from] of Object.entries(extra)) fs.copyFileSync(from, path.join(dir, name));
  fs.writeFileSync(path.join(dir, 'trust.json'), JSON.stringify({ version: 'test-1', allowed_list: [], trust_config: 'interim-store.cfg', ...index }));
  return dir;
}
const readerTrusting = (dir: string) => new C2paWasmReader({ trust: () => loadTrustMaterial(new FileBlobStore(dir)) });
const shipped = readerTrusting(SHIPPED_TRUST);
const SHIPPED_VERSION = (JSON.parse(fs.readFileSync(path.join(SHIPPED_TRUST, 'trust.json'), 'utf8')) as { version: string }).version;

describe('C2paWasmReader with trust material', () => {
  const capture = {
    actions: [{ action: 'c2pa.created', digitalSourceType: 'digitalCapture' }],
    claimGenerator: { name: 'Test Camera Firmware', version: '2.1' },
  };
  const testSigner = {
    organization: 'C2PA Test Signing Cert',
    common_name: 'C2PA Signer',
    issuer_organization: 'C2PA Test Intermediate Root CA',
    issuer_common_name: 'Intermediate CA',
    algorithm: 'es256',
  };

  it('reports a manifest signed with the test key untrusted: intact, its signer on no shipped list', async () => {
    const signed = await signWithTestKey(fixtureImage('photo.jpg'), 'jpeg', capture);
    const { c2pa } = await extractEvidence(signed, 'jpeg', shipped);
    expect(c2pa).toMatchObject({
      validation: 'untrusted',
      codes: ['signingCredential.untrusted'],
      trust_list: SHIPPED_VERSION,
      signer: testSigner,
      origin: 'capture',
      claim_generator: 'Test Camera Firmware/2.1',
      actions: [{ action: 'c2pa.created', digital_source_type: 'digitalCapture', software_agent: null }],
    });
    expect(c2pa.manifests).toEqual([expect.objectContaining({ active: true, validation: 'untrusted', signer: expect.objectContaining(testSigner) })]);
  });

  it('reports the same manifest valid once the test chain is among the anchors', async () => {
    const signed = await signWithTestKey(fixtureImage('photo.jpg'), 'jpeg', capture);
    const reader = readerTrusting(trustFolder({ trust_anchors: ['C2PA-TRUST-LIST.pem', 'test-chain.pem'] }, { 'test-chain.pem': TEST_CHAIN }));
    const { c2pa } = await extractEvidence(signed, 'jpeg', reader);
    expect(c2pa).toMatchObject({ validation: 'valid', codes: [], trust_list: 'test-1', origin: 'capture', manifests: [{ validation: 'valid' }] });
  });

  it('reports a broken signature invalid, trusted signer or not', async () => {
    const signed = await signWithTestKey(fixtureImage('photo.jpg'), 'jpeg', { ...capture, breakSignature: true });
    const reader = readerTrusting(trustFolder({ trust_anchors: ['test-chain.pem'] }, { 'test-chain.pem': TEST_CHAIN }));
    for (const each of [shipped, reader]) {
      const { c2pa } = await extractEvidence(signed, 'jpeg', each);
      expect(c2pa.validation).toBe('invalid');
      expect(c2pa.codes).toContain('claimSignature.mismatch');
      expect(c2pa.manifests[0]).toMatchObject({ validation: 'invalid', codes: expect.arrayContaining(['claimSignature.mismatch']) });
    }
  });

  it('reports a generative edit of a capture as partly generated', async () => {
    const edited = await signWithTestKey(fixtureImage('photo.png'), 'png', {
      actions: [
        { action: 'c2pa.created', digitalSourceType: 'digitalCapture' },
        { action: 'c2pa.edited', digitalSourceType: 'trainedAlgorithmicMedia', softwareAgent: { name: 'Inpainter', version: '3' } },
      ],
    });
    const { c2pa } = await extractEvidence(edited, 'png', shipped);
    expect(c2pa).toMatchObject({ validation: 'untrusted', origin: 'partly_generated', digital_source_types: ['digitalCapture', 'trainedAlgorithmicMedia'] });
  });

  it.each([
    // OpenAI's signer is issued by Trufo's claim-signing CA, on the C2PA conformance trust list only.
    ['C2PA-TRUST-LIST.pem', { trust_anchors: ['C2PA-TRUST-LIST.pem'], trust_config: null }, 'valid'],
    ['the interim anchors and allowed list', { trust_anchors: ['interim-anchors.pem'], allowed_list: ['interim-allowed.pem'] }, 'untrusted'],
  ])("validates OpenAI's Content Credentials against %s", async (_name, index, validation) => {
    const { c2pa } = await extractEvidence(evidenceFixture('openai-gpt-image.png'), 'png', readerTrusting(trustFolder(index)));
    expect(c2pa.validation).toBe(validation);
  });

  it("reports OpenAI's Content Credentials valid against the shipped material, with signer, chain and generator", async () => {
    const { c2pa } = await extractEvidence(evidenceFixture('openai-gpt-image.png'), 'png', shipped);
    expect(c2pa).toMatchObject({
      validation: 'valid',
      codes: [],
      trust_list: SHIPPED_VERSION,
      origin: 'generated',
      digital_source_types: ['trainedAlgorithmicMedia'],
      signer: { organization: 'OpenAI OpCo, LLC', common_name: 'OpenAI Media Service', issuer_organization: 'Trufo Inc.', algorithm: 'es256' },
      actions: [{ action: 'c2pa.created', digital_source_type: 'trainedAlgorithmicMedia', software_agent: 'gpt-image pre-2.0' }, { action: 'c2pa.converted' }],
    });
    expect(c2pa.signer?.timestamp).toMatch(/^2026-05-05T/);
  });

  it("reports Adobe's signed composite (ocsp.jpg) valid under the interim anchors, partly generated, with both manifests", async () => {
    const { c2pa } = await extractEvidence(evidenceFixture('ocsp.jpg'), 'jpeg', shipped);
    expect(c2pa).toMatchObject({ validation: 'valid', origin: 'partly_generated', signer: { organization: 'Adobe Inc.' } });
    expect(c2pa.manifests.map((manifest) => [manifest.active, manifest.validation, manifest.signer?.common_name])).toEqual([
      [true, 'valid', 'Adobe C2PA'],
      [false, 'valid', 'Adobe Firefly C2PA Stage'],
    ]);
  });

  it('reports intact manifests untrusted, with trust.unavailable, when the trust material cannot be read', async () => {
    const errors: unknown[] = [];
    const reader = new C2paWasmReader({ trust: () => loadTrustMaterial(new FileBlobStore(tempDir('no-trust-'))), onTrustError: (error) => errors.push(error) });
    const { c2pa } = await extractEvidence(evidenceFixture('openai-gpt-image.png'), 'png', reader);
    expect(c2pa).toMatchObject({ validation: 'untrusted', trust_list: null });
    expect(c2pa.codes).toEqual(['signingCredential.untrusted', 'trust.unavailable']);
    expect(errors).toHaveLength(1);
  });
});
