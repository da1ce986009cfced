/**
 * Signs test images with C2PA manifests, through c2pa-wasm's own builder and c2pa-rs's ES256 test
 * key (fixtures/evidence/es256.*), so the reader's outcomes are tested on manifests whose every
 * part the test chose: a capture or a generative edit, intact or with a broken signature.
 *
 * c2pa-wasm 0.11's signer hands over the claim and expects the whole COSE_Sign1 back (RFC 9052,
 * C2PA §14: protected header {alg: ES256, x5chain}, detached payload, the signature over
 * Sig_structure, padded with an unprotected `pad` to exactly the reserved size); the few CBOR types
 * that needs are written here.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BytesBlob, load } from '../../src/detector/evidence/c2pa-wasm-reader';
import { FIXTURES } from './test-service';

const KEY = path.join(FIXTURES, 'evidence', 'es256.pem');
export const TEST_CHAIN = path.join(FIXTURES, 'evidence', 'es256.pub');
const RESERVE = 10000;
const IPTC = 'http://cv.iptc.org/newscodes/digitalsourcetype/';

type Cbor = null | number | string | Buffer | Cbor[] | Map<Cbor, Cbor>;

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const bytes = Buffer.alloc(5);
  bytes[0] = (major << 5) | 26;
  bytes.writeUInt32BE(n, 1);
  return bytes;
}

function cbor(value: Cbor): Buffer {
  if (value === null) return Buffer.from([0xf6]);
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value, 'utf8')]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
}

function certificates(): Buffer[] {
  const pem = fs.readFileSync(TEST_CHAIN, 'utf8');
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((match) =>
    Buffer.from(match[1]!.replace(/\s/g, ''), 'base64'),
  );
}

/** COSE_Sign1 (tag 18) over `claim`, padded to `size` bytes; `breakSignature` flips one bit of the signature. */
function coseSign1(claim: Uint8Array, size: number, breakSignature: boolean): Uint8Array {
  const key = crypto.createPrivateKey(fs.readFileSync(KEY));
  const protectedHeader = cbor(
    new Map<Cbor, Cbor>([
      [1, -7],
      [33, certificates()],
    ]),
  );
  const toBeSigned = cbor(['Signature1', protectedHeader, Buffer.alloc(0), Buffer.from(claim)]);
  const signature = crypto.sign('sha256', toBeSigned, { key, dsaEncoding: 'ieee-p1363' });
  if (breakSignature) signature[5]! ^= 1;
  let pad = Math.max(0, size - 1 - cbor([protectedHeader, new Map(), null, signature]).length - 16);
  for (;;) {
    const cose = Buffer.concat([Buffer.from([0xd2]), cbor([protectedHeader, new Map<Cbor, Cbor>([['pad', Buffer.alloc(pad)]]), null, signature])]);
    if (cose.length === size || pad === 0) return new Uint8Array(cose);
    pad += size - cose.length;
  }
}

export interface TestManifest {
  /** Actions of the manifest, digitalSourceType as IPTC codes (digitalCapture, trainedAlgorithmicMedia, …). */
  actions: Array<{ action: string; digitalSourceType?: string; softwareAgent?: { name: string; version?: string } }>;
  claimGenerator?: { name: string; version: string };
  /** Sign, then break the signature: the manifest is intact but its signature does not verify. */
  breakSignature?: boolean;
}

/** `image` (JPEG or PNG) with a manifest signed by the test key embedded. */
export async function signWithTestKey(image: Buffer, format: 'jpeg' | 'png', manifest: TestManifest): Promise<Buffer> {
  const c2pa = await load();
  const definition = {
    claim_generator_info: [manifest.claimGenerator ?? { name: 'detector-tests', version: '1.0' }],
    title: `test.${format === 'jpeg' ? 'jpg' : 'png'}`,
    format: `image/${format}`,
    assertions: [
      {
        label: 'c2pa.actions.v2',
        data: {
          actions: manifest.actions.map((action) => ({
            ...action,
            ...(action.digitalSourceType === undefined ? {} : { digitalSourceType: `${IPTC}${action.digitalSourceType}` }),
          })),
        },
      },
    ],
  };
  const builder = c2pa.WasmBuilder.fromJson(JSON.stringify(definition));
  try {
    const signed = await builder.sign(
      {
        alg: 'es256',
        reserveSize: RESERVE,
        sign: (claim) => Promise.resolve(coseSign1(claim, RESERVE, manifest.breakSignature === true) as Uint8Array<ArrayBuffer>),
      },
      `image/${format}`,
      new BytesBlob(image) as unknown as Blob,
    );
    return Buffer.from(signed);
  } finally {
    builder.free();
  }
}
