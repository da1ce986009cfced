/**
 * Each evidence fixture through /predict and /batch, answered as scoring/verdict-policy.ts says.
 * The "brightness" test model calls the dark fixtures real and the bright ones AI-generated, and
 * its metadata sets the uncertainty band [0.4, 0.6], so grey images are uncertain.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  exifSegment,
  hugeManifestPng,
  jpegSegment,
  picture,
  SD_PARAMETERS,
  tiffWithUserComment,
  withJpegSegments,
  xmpPacket,
} from '../../../scripts/fixtures/make-evidence-fixtures';
import sharp from 'sharp';
import { KNOWN_MARKS } from '../../src/detector/evidence/invisible-watermark';
import { signWithTestKey, TEST_CHAIN } from '../support/c2pa-signer';
import { embedDwtDct, texturedPicture } from '../support/watermark-encoder';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';
import { FIXTURES, SHIPPED_TRUST, solidImage, startService, tempDir } from '../support/test-service';

let predict: FunctionClient;
let batch: FunctionClient;

/** The shipped trust material plus c2pa-rs's test chain, so that a manifest signed here is trusted. */
function trustWithTestChain(): string {
  const dir = tempDir('trust-');
  fs.cpSync(SHIPPED_TRUST, dir, { recursive: true });
  fs.copyFileSync(TEST_CHAIN, path.join(dir, 'test-chain.pem'));
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'trust.json'), 'utf8')) as { trust_anchors: string[] };
  fs.writeFileSync(
    path.join(dir, 'trust.json'),
    JSON.stringify({ ...index, version: 'shipped+test', trust_anchors: [...index.trust_anchors, 'test-chain.pem'] }),
  );
  return dir;
}

const DARK = { r: 20, g: 24, b: 28 };
const BRIGHT = { r: 240, g: 236, b: 230 };
const CAPTURE = {
  actions: [{ action: 'c2pa.created', digitalSourceType: 'digitalCapture' }],
  claimGenerator: { name: 'Test Camera Firmware', version: '2.1' },
};

beforeAll(async () => {
  startService({ C2PA_TRUST_STORE: trustWithTestChain() });
  predict = await startFunction('predict');
  batch = await startFunction('batch');
});

afterAll(async () => {
  await predict.close();
  await batch.close();
});

const evidenceFixture = (name: string) => fs.readFileSync(path.join(FIXTURES, 'evidence', name));
const post = (client: FunctionClient, name: string, bytes: Buffer) =>
  client.request('/', { method: 'POST', body: multipart([{ field: 'image', filename: name, bytes }]) });

