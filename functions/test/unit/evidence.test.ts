/**
 * Metadata evidence, read by container structure from the fixtures of
 * scripts/fixtures/make-evidence-fixtures.ts and c2pa-rs's signed files. The C2PA reader is a recording
 * fake here; the real one is tested in integration/c2pa-reader.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_TEXT_CHUNKS, readMetadataBlocks, readTextChunk } from '../../src/detector/evidence/container-blocks';
import { emptyEvidence, extractEvidence, MAX_MANIFEST_BYTES } from '../../src/detector/evidence/extract-evidence';
import { nameGenerator } from '../../src/detector/evidence/generator-name';
import { recogniseGenerators } from '../../src/detector/evidence/generator-chunks';
import { classifyOrigin, type ManifestReader, unreadReport } from '../../src/detector/evidence/manifest-reader';
import { readCameraTags } from '../../src/detector/evidence/tiff-tags';
import { readXmpFields } from '../../src/detector/evidence/xmp-fields';
import { readImageHeader } from '../../src/detector/image/image-header';
import {
  hugeManifestPng,
  jpegSegment,
  photoshopSegment,
  pngChunk,
  SD_PARAMETERS,
  tiffWithAscii,
  tiffWithUserComment,
  withJpegSegments,
  withPngChunks,
  xmpPacket,
  zTXt,
} from '../../../scripts/fixtures/make-evidence-fixtures';
import sharp from 'sharp';
import { FIXTURES, fixtureImage } from '../support/test-service';

const evidenceFixture = (name: string) => fs.readFileSync(path.join(FIXTURES, 'evidence', name));
const formatOf = (bytes: Buffer) => readImageHeader(bytes, { maxImageBytes: 64 * 1024 * 1024, maxPixels: 40e6, minImageSide: 1 }).format;

/** Records what it is asked and answers "untrusted, declares trainedAlgorithmicMedia". */
function fakeReader(): ManifestReader & { calls: number } {
  const reader = {
    calls: 0,
    read: () => {
      reader.calls += 1;
      return Promise.resolve({
        ...unreadReport('unverified', 'signingCredential.untrusted'),
        validation: 'untrusted' as const,
        claimGenerator: 'fake/1',
        digitalSourceTypes: ['trainedAlgorithmicMedia'],
      });
    },
  };
  return reader;
}

const evidenceOf = async (bytes: Buffer, reader: ManifestReader = fakeReader()) => extractEvidence(bytes, formatOf(bytes), reader);

