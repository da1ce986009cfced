/**
 * Finds the metadata blocks of an image by walking its container structure: JPEG marker segments
 * (APP1 EXIF and XMP, APP13 Photoshop resources: IPTC IIM and XMP, APP11 JUMBF, COM), PNG chunks
 * (tEXt, zTXt, iTXt, eXIf, caBX), RIFF chunks of WebP (EXIF, XMP, C2PA) and the ISOBMFF boxes of
 * AVIF/HEIF (the C2PA `uuid` box; the `Exif` and XMP items of the `meta` box, found through
 * `iinf` and `iloc`). It never searches the bytes for strings: each block is found where the
 * container says it is.
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
  /** The IPTC IIM records of a JPEG's Photoshop image resource 0x0404, when there is one. */
  iptc: Buffer | null;
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
  return { exif: null, iptc: null, xmp: [], comments: [], texts: [], textChunkCount: 0, c2pa: { present: false, bytes: 0 }, limitsHit: [] };
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
const PHOTOSHOP_ID = Buffer.from('Photoshop 3.0\0', 'latin1');
const IRB_IPTC = 0x0404;
const IRB_XMP = 0x0424;
/** Photoshop image resources read from one APP13 segment. */
const MAX_RESOURCES = 256;

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
    } else if (marker === 0xed && startsWith(bytes, start, PHOTOSHOP_ID)) {
      readPhotoshopResources(data.subarray(PHOTOSHOP_ID.length), blocks);
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
 * Photoshop image resource blocks (APP13): "8BIM", a 2-byte id, a Pascal name padded to even length,
 * a 4-byte size and the data padded to even length. 0x0404 holds IPTC IIM, 0x0424 an XMP packet.
 */
function readPhotoshopResources(data: Buffer, blocks: MetadataBlocks): void {
  let at = 0;
  for (let count = 0; count < MAX_RESOURCES && at + 12 <= data.length; count += 1) {
    if (data.toString('latin1', at, at + 4) !== '8BIM') return;
    const id = data.readUInt16BE(at + 4);
    const nameLength = data[at + 6]!;
    const sizeAt = at + 6 + ((nameLength + 2) & ~1);
    if (sizeAt + 4 > data.length) return;
    const size = data.readUInt32BE(sizeAt);
    const start = sizeAt + 4;
    if (start + size > data.length) {
      hit(blocks, 'truncated_container');
      return;
    }
    if (id === IRB_IPTC) blocks.iptc ??= data.subarray(start, start + size);
    else if (id === IRB_XMP) addXmp(blocks, data.subarray(start, start + size));
    at = start + size + (size & 1);
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
    } else if (type === 'meta') {
      readMetaItems(bytes, at + header + 4, at + size, blocks); // + version and flags
    }
    at += size;
  }
}

/** Items of a `meta` box read (the rest are skipped). */
const MAX_ITEMS = 1024;

interface BoxHeader {
  type: string;
  start: number;
  end: number;
}

/** The child boxes of [from, to), at most MAX_ITEMS of them; stops at the first that does not fit. */
function childBoxes(bytes: Buffer, from: number, to: number): BoxHeader[] {
  const boxes: BoxHeader[] = [];
  let at = from;
  while (at + 8 <= to && boxes.length < MAX_ITEMS) {
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > to) break;
    boxes.push({ type: bytes.toString('latin1', at + 4, at + 8), start: at + 8, end: at + size });
    at += size;
  }
  return boxes;
}

function readUInt(bytes: Buffer, at: number, size: number): number {
  if (size === 0) return 0;
  if (size === 2) return bytes.readUInt16BE(at);
  if (size === 4) return bytes.readUInt32BE(at);
  return Number(bytes.readBigUInt64BE(at));
}

/**
 * HEIF's item boxes (ISO/IEC 23008-12): `iinf` names each item's type (`Exif`, or `mime` with the
 * content type application/rdf+xml for XMP), `iloc` says where its bytes are in the file. An Exif
 * item starts with the 4-byte offset of its TIFF header. Only single-extent items stored in the file
 * itself (construction method 0) are read.
 */