describe('the decision policy through POST /predict', () => {
  it.each([
    // A valid manifest (Adobe's signer, on the interim anchors) declaring a generative composite decides.
    ['ocsp.jpg', { verdict: 'ai_generated', decided_by: 'c2pa' }, { c2pa: { present: true, validation: 'valid', origin: 'partly_generated' } }],
    // A manifest declaring computed (not trained) media decides nothing: the pixels do (its signer is on no list).
    ['C.jpg', { decided_by: 'pixels' }, { c2pa: { present: true, validation: 'untrusted', digital_source_types: ['algorithmicMedia'] } }],
    // Tampered: reported invalid with its code, decides nothing.
    ['XCA.jpg', { decided_by: 'pixels' }, { c2pa: { present: true, validation: 'invalid' } }],
    ['malformed-manifest.jpg', { verdict: 'real', decided_by: 'pixels' }, { c2pa: { present: true, validation: 'invalid', codes: ['manifest.malformed'] } }],
    // Generator chunks and XMP source types on dark pictures the pixels call real.
    ['sd-parameters.png', { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' }, { generators: [{ generator: 'stable-diffusion-webui' }] }],
    [
      'comfyui.png',
      { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' },
      { generators: [{ generator: 'comfyui' }, { generator: 'comfyui' }] },
    ],
    ['comfyui-ztxt.png', { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' }, { generators: [{ generator: 'comfyui' }] }],
    ['sd-comment.jpg', { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' }, { generators: [{ source: 'jpeg:comment' }] }],
    ['xmp-trained.jpg', { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' }, { xmp: { digital_source_type: 'trainedAlgorithmicMedia' } }],
    ['xmp-trained.png', { prediction: 'real', verdict: 'ai_generated', decided_by: 'metadata' }, { xmp: { digital_source_type: 'trainedAlgorithmicMedia' } }],
    // Spoofing towards real: a capture source type, a camera Make, a 13-byte chunk change nothing.
    ['xmp-capture.jpg', { prediction: 'ai_generated', verdict: 'ai_generated', decided_by: 'pixels' }, { xmp: { digital_source_type: 'digitalCapture' } }],
    ['camera-make-ai.jpg', { prediction: 'ai_generated', verdict: 'ai_generated', decided_by: 'pixels' }, { exif: { make: 'Canon', model: 'Canon EOS R5' } }],
    ['tiny-chunk.png', { prediction: 'ai_generated', verdict: 'ai_generated', decided_by: 'pixels' }, { generators: [], text_chunks: { count: 1 } }],
    [
      'text-chunks-1000.png',
      { prediction: 'ai_generated', verdict: 'ai_generated', decided_by: 'pixels' },
      { text_chunks: { count: 1000 }, limits_hit: ['text_chunks'] },
    ],
  ])('%s', async (name, verdict, evidence) => {
    const response = await post(predict, name, evidenceFixture(name));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ...verdict, evidence });
    expect(response.body.verdict_reasons.length).toBeGreaterThan(0);
  });

  it('answers a file with a 5 MB manifest, unverified, judged by its pixels', async () => {
    const response = await post(predict, 'huge.png', await hugeManifestPng());
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      verdict: 'real',
      decided_by: 'pixels',
      evidence: { c2pa: { present: true, validation: 'unverified', codes: ['manifest.tooLarge'] } },
    });
  });

  it('says uncertain inside the model band, and keeps prediction and the pixel probability as they were', async () => {
    const response = await post(predict, 'grey.png', await solidImage({ r: 128, g: 128, b: 128 }));
    // confidence describes the verdict: never high beside uncertain.
    expect(response.body).toMatchObject({ prediction: 'ai_generated', verdict: 'uncertain', decided_by: 'pixels', confidence: 'low' });
    expect(response.body.probability).toBeCloseTo(0.504, 3);
    expect(response.body.verdict_reasons).toEqual([
      "P(AI) 0.5039 is inside the model's uncertainty band [0.4, 0.6]",
      'the detector is not reliable for images that score between its thresholds for real and AI: review it by hand',
    ]);
  });
});

describe('signed manifests and spoofs through POST /predict', () => {
  it("answers OpenAI's signed image ai_generated by c2pa, valid, naming the generator and its vendor", async () => {
    const response = await post(predict, 'openai.png', evidenceFixture('openai-gpt-image.png'));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      verdict: 'ai_generated',
      decided_by: 'c2pa',
      generator: { name: 'gpt-image pre-2.0', model: null, vendor: 'OpenAI OpCo, LLC', source: 'c2pa' },
      evidence: { c2pa: { validation: 'valid', trust_list: 'shipped+test', origin: 'generated', signer: { organization: 'OpenAI OpCo, LLC' } } },
    });
  });

  it('answers a trusted signed capture real by c2pa, though the pixels say AI', async () => {
    const signed = await signWithTestKey(await picture(BRIGHT, 'jpeg'), 'jpeg', CAPTURE);
    const response = await post(predict, 'capture.jpg', signed);
    expect(response.body).toMatchObject({
      prediction: 'ai_generated',
      verdict: 'real',
      decided_by: 'c2pa',
      generator: null,
      evidence: { c2pa: { validation: 'valid', origin: 'capture', signer: { organization: 'C2PA Test Signing Cert' } } },
    });
    expect(response.body.verdict_reasons).toEqual([
      'a C2PA manifest signed by C2PA Test Signing Cert, trusted by trust list shipped+test, declares a digital capture with no generative step',
    ]);
  });

  it('judges a signed capture with a broken signature by its pixels', async () => {
    const signed = await signWithTestKey(await picture(BRIGHT, 'jpeg'), 'jpeg', { ...CAPTURE, breakSignature: true });
    const response = await post(predict, 'forged.jpg', signed);
    expect(response.body).toMatchObject({ verdict: 'ai_generated', decided_by: 'pixels', evidence: { c2pa: { validation: 'invalid' } } });
  });

  it('answers a signed capture with a later generative edit ai_generated, partly generated', async () => {
    const signed = await signWithTestKey(await picture(DARK, 'jpeg'), 'jpeg', {
      actions: [
        ...CAPTURE.actions,
        { action: 'c2pa.edited', digitalSourceType: 'compositeWithTrainedAlgorithmicMedia', softwareAgent: { name: 'Inpainter', version: '3' } },
      ],
    });
    const response = await post(predict, 'inpainted.jpg', signed);
    expect(response.body).toMatchObject({
      prediction: 'real',
      verdict: 'ai_generated',
      decided_by: 'c2pa',
      generator: { name: 'Inpainter 3', vendor: 'C2PA Test Signing Cert', source: 'c2pa' },
      evidence: { c2pa: { origin: 'partly_generated' } },
    });
    expect(response.body.verdict_reasons[0]).toMatch(/partly generated/);
  });

  it.each([
    [
      'a camera Make beside a generator comment',
      async () =>
        withJpegSegments(await picture(DARK, 'jpeg'), [
          exifSegment({ 0x010f: 'Canon', 0x0110: 'Canon EOS R5' }),
          jpegSegment(0xfe, Buffer.from(SD_PARAMETERS)),
        ]),
      { present: false },
    ],
    [
      'a trusted signed capture of a file carrying a generator comment',
      async () =>
        signWithTestKey(
          withJpegSegments(await picture(DARK, 'jpeg'), [exifSegment({ 0x010f: 'Canon' }), jpegSegment(0xfe, Buffer.from(SD_PARAMETERS))]),
          'jpeg',
          CAPTURE,
        ),
      { present: true, validation: 'valid', origin: 'capture' },
    ],
  ])('keeps both claims of %s in the evidence and answers the conservative ai_generated', async (_name, build, c2pa) => {
    const response = await post(predict, 'spoof.jpg', await build());
    expect(response.body).toMatchObject({
      prediction: 'real',
      verdict: 'ai_generated',
      decided_by: 'metadata',
      generator: { name: 'Stable Diffusion web UI', source: 'jpeg:comment' },
      evidence: { c2pa, exif: { make: 'Canon' }, generators: [{ generator: 'stable-diffusion-webui', source: 'jpeg:comment', model: 'sd_xl_base_1.0' }] },
    });
  });
});

/** A 512×384 PNG of the textured test picture, marked with the SDXL watermark when `marked`. */
async function watermarkPng(marked: boolean, reading: 'bgr-uint8' | 'rgb-float' = 'bgr-uint8'): Promise<Buffer> {
  const [width, height] = [512, 384];
  const clean = texturedPicture(width, height);
  const pixels = marked ? embedDwtDct(clean, width, height, KNOWN_MARKS.find((mark) => mark.name === 'SDXL')!.bits, reading) : clean;
  return sharp(Buffer.from(pixels), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

describe('metadata the container walk finds in APP13, UserComment and AVIF items, through POST /predict', () => {
  it("answers a JPEG whose EXIF UserComment holds the web UI's parameters ai_generated by metadata, naming the model", async () => {
    const userComment = jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffWithUserComment('UNICODE-BE', SD_PARAMETERS)]));
    const response = await post(predict, 'webui.jpg', withJpegSegments(await picture(DARK, 'jpeg'), [userComment]));
    expect(response.body).toMatchObject({
      prediction: 'real',
      verdict: 'ai_generated',
      decided_by: 'metadata',
      generator: { name: 'Stable Diffusion web UI', model: 'sd_xl_base_1.0', source: 'exif:UserComment' },
    });
  });

  it('answers an AVIF whose XMP item declares trainedAlgorithmicMedia ai_generated by metadata', async () => {
    const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: DARK } })
      .withXmp(xmpPacket('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'))
      .avif()
      .toBuffer();
    const response = await post(predict, 'generated.avif', avif);
    expect(response.body).toMatchObject({
      verdict: 'ai_generated',
      decided_by: 'metadata',
      generator: { name: 'Image Generator 2', source: 'xmp:CreatorTool' },
      evidence: { xmp: { digital_source_type: 'trainedAlgorithmicMedia' } },
    });
  });
});