describe('extractEvidence on the fixtures', () => {
  it.each([
    ['sd-parameters.png', { generators: [{ generator: 'stable-diffusion-webui', source: 'png:parameters' }] }],
    [
      'comfyui.png',
      {
        generators: [
          { generator: 'comfyui', source: 'png:prompt' },
          { generator: 'comfyui', source: 'png:workflow' },
        ],
      },
    ],
    ['comfyui-ztxt.png', { generators: [{ generator: 'comfyui', source: 'png:prompt' }] }],
    ['sd-comment.jpg', { generators: [{ generator: 'stable-diffusion-webui', source: 'jpeg:comment' }] }],
    ['xmp-trained.jpg', { xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: 'Image Generator 2' } }],
    ['xmp-trained.png', { xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: 'Image Generator 2' } }],
    ['xmp-capture.jpg', { xmp: { digital_source_type: 'digitalCapture', creator_tool: 'Image Generator 2' } }],
    ['camera-make-ai.jpg', { exif: { make: 'Canon', model: 'Canon EOS R5', software: 'Firmware Version 1.8.1', user_comment: null }, generators: [] }],
    ['tiny-chunk.png', { generators: [], text_chunks: { count: 1, keywords: ['parameters'] } }],
  ])('%s', async (name, expected) => {
    const evidence = await evidenceOf(evidenceFixture(name));
    expect(evidence).toMatchObject(expected);
    expect(evidence.c2pa.present).toBe(false);
  });

  it('reads no evidence from plain photos of every format', async () => {
    for (const name of ['photo.jpg', 'photo.png', 'photo.webp', 'photo.avif']) {
      const evidence = await evidenceOf(fixtureImage(name));
      expect(evidence).toMatchObject({ c2pa: { present: false, validation: null }, generators: [], xmp: { digital_source_type: null } });
    }
  });

  it('finds the C2PA manifests of the signed JPEGs and asks the reader only then', async () => {
    const reader = fakeReader();
    for (const name of ['ocsp.jpg', 'C.jpg', 'XCA.jpg']) {
      expect((await evidenceOf(evidenceFixture(name), reader)).c2pa).toMatchObject({ present: true, validation: 'untrusted' });
    }
    await evidenceOf(evidenceFixture('camera-make-ai.jpg'), reader);
    await evidenceOf(fixtureImage('photo.webp'), reader);
    expect(reader.calls).toBe(3);
  });

  it('reads a thousand text chunks with bounded work: the first ones, all counted', async () => {
    const evidence = await evidenceOf(evidenceFixture('text-chunks-1000.png'));
    expect(evidence.text_chunks.count).toBe(1000);
    expect(evidence.text_chunks.keywords.length).toBeLessThanOrEqual(16);
    expect(evidence.limits_hit).toContain('text_chunks');
    expect(readMetadataBlocks(evidenceFixture('text-chunks-1000.png'), 'png').texts).toHaveLength(MAX_TEXT_CHUNKS);
  });

  it('reports a huge manifest unverified without handing it to the reader', async () => {
    const reader = fakeReader();
    const bytes = await hugeManifestPng();
    expect(bytes.length).toBeGreaterThan(MAX_MANIFEST_BYTES);
    const evidence = await evidenceOf(bytes, reader);
    expect(evidence.c2pa).toEqual({ ...emptyEvidence().c2pa, present: true, validation: 'unverified', codes: ['manifest.tooLarge'] });
    expect(evidence.limits_hit).toContain('manifest_bytes');
    expect(reader.calls).toBe(0);
  });

  it('keeps a zTXt bomb bounded: counted, its text not kept', () => {
    const png = withPngChunks(fixtureImage('photo.png'), [zTXt('parameters', `${SD_PARAMETERS}\n${'x'.repeat(8 * 1024 * 1024)}`)]);
    const blocks = readMetadataBlocks(png, 'png');
    expect(blocks.textChunkCount).toBe(1);
    expect(blocks.texts[0]).toMatchObject({ keyword: 'parameters', text: '', truncated: true });
  });

  it('stops at a chunk that runs past the end of the file, keeping what came before', async () => {
    const damaged = withPngChunks(fixtureImage('photo.png'), [zTXt('Comment', 'before'), pngChunk('tEXt', Buffer.from('late\0x')).subarray(0, 6)]);
    const evidence = await evidenceOf(damaged);
    expect(evidence.text_chunks.keywords).toEqual(['Comment']);
    expect(evidence.limits_hit).toContain('truncated_container');
  });

  it('never throws for truncated or garbage metadata', async () => {
    const samples = ['sd-parameters.png', 'xmp-trained.jpg', 'camera-make-ai.jpg', 'malformed-manifest.jpg', 'ocsp.jpg'].map(evidenceFixture);
    for (const bytes of samples) {
      const format = formatOf(bytes);
      for (let cut = 0; cut < Math.min(bytes.length, 4000); cut += 97) {
        await expect(extractEvidence(bytes.subarray(0, cut), format, fakeReader())).resolves.toBeDefined();
      }
    }
  });
});

