/**
 * Finds the metadata blocks of an image by walking its container structure: JPEG marker segments
 * (APP1 EXIF and XMP, APP11 JUMBF, COM), PNG chunks (tEXt, zTXt, iTXt, eXIf, caBX), RIFF chunks of
 * WebP (EXIF, XMP, C2PA) and the top-level ISOBMFF boxes of AVIF (the C2PA `uuid` box). It never
 * searches the bytes for strings: each block is found where the container says it is.
 *
 * Pure and total, with bounded work: the walk visits each segment, chunk or box header once, reads
 * at most MAX_TEXT_CHUNKS text chunks (the rest are only counted), inflates at most
 * MAX_TEXT_BYTES of each, and stops at the first header that does not fit in the file.
 */
import * as zlib from 'node:zlib';
import type { ImageFormat } from '../image/image-decoder';

/** Text chunks whose keyword and text are read; later ones are counted only. */
export const MAX_TEXT_CHUNKS = 64;
/** Longest text kept of one chunk or comment (decompressed), in bytes. */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** Text kept of all chunks together, in bytes. */
export const MAX_TOTAL_TEXT_BYTES = 2 * 1024 * 1024;
/** Largest XMP packet parsed, in bytes. */
export const MAX_XMP_BYTES = 256 * 1024;
/** Comments kept (JPEG COM segments). */
export const MAX_COMMENTS = 8;
export const MAX_COMMENT_BYTES = 64 * 1024;

export interface TextChunk {
  /** tEXt, zTXt or iTXt. */
  type: string;
  keyword: string;
  text: string;
  /** Size of the chunk's data as stored, in bytes. */
  bytes: number;
  truncated: boolean;
}

export interface MetadataBlocks {
  /** The TIFF structure of the EXIF block (after JPEG's "Exif\0\0"), when there is one. */
  exif: Buffer | null;
  xmp: string[];
  comments: string[];
  texts: TextChunk[];
  /** All text chunks, including the ones not read. */
  textChunkCount: number;
  /** A C2PA manifest store (JUMBF) is embedded where the format's C2PA binding puts it. */
  c2pa: { present: boolean; bytes: number };
  /** Which bounds were reached (e.g. "text_chunks"), so that a reader knows something was skipped. */
  limitsHit: string[];
}

export function emptyBlocks(): MetadataBlocks {
  return { exif: null, xmp: [], comments: [], texts: [], textChunkCount: 0, c2pa: { present: false, bytes: 0 }, limitsHit: [] };
}

export function readMetadataBlocks(bytes: Buffer, format: ImageFormat): MetadataBlocks {
  const blocks = emptyBlocks();
  switch (format) {
    case 'jpeg':
      walkJpeg(bytes, blocks);
      break;
    case 'png':
      walkPng(bytes, blocks);
      break;
    case 'webp':
      walkWebp(bytes, blocks);
      break;
    case 'avif':
      walkIsobmff(bytes, blocks);
      break;
  }
  return blocks;
}

function hit(blocks: MetadataBlocks, limit: string): void {
  if (!blocks.limitsHit.includes(limit)) blocks.limitsHit.push(limit);
}

const EXIF_ID = Buffer.from('Exif\0\0', 'latin1');
const XMP_ID = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');

function startsWith(bytes: Buffer, at: number, prefix: Buffer): boolean {
  return at + prefix.length <= bytes.length && bytes.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

function addXmp(blocks: MetadataBlocks, data: Buffer): void {
  if (data.length > MAX_XMP_BYTES) {
    hit(blocks, 'xmp_bytes');
    return;
  }
  blocks.xmp.push(data.toString('utf8'));
}

function addComment(blocks: MetadataBlocks, data: Buffer): void {
  if (blocks.comments.length >= MAX_COMMENTS) {
    hit(blocks, 'comments');
    return;
  }
  blocks.comments.push(data.subarray(0, MAX_COMMENT_BYTES).toString('utf8'));
}

// ---- JPEG: marker segments up to the start of scan ------------------------------------------

function walkJpeg(bytes: Buffer, blocks: MetadataBlocks): void {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return; // start of scan / end of image: no metadata after this
    const length = bytes.readUInt16BE(at + 2);
    if (length < 2) return;
    const start = at + 4;
    const end = Math.min(at + 2 + length, bytes.length);
    const data = bytes.subarray(start, end);
    if (marker === 0xe1 && startsWith(bytes, start, EXIF_ID)) {
      blocks.exif ??= data.subarray(EXIF_ID.length);
    } else if (marker === 0xe1 && startsWith(bytes, start, XMP_ID)) {
      addXmp(blocks, data.subarray(XMP_ID.length));
    } else if (marker === 0xeb && isC2paJumbfSegment(data)) {
      blocks.c2pa.present = true;
      blocks.c2pa.bytes += data.length;
    } else if (marker === 0xfe) {
      addComment(blocks, data);
    }
    at = at + 2 + length;
  }
}

/**
 * An APP11 segment of JPEG's JUMBF binding (ISO 19566-5): "JP", a 2-byte instance number, a
 * 4-byte sequence number, then the JUMBF box (or, after the first segment, its continuation).
 * The first segment's superbox description is labelled "c2pa".
 */
function isC2paJumbfSegment(data: Buffer): boolean {
  if (data.length < 8 || data[0] !== 0x4a || data[1] !== 0x50) return false;
  return isC2paSuperbox(data.subarray(8));
}