describe('the invisible watermark through POST /predict', () => {
  it.each(['bgr-uint8', 'rgb-float'] as const)('answers an SDXL-marked PNG (%s) ai_generated by watermark, naming the model family', async (reading) => {
    const response = await post(predict, 'sdxl.png', await watermarkPng(true, reading));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      verdict: 'ai_generated',
      decided_by: 'watermark',
      generator: { name: 'Stable Diffusion XL', vendor: null, source: 'watermark:dwtDct' },
      evidence: { watermark: { method: 'invisible-watermark dwtDct', message: 'SDXL', matched: true } },
    });
    expect(response.body.verdict_reasons[0]).toMatch(/^the pixels carry the SDXL invisible watermark \(invisible-watermark dwtDct, \d of 48 bits differ\)$/);
  });

  it('reports the unmarked picture checked and unmatched, judged by its pixels', async () => {
    const response = await post(predict, 'clean.png', await watermarkPng(false));
    expect(response.body).toMatchObject({ decided_by: 'pixels', generator: null, evidence: { watermark: { matched: false } } });
  });

  it('loses the mark once the picture is resized, and says nothing of it', async () => {
    const resized = await sharp(await watermarkPng(true))
      .resize(500)
      .png()
      .toBuffer();
    const response = await post(predict, 'resized.png', resized);
    expect(response.body).toMatchObject({ decided_by: 'pixels', evidence: { watermark: { matched: false } } });
  });

  it('skips images over 2048×2048 pixels, naming the bound', async () => {
    const big = await sharp({ create: { width: 2100, height: 2100, channels: 3, background: { r: 20, g: 24, b: 28 } } })
      .png()
      .toBuffer();
    const response = await post(predict, 'big.png', big);
    expect(response.status).toBe(200);
    expect(response.body.evidence).toMatchObject({ watermark: null, limits_hit: ['watermark_pixels'] });
  });
});

