/**
 * The real C2PA reader (@contentauth/c2pa-wasm) on c2pa-rs's own signed files and on the
 * malformed manifest of scripts/make-evidence-fixtures.ts. No trust list is configured, so an
 * intact manifest is `untrusted`; a tampered or malformed one is `invalid`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { C2paWasmReader } from '../../src/evidence/c2pa-wasm-reader';
import { extractEvidence } from '../../src/evidence/extract-evidence';
import { FIXTURES } from '../support/test-service';

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
    expect(c2pa).toEqual({ present: true, validation: 'invalid', codes: ['manifest.malformed'], claim_generator: null, digital_source_types: [] });
  });

  it('reports a manifest whose pixels were cut short as invalid', async () => {
    const bytes = evidenceFixture('ocsp.jpg');
    const { c2pa } = await extractEvidence(bytes.subarray(0, bytes.length - 5000), 'jpeg', reader);
    expect(c2pa.validation).toBe('invalid');
  });
});
