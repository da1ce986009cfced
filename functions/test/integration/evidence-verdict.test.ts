/**
 * Each evidence fixture through /predict and /batch, answered as scoring/verdict-policy.ts says.
 * The "brightness" test model calls the dark fixtures real and the bright ones AI-generated, and
 * its metadata sets the uncertainty band [0.4, 0.6], so grey images are uncertain.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hugeManifestPng } from '../../../scripts/make-evidence-fixtures';
import { type FunctionClient, multipart, startFunction } from '../support/function-server';
import { FIXTURES, solidImage, startService } from '../support/test-service';

let predict: FunctionClient;
let batch: FunctionClient;

beforeAll(async () => {
  startService();
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
    // A valid (intact, untrusted signer) manifest declaring a generative source decides.
    ['ocsp.jpg', { verdict: 'ai_generated', decided_by: 'c2pa' }, { c2pa: { present: true, validation: 'untrusted' } }],
    // A manifest declaring computed (not trained) media decides nothing: the pixels do.
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
      'the detector is not reliable for images that score this close to its threshold: review it by hand',
    ]);
  });
});

describe('POST /batch', () => {
  it('gives every item its own evidence and verdict', async () => {
    const form = multipart([
      { field: 'image', filename: 'sd.png', bytes: evidenceFixture('sd-parameters.png') },
      { field: 'image', filename: 'camera.jpg', bytes: evidenceFixture('camera-make-ai.jpg') },
      { field: 'image', filename: 'signed.jpg', bytes: evidenceFixture('ocsp.jpg') },
    ]);
    const response = await batch.request('/', { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(response.body.results.map((result: { verdict: string; decided_by: string }) => [result.verdict, result.decided_by])).toEqual([
      ['ai_generated', 'metadata'],
      ['ai_generated', 'pixels'],
      ['ai_generated', 'c2pa'],
    ]);
    expect(response.body.results[1].evidence.exif.make).toBe('Canon');
  });
});