describe('POST /batch', () => {
  it('gives every item its own evidence and verdict', async () => {
    const form = multipart([
      { field: 'image', filename: 'sd.png', bytes: evidenceFixture('sd-parameters.png') },
      { field: 'image', filename: 'camera.jpg', bytes: evidenceFixture('camera-make-ai.jpg') },
      { field: 'image', filename: 'signed.jpg', bytes: evidenceFixture('ocsp.jpg') },
      { field: 'image', filename: 'capture.jpg', bytes: await signWithTestKey(await picture(BRIGHT, 'jpeg'), 'jpeg', CAPTURE) },
      { field: 'image', filename: 'openai.png', bytes: evidenceFixture('openai-gpt-image.png') },
      { field: 'image', filename: 'sdxl.png', bytes: await watermarkPng(true) },
    ]);
    const response = await batch.request('/', { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(response.body.results.map((result: { verdict: string; decided_by: string }) => [result.verdict, result.decided_by])).toEqual([
      ['ai_generated', 'metadata'],
      ['ai_generated', 'pixels'],
      ['ai_generated', 'c2pa'],
      ['real', 'c2pa'],
      ['ai_generated', 'c2pa'],
      ['ai_generated', 'watermark'],
    ]);
    expect(response.body.results[1].evidence.exif.make).toBe('Canon');
    expect(response.body.results.map((result: { generator: { name: string } | null }) => result.generator?.name ?? null)).toEqual([
      'Stable Diffusion web UI',
      null,
      'Adobe Firefly',
      null,
      'gpt-image pre-2.0',
      'Stable Diffusion XL',
    ]);
  });
});