function readMetaItems(bytes: Buffer, from: number, to: number, blocks: MetadataBlocks): void {
  if (from > to) return;
  const children = childBoxes(bytes, from, to);
  const kinds = new Map<number, 'exif' | 'xmp'>();
  const iinf = children.find((box) => box.type === 'iinf');
  if (iinf !== undefined && iinf.start + 4 <= iinf.end) {
    const version = bytes[iinf.start]!;
    const first = iinf.start + 4 + (version === 0 ? 2 : 4);
    for (const infe of childBoxes(bytes, first, iinf.end)) {
      if (infe.type !== 'infe' || infe.start + 12 > infe.end) continue;
      const infeVersion = bytes[infe.start]!;
      if (infeVersion < 2) continue;
      const idSize = infeVersion === 2 ? 2 : 4;
      const id = readUInt(bytes, infe.start + 4, idSize);
      const typeAt = infe.start + 4 + idSize + 2;
      if (typeAt + 4 > infe.end) continue;
      const itemType = bytes.toString('latin1', typeAt, typeAt + 4);
      if (itemType === 'Exif') kinds.set(id, 'exif');
      else if (itemType === 'mime') {
        const nameEnd = bytes.indexOf(0, typeAt + 4);
        const typeEnd = nameEnd < 0 || nameEnd >= infe.end ? -1 : bytes.indexOf(0, nameEnd + 1);
        if (typeEnd > 0 && typeEnd <= infe.end && bytes.toString('latin1', nameEnd + 1, typeEnd) === 'application/rdf+xml') kinds.set(id, 'xmp');
      }
    }
  }
  const iloc = children.find((box) => box.type === 'iloc');
  if (kinds.size === 0 || iloc === undefined || iloc.start + 8 > iloc.end) return;
  const version = bytes[iloc.start]!;
  if (version > 2) return;
  const offsetSize = bytes[iloc.start + 4]! >> 4;
  const lengthSize = bytes[iloc.start + 4]! & 15;
  const baseOffsetSize = bytes[iloc.start + 5]! >> 4;
  const indexSize = version === 0 ? 0 : bytes[iloc.start + 5]! & 15;
  const idSize = version < 2 ? 2 : 4;
  let at = iloc.start + 6;
  const count = Math.min(readUInt(bytes, at, idSize), MAX_ITEMS);
  at += idSize;
  for (let item = 0; item < count; item += 1) {
    const fixed = idSize + (version === 0 ? 0 : 2) + 2 + baseOffsetSize + 2;
    if (at + fixed > iloc.end) return;
    const id = readUInt(bytes, at, idSize);
    at += idSize;
    const method = version === 0 ? 0 : bytes.readUInt16BE(at) & 15;
    if (version !== 0) at += 2;
    at += 2; // data_reference_index
    const base = readUInt(bytes, at, baseOffsetSize);
    at += baseOffsetSize;
    const extents = bytes.readUInt16BE(at);
    at += 2;
    const extentSize = indexSize + offsetSize + lengthSize;
    if (at + extents * extentSize > iloc.end) return;
    const kind = kinds.get(id);
    if (kind !== undefined && method === 0 && extents === 1) {
      const offset = base + readUInt(bytes, at + indexSize, offsetSize);
      const length = readUInt(bytes, at + indexSize + offsetSize, lengthSize);
      if (offset + length <= bytes.length && length > 0) {
        const data = bytes.subarray(offset, offset + length);
        if (kind === 'xmp') addXmp(blocks, data);
        else if (data.length > 4) {
          const tiffAt = 4 + data.readUInt32BE(0);
          if (tiffAt < data.length) blocks.exif ??= data.subarray(tiffAt);
        }
      } else {
        hit(blocks, 'truncated_container');
      }
    }
    at += extents * extentSize;
  }
}