/** A `jumb` superbox whose `jumd` description box carries the label "c2pa" (the manifest store). */
export function isC2paSuperbox(box: Buffer): boolean {
  // jumb header (8) + jumd header (8) + type UUID (16) + toggles (1) + label.
  if (box.length < 8 + 8 + 17 + 4) return false;
  if (box.toString('latin1', 4, 8) !== 'jumb' || box.toString('latin1', 12, 16) !== 'jumd') return false;
  const toggles = box[32]!;
  if ((toggles & 0x02) === 0) return false; // no label
  const labelEnd = box.indexOf(0, 33);
  const label = box.toString('utf8', 33, labelEnd < 0 ? Math.min(box.length, 33 + 64) : labelEnd);
  return label === 'c2pa';
}

// ---- PNG: chunks up to IEND ------------------------------------------------------------------

function walkPng(bytes: Buffer, blocks: MetadataBlocks): void {
  let at = 8;
  let textBytes = 0;
  while (at + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const start = at + 8;
    if (start + length > bytes.length) {
      hit(blocks, 'truncated_container');
      return;
    }
    const data = bytes.subarray(start, start + length);
    if (type === 'IEND') return;
    if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      blocks.textChunkCount += 1;
      if (blocks.texts.length < MAX_TEXT_CHUNKS && textBytes < MAX_TOTAL_TEXT_BYTES) {
        const chunk = readTextChunk(type, data);
        if (chunk !== null) {
          if (type === 'iTXt' && chunk.keyword === 'XML:com.adobe.xmp') addXmp(blocks, Buffer.from(chunk.text, 'utf8'));
          else blocks.texts.push(chunk);
          textBytes += chunk.text.length;
        }
      } else {
        hit(blocks, 'text_chunks');
      }
    } else if (type === 'eXIf') {
      blocks.exif ??= data;
    } else if (type === 'caBX' && isC2paSuperbox(data)) {
      blocks.c2pa.present = true;
      blocks.c2pa.bytes += data.length;
    }
    at = start + length + 4; // + CRC
  }
}

function inflateBounded(data: Buffer): { text: Buffer; truncated: boolean } | null {
  try {
    return { text: zlib.inflateSync(data, { maxOutputLength: MAX_TEXT_BYTES }), truncated: false };
  } catch (error) {
    // Over the bound (a zlib bomb or just a long text): the chunk is counted, its text not kept.
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { text: Buffer.alloc(0), truncated: true };
    return null;
  }
}

/** tEXt: keyword\0text (Latin-1); zTXt: keyword\0 method compressed; iTXt: keyword\0 flag method lang\0 translated\0 text (UTF-8). */
export function readTextChunk(type: string, data: Buffer): TextChunk | null {
  const nul = data.indexOf(0);
  if (nul < 1 || nul > 79) return null;
  const keyword = data.toString('latin1', 0, nul);
  let text: Buffer;
  let truncated = false;
  if (type === 'tEXt') {
    text = data.subarray(nul + 1);
  } else if (type === 'zTXt') {
    const inflated = inflateBounded(data.subarray(nul + 2));
    if (inflated === null) return null;
    ({ text, truncated } = inflated);
  } else {
    const compressed = data[nul + 1] === 1;
    const langEnd = data.indexOf(0, nul + 3);
    const translatedEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
    if (translatedEnd < 0) return null;
    const body = data.subarray(translatedEnd + 1);
    if (compressed) {
      const inflated = inflateBounded(body);
      if (inflated === null) return null;
      ({ text, truncated } = inflated);
    } else {
      text = body;
    }
  }
  if (text.length > MAX_TEXT_BYTES) {
    text = text.subarray(0, MAX_TEXT_BYTES);
    truncated = true;
  }
  return { type, keyword, text: text.toString(type === 'iTXt' ? 'utf8' : 'latin1'), bytes: data.length, truncated };
}

// ---- WebP: RIFF chunks -----------------------------------------------------------------------

function walkWebp(bytes: Buffer, blocks: MetadataBlocks): void {
  const riffEnd = Math.min(bytes.length, bytes.length >= 8 ? 8 + bytes.readUInt32LE(4) : 0);
  let at = 12;
  while (at + 8 <= riffEnd) {
    const type = bytes.toString('latin1', at, at + 4);
    const length = bytes.readUInt32LE(at + 4);
    const start = at + 8;
    if (start + length > bytes.length) {
      hit(blocks, 'truncated_container');
      return;
    }
    const data = bytes.subarray(start, start + length);
    if (type === 'EXIF') blocks.exif ??= startsWith(data, 0, EXIF_ID) ? data.subarray(EXIF_ID.length) : data;
    else if (type === 'XMP ') addXmp(blocks, data);
    else if (type === 'C2PA' && isC2paSuperbox(data)) {
      blocks.c2pa.present = true;
      blocks.c2pa.bytes += data.length;
    }
    at = start + length + (length & 1);
  }
}

// ---- AVIF: top-level ISOBMFF boxes -----------------------------------------------------------

/** The `uuid` box type of the C2PA binding for BMFF files. */
const C2PA_BMFF_UUID = Buffer.from('d8fec3d61b0e483c92975828877ec481', 'hex');

function walkIsobmff(bytes: Buffer, blocks: MetadataBlocks): void {
  let at = 0;
  while (at + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > bytes.length) return;
      size = Number(bytes.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = bytes.length - at;
    }
    if (size < header || at + size > bytes.length) {
      hit(blocks, 'truncated_container');
      return;
    }
    if (type === 'uuid' && startsWith(bytes, at + header, C2PA_BMFF_UUID)) {
      blocks.c2pa.present = true;
      blocks.c2pa.bytes += size;
    }
    at += size;
  }
}