describe('the pieces', () => {
  it.each([
    ['a 13-byte parameters chunk', [{ keyword: 'parameters', text: 'ok' }], []],
    ['SD settings', [{ keyword: 'parameters', text: SD_PARAMETERS }], ['stable-diffusion-webui']],
    ['a prompt that is not ComfyUI JSON', [{ keyword: 'prompt', text: 'a cat on a mat' }], []],
    ['ComfyUI prompt nodes', [{ keyword: 'prompt', text: '{"1":{"class_type":"KSampler","inputs":{}}}' }], ['comfyui']],
    ['InvokeAI metadata', [{ keyword: 'invokeai_metadata', text: '{"positive_prompt":"shoe"}' }], ['invokeai']],
    [
      'NovelAI',
      [
        { keyword: 'Software', text: 'NovelAI' },
        { keyword: 'Comment', text: '{"steps":28,"sampler":"k_euler"}' },
      ],
      ['novelai'],
    ],
    ['a Comment without NovelAI', [{ keyword: 'Comment', text: '{"steps":28}' }], []],
    [
      'Fooocus',
      [
        { keyword: 'parameters', text: '{"Prompt":"shoe"}' },
        { keyword: 'fooocus_scheme', text: 'fooocus' },
      ],
      ['fooocus'],
    ],
  ])('recognises %s', (_name, chunks, generators) => {
    const texts = chunks.map((chunk) => ({ type: 'tEXt', ...chunk, bytes: chunk.keyword.length + 1 + chunk.text.length, truncated: false }));
    expect(recogniseGenerators(texts, []).map((mark) => mark.generator)).toEqual(generators);
  });

  it('reads the EXIF camera tags of IFD0 and nothing from a damaged directory', () => {
    const little = tiffWithAscii({ 0x010f: 'NIKON', 0x0110: 'Z 8', 0x0131: 'Ver.1.0' });
    expect(readCameraTags(little)).toEqual({ make: 'NIKON', model: 'Z 8', software: 'Ver.1.0' });
    expect(readCameraTags(little.subarray(0, 20))).toEqual({ make: null, model: null, software: null });
    expect(readCameraTags(Buffer.from('not a tiff at all'))).toEqual({ make: null, model: null, software: null });
    expect(readCameraTags(null)).toEqual({ make: null, model: null, software: null });
  });

  it('reads DigitalSourceType as an element or an attribute, and ignores XML that is not well formed', () => {
    const element =
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"><Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>';
    expect(readXmpFields([element]).digitalSourceType).toBe('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia');
    expect(readXmpFields(['<x:xmpmeta><unclosed'])).toEqual({ digitalSourceType: null, creatorTool: null });
  });

  it('reads the three PNG text chunk kinds', () => {
    expect(readTextChunk('tEXt', Buffer.from('Title\0Shoe', 'latin1'))).toMatchObject({ keyword: 'Title', text: 'Shoe' });
    expect(readTextChunk('iTXt', Buffer.from('Title\0\0\0en\0Titel\0Schuh ü', 'utf8'))).toMatchObject({ keyword: 'Title', text: 'Schuh ü' });
    expect(readTextChunk('tEXt', Buffer.from('no separator'))).toBeNull();
  });
});

describe('metadata in JPEG APP13, EXIF UserComment and AVIF items', () => {
  const TRAINED = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
  const exifSegmentOf = (tiff: Buffer) => jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]));

  it("reads IPTC IIM's OriginatingProgram and the XMP of a JPEG's Photoshop resources", async () => {
    const packet = xmpPacket(TRAINED).replace(' xmp:CreatorTool="Image Generator 2"', '');
    const jpeg = withJpegSegments(fixtureImage('photo.jpg'), [
      photoshopSegment(
        [
          [1, 90, '\x1b%G'],
          [2, 65, 'Dream Studio'],
          [2, 70, '2.1'],
        ],
        packet,
      ),
    ]);
    const evidence = await evidenceOf(jpeg);
    expect(evidence).toMatchObject({
      iptc: { originating_program: 'Dream Studio', program_version: '2.1' },
      xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: null },
    });
    expect(nameGenerator(evidence)).toEqual({ name: 'Dream Studio 2.1', model: null, vendor: null, source: 'iptc:OriginatingProgram' });
  });

  it('stops at a truncated Photoshop resource, naming it', async () => {
    const segment = photoshopSegment([[2, 65, 'Dream Studio']], null);
    segment.writeUInt32BE(0xffff, 4 + 14 + 8); // the first resource claims 64 KB
    expect((await evidenceOf(withJpegSegments(fixtureImage('photo.jpg'), [segment]))).limits_hit).toContain('truncated_container');
  });

  it.each(['ASCII', 'UNICODE-BE', 'UNICODE-LE'] as const)("recognises the web UI's parameters in EXIF UserComment (%s)", async (code) => {
    const jpeg = withJpegSegments(fixtureImage('photo.jpg'), [exifSegmentOf(tiffWithUserComment(code, SD_PARAMETERS))]);
    const evidence = await evidenceOf(jpeg);
    expect(evidence.generators).toEqual([{ generator: 'stable-diffusion-webui', source: 'exif:UserComment', model: 'sd_xl_base_1.0' }]);
    expect(evidence.exif.user_comment).toBe(SD_PARAMETERS.slice(0, 200));
  });

  it('reports an ordinary UserComment and recognises nothing from it', async () => {
    const evidence = await evidenceOf(withJpegSegments(fixtureImage('photo.jpg'), [exifSegmentOf(tiffWithUserComment('ASCII', 'Steps to the beach'))]));
    expect(evidence).toMatchObject({ exif: { user_comment: 'Steps to the beach' }, generators: [] });
  });

  it('reads the Exif and XMP items of an AVIF written by libheif', async () => {
    const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .withExif({ IFD0: { Make: 'Canon', Model: 'EOS R5' } })
      .withXmp(xmpPacket(TRAINED))
      .avif()
      .toBuffer();
    expect(await evidenceOf(avif)).toMatchObject({
      exif: { make: 'Canon', model: 'EOS R5' },
      xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: 'Image Generator 2' },
      limits_hit: [],
    });
  });

  it('reads nothing, and does not fail, from AVIF files cut anywhere', async () => {
    const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .withExif({ IFD0: { Make: 'Canon' } })
      .avif()
      .toBuffer();
    for (let end = 0; end < Math.min(avif.length, 600); end += 7) {
      expect(() => readMetadataBlocks(avif.subarray(0, end), 'avif')).not.toThrow();
    }
  });
});

