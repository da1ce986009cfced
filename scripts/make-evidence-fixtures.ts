/**
 * Builds the metadata-evidence fixtures that functions/test/*\/evidence*.test.ts read, byte by
 * byte around small sharp-made pictures: a dark picture (the "brightness" test model calls it real)
 * or a bright one (it calls it AI-generated), so each test can tell what decided the verdict.
 * The huge-manifest file (5 MB) is not written: tests build it with `hugeManifestPng()`.
 * The signed C2PA files are copied from c2pa-rs's own fixtures (see the folder's README.md).
 *
 *   npx tsc -p tsconfig.build.json && node dist/scripts/make-evidence-fixtures.js [outDir]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

const DARK = { r: 20, g: 24, b: 28 };
const BRIGHT = { r: 240, g: 236, b: 230 };

export function picture(colour: { r: number; g: number; b: number }, format: 'png' | 'jpeg'): Promise<Buffer> {
  const image = sharp({ create: { width: 64, height: 48, channels: 3, background: colour } });
  return (format === 'png' ? image.png() : image.jpeg({ quality: 90 })).toBuffer();
}

// ---- PNG chunks ------------------------------------------------------------------------------

export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export const tEXt = (keyword: string, text: string) => pngChunk('tEXt', Buffer.from(`${keyword}\0${text}`, 'latin1'));
export const zTXt = (keyword: string, text: string) =>
  pngChunk('zTXt', Buffer.concat([Buffer.from(`${keyword}\0\0`, 'latin1'), deflateSync(Buffer.from(text, 'latin1'))]));
export const iTXt = (keyword: string, text: string) =>
  pngChunk('iTXt', Buffer.concat([Buffer.from(`${keyword}\0\0\0\0\0`, 'latin1'), Buffer.from(text, 'utf8')]));

/** Inserts chunks right after IHDR (8-byte signature + 25-byte IHDR chunk). */
export function withPngChunks(png: Buffer, chunks: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
}

// ---- JPEG segments ---------------------------------------------------------------------------

export function jpegSegment(marker: number, data: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
}

/** Inserts segments right after SOI. */
export function withJpegSegments(jpeg: Buffer, segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

/** A little-endian TIFF with one IFD0 of ASCII tags. */
export function tiffWithAscii(tags: Record<number, string>): Buffer {
  const entries = Object.entries(tags).map(([tag, value]) => ({ tag: Number(tag), value: Buffer.from(`${value}\0`, 'latin1') }));
  const ifdSize = 2 + entries.length * 12 + 4;
  let dataAt = 8 + ifdSize;
  const ifd = Buffer.alloc(ifdSize);
  ifd.writeUInt16LE(entries.length, 0);
  const data: Buffer[] = [];
  entries.forEach((entry, i) => {
    const at = 2 + i * 12;
    ifd.writeUInt16LE(entry.tag, at);
    ifd.writeUInt16LE(2, at + 2);
    ifd.writeUInt32LE(entry.value.length, at + 4);
    if (entry.value.length <= 4) entry.value.copy(ifd, at + 8);
    else {
      ifd.writeUInt32LE(dataAt, at + 8);
      data.push(entry.value);
      dataAt += entry.value.length;
    }
  });
  return Buffer.concat([Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]), ifd, ...data]);
}

export const exifSegment = (tags: Record<number, string>) => jpegSegment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffWithAscii(tags)]));

/** A little-endian TIFF whose IFD0 points (0x8769) to an Exif directory holding one UserComment (0x9286). */
export function tiffWithUserComment(code: 'ASCII' | 'UNICODE-BE' | 'UNICODE-LE', text: string): Buffer {
  const body =
    code === 'ASCII'
      ? Buffer.concat([Buffer.from('ASCII\0\0\0', 'latin1'), Buffer.from(text, 'latin1')])
      : Buffer.concat([Buffer.from('UNICODE\0', 'latin1'), code === 'UNICODE-LE' ? Buffer.from(text, 'utf16le') : Buffer.from(text, 'utf16le').swap16()]);
  const ifd0 = Buffer.alloc(2 + 12 + 4);
  ifd0.writeUInt16LE(1, 0);
  ifd0.writeUInt16LE(0x8769, 2);
  ifd0.writeUInt16LE(4, 4); // LONG
  ifd0.writeUInt32LE(1, 6);
  ifd0.writeUInt32LE(8 + ifd0.length, 10);
  const exifIfd = Buffer.alloc(2 + 12 + 4);
  exifIfd.writeUInt16LE(1, 0);
  exifIfd.writeUInt16LE(0x9286, 2);
  exifIfd.writeUInt16LE(7, 4); // UNDEFINED
  exifIfd.writeUInt32LE(body.length, 6);
  exifIfd.writeUInt32LE(8 + ifd0.length + exifIfd.length, 10);
  return Buffer.concat([Buffer.from([0x49, 0x49, 42, 0, 8, 0, 0, 0]), ifd0, exifIfd, body]);
}