describe('classifyOrigin', () => {
  const act = (action: string, type: string | null = null) => ({ action, digital_source_type: type, software_agent: null });
  it.each<[string, ReturnType<typeof act>[], string[], string]>([
    ['created by a camera', [act('c2pa.created', 'digitalCapture')], [], 'capture'],
    ['a camera capture, then edited', [act('c2pa.created', 'digitalCapture'), act('c2pa.color_adjustments')], [], 'capture'],
    ['created by a model', [act('c2pa.created', 'trainedAlgorithmicMedia'), act('c2pa.converted')], [], 'generated'],
    ['a capture with a generative fill', [act('c2pa.created', 'digitalCapture'), act('c2pa.edited', 'trainedAlgorithmicMedia')], [], 'partly_generated'],
    ['a composite with generated parts', [act('c2pa.opened'), act('c2pa.edited', 'compositeWithTrainedAlgorithmicMedia')], [], 'partly_generated'],
    ['a capture opened with a generated ingredient', [act('c2pa.opened', 'digitalCapture')], ['trainedAlgorithmicMedia'], 'partly_generated'],
    ['computed, not trained', [act('c2pa.created', 'algorithmicMedia')], [], 'other'],
    ['no actions', [], [], 'other'],
  ])('%s', (_name, actions, ingredients, origin) => {
    expect(classifyOrigin(actions, ingredients)).toBe(origin);
  });
});

describe('nameGenerator', () => {
  const none = emptyEvidence();
  const signer = { ...({} as Record<string, null>), organization: 'OpenAI OpCo, LLC' } as unknown as NonNullable<typeof none.c2pa.signer>;
  it.each<[string, Parameters<typeof nameGenerator>[0], ReturnType<typeof nameGenerator>]>([
    ['no evidence', none, null],
    [
      "a C2PA generative action's software agent, vendor from the certificate",
      {
        ...none,
        c2pa: {
          ...none.c2pa,
          validation: 'valid',
          origin: 'generated',
          claim_generator: 'OpenAI Media Service API',
          signer,
          actions: [{ action: 'c2pa.created', digital_source_type: 'trainedAlgorithmicMedia', software_agent: 'gpt-image pre-2.0' }],
        },
      },
      { name: 'gpt-image pre-2.0', model: null, vendor: 'OpenAI OpCo, LLC', source: 'c2pa' },
    ],
    [
      'a tampered manifest names nothing',
      { ...none, c2pa: { ...none.c2pa, validation: 'invalid', origin: 'generated', claim_generator: 'Forged/1', signer, actions: [] } },
      null,
    ],
    [
      'a WebUI chunk with its model',
      { ...none, generators: [{ generator: 'stable-diffusion-webui', source: 'png:parameters', model: 'sd_xl_base_1.0' }] },
      { name: 'Stable Diffusion web UI', model: 'sd_xl_base_1.0', vendor: null, source: 'png:parameters' },
    ],
    [
      'XMP CreatorTool beside a generative source type',
      { ...none, xmp: { digital_source_type: 'trainedAlgorithmicMedia', creator_tool: 'Midjourney' } },
      { name: 'Midjourney', model: null, vendor: null, source: 'xmp:CreatorTool' },
    ],
    ['XMP CreatorTool alone is an editor, not a generator', { ...none, xmp: { digital_source_type: null, creator_tool: 'GIMP 2.10' } }, null],
  ])('%s', (_name, evidence, expected) => {
    expect(nameGenerator(evidence)).toEqual(expected);
  });
});