/** JPEG's APP13: Photoshop image resources holding IPTC IIM datasets (0x0404) and an XMP packet (0x0424). */
export function photoshopSegment(iim: Array<[number, number, string]>, xmp: string | null): Buffer {
  const resource = (id: number, data: Buffer) => {
    const head = Buffer.alloc(12);
    head.write('8BIM', 0, 'latin1');
    head.writeUInt16BE(id, 4); // then an empty Pascal name padded to 2 bytes
    head.writeUInt32BE(data.length, 8);
    return Buffer.concat([head, data, Buffer.alloc(data.length & 1)]);
  };
  const datasets = iim.map(([record, dataset, text]) => {
    const value = Buffer.from(text, 'utf8');
    return Buffer.concat([Buffer.from([0x1c, record, dataset, value.length >> 8, value.length & 0xff]), value]);
  });
  const resources = [resource(0x0404, Buffer.concat(datasets)), ...(xmp === null ? [] : [resource(0x0424, Buffer.from(xmp, 'utf8'))])];
  return jpegSegment(0xed, Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), ...resources]));
}

export function xmpPacket(digitalSourceType: string): string {
  return (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Image Generator 2" Iptc4xmpExt:DigitalSourceType="${digitalSourceType}"/>` +
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
  );
}

export const xmpSegment = (packet: string) =>
  jpegSegment(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet, 'utf8')]));

/** A JUMBF superbox labelled "c2pa" (a manifest store's outer box) around `content`. */
export function c2paSuperbox(content: Buffer): Buffer {
  const description = Buffer.concat([Buffer.from('6332706100110010800000aa00389b71', 'hex'), Buffer.from([0x03]), Buffer.from('c2pa\0', 'latin1')]);
  const jumd = Buffer.concat([u32(8 + description.length), Buffer.from('jumd', 'latin1'), description]);
  const body = Buffer.concat([jumd, content]);
  return Buffer.concat([u32(8 + body.length), Buffer.from('jumb', 'latin1'), body]);
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

/** An APP11 JUMBF segment (instance 1, sequence 1) holding a "c2pa" superbox of junk. */
export function malformedManifestJpeg(jpeg: Buffer): Buffer {
  const junk = Buffer.alloc(3000, 0x5a);
  const segment = jpegSegment(0xeb, Buffer.concat([Buffer.from([0x4a, 0x50, 0x00, 0x01, 0, 0, 0, 1]), c2paSuperbox(junk)]));
  return withJpegSegments(jpeg, [segment]);
}

/** A dark PNG with a 5 MB "c2pa" caBX chunk: over the manifest bound, so never parsed. */
export async function hugeManifestPng(): Promise<Buffer> {
  return withPngChunks(await picture(DARK, 'png'), [pngChunk('caBX', c2paSuperbox(Buffer.alloc(5 * 1024 * 1024, 1)))]);
}

export const SD_PARAMETERS =
  'a product photo of a red leather shoe on a white table\nNegative prompt: blurry, lowres\nSteps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567, Size: 1024x1024, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.9.4';
export const COMFY_PROMPT = JSON.stringify({
  '3': { class_type: 'KSampler', inputs: { seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', model: ['4', 0] } },
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
});
export const COMFY_WORKFLOW = JSON.stringify({
  last_node_id: 4,
  nodes: [
    { id: 3, type: 'KSampler' },
    { id: 4, type: 'CheckpointLoaderSimple' },
  ],
  links: [],
});

/** Every small fixture: file name → bytes. */
export async function buildEvidenceFixtures(): Promise<Record<string, Buffer>> {
  const darkPng = await picture(DARK, 'png');
  const brightPng = await picture(BRIGHT, 'png');
  const darkJpeg = await picture(DARK, 'jpeg');
  const brightJpeg = await picture(BRIGHT, 'jpeg');
  const thousand = Array.from({ length: 1000 }, (_, i) => tEXt(`note${i}`, `text chunk number ${i}`));
  return {
    'sd-parameters.png': withPngChunks(darkPng, [tEXt('parameters', SD_PARAMETERS)]),
    'comfyui.png': withPngChunks(darkPng, [tEXt('prompt', COMFY_PROMPT), tEXt('workflow', COMFY_WORKFLOW)]),
    'comfyui-ztxt.png': withPngChunks(darkPng, [zTXt('prompt', COMFY_PROMPT)]),
    'xmp-trained.jpg': withJpegSegments(darkJpeg, [xmpSegment(xmpPacket('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'))]),
    'xmp-trained.png': withPngChunks(darkPng, [iTXt('XML:com.adobe.xmp', xmpPacket('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'))]),
    'xmp-capture.jpg': withJpegSegments(brightJpeg, [xmpSegment(xmpPacket('http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture'))]),
    'camera-make-ai.jpg': withJpegSegments(brightJpeg, [exifSegment({ 0x010f: 'Canon', 0x0110: 'Canon EOS R5', 0x0131: 'Firmware Version 1.8.1' })]),
    'sd-comment.jpg': withJpegSegments(darkJpeg, [jpegSegment(0xfe, Buffer.from(SD_PARAMETERS, 'utf8'))]),
    'text-chunks-1000.png': withPngChunks(brightPng, thousand),
    // 13 bytes of chunk data: "parameters" + NUL + "ok".
    'tiny-chunk.png': withPngChunks(brightPng, [tEXt('parameters', 'ok')]),
    'malformed-manifest.jpg': malformedManifestJpeg(darkJpeg),
  };
}

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? join(__dirname, '..', '..', 'functions', 'test', 'fixtures', 'evidence'));
  mkdirSync(out, { recursive: true });
  for (const [name, bytes] of Object.entries(await buildEvidenceFixtures())) {
    writeFileSync(join(out, name), bytes);
    console.log(`${name}: ${bytes.length} bytes`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
