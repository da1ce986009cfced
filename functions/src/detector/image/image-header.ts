/**
 * Reads an image's format, size, EXIF orientation and animation flag from its first bytes, without
 * decoding a pixel, and enforces the byte, pixel and minimum-side limits. The format comes from the
 * magic bytes only: a declared content type or file name is never trusted. Pure and total: for any
 * input it returns a header or throws an AppError.
 */
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../platform/errors';
import { FORMAT_NAMES, type ImageFormat, type ImageHeader } from './image-decoder';

/** What an image may be, checked from its header before any decoding. */
export interface ImageLimits {
  /** Largest accepted encoded size, in bytes (MAX_IMAGE_BYTES). */
  maxImageBytes: number;
  /** Largest accepted width × height (MAX_PIXELS). */
  maxPixels: number;
  /** Smallest accepted width and height, in pixels (MIN_IMAGE_SIDE). */
  minImageSide: number;
  /** Estimated decode time one request may spend (image/decode-cost.ts); unset: no budget (offline evaluation). */
  maxDecodeMs?: number;
}

const ACCEPTED = 'JPEG, PNG, WebP or AVIF';

interface Dimensions {
  width: number;
  height: number;
  orientation: number;
  animated: boolean;
}

/** A parser that cannot find the dimensions returns a reason instead. */
type ParseResult = Dimensions | string;

export function readImageHeader(bytes: Buffer, limits: ImageLimits): ImageHeader {
  if (bytes.length === 0) {
    throw new BadRequestError('empty_image', 'the image is empty (0 bytes); send the bytes of a JPEG, PNG, WebP or AVIF image');
  }
  if (bytes.length > limits.maxImageBytes) {
    throw imageTooLarge(bytes.length, limits.maxImageBytes);
  }
  const format = detectFormat(bytes);
  if (typeof format !== 'string') {
    throw new UnsupportedMediaTypeError(
      'unsupported_format',
      format.name === null ? `${describeContent(bytes)}, not a ${ACCEPTED} image` : `${format.name} images are not supported; send a ${ACCEPTED} image`,
    );
  }
  const parsed = parse(format, bytes);
  if (typeof parsed === 'string') {
    throw new BadRequestError('undecodable_image', `the ${FORMAT_NAMES[format]} header is damaged or cut short: ${parsed}`);
  }
  const { width, height } = parsed;
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new PayloadTooLargeError(
      'too_many_pixels',
      `image is ${width}×${height} pixels (${megapixels(pixels)} MP); the limit is ${megapixels(limits.maxPixels)} MP`,
    );
  }
  if (Math.min(width, height) < limits.minImageSide) {
    throw new BadRequestError('image_too_small', `image is ${width}×${height} pixels; both sides must be at least ${limits.minImageSide} pixels`);
  }
  return { format, width, height, orientation: parsed.orientation, animated: parsed.animated };
}

/** The displayed size: EXIF orientations 5 to 8 swap width and height. */
export function displayedSize(header: Pick<ImageHeader, 'width' | 'height' | 'orientation'>): { width: number; height: number } {
  return header.orientation >= 5 && header.orientation <= 8 ? { width: header.height, height: header.width } : { width: header.width, height: header.height };
}

function parse(format: ImageFormat, bytes: Buffer): ParseResult {
  switch (format) {
    case 'jpeg':
      return parseJpeg(bytes);
    case 'png':
      return parsePng(bytes);
    case 'webp':
      return parseWebp(bytes);
    case 'avif':
      return parseAvif(bytes);
  }
}

/**
 * 413 image_too_large: the size received, the limit in MiB and the setting that sets it.
 * `size` null: more than the limit arrived, but how much more is not known.
 */
export function imageTooLarge(size: number | null, maxBytes: number): PayloadTooLargeError {
  // The size rounds up and the limit to the nearest, so an image one byte over never reads as the limit itself.
  const mib = (n: number, round: (x: number) => number) => `${String(round((n / (1024 * 1024)) * 100) / 100)} MiB`;
  const received = size === null ? 'the image is larger than the limit' : `the image is ${size} bytes (${mib(size, Math.ceil)})`;
  return new PayloadTooLargeError(
    'image_too_large',
    `${received}; the limit is ${mib(maxBytes, Math.round)} (${maxBytes} bytes, set by MAX_IMAGE_BYTES): send a smaller image`,
  );
}

function megapixels(pixels: number): string {
  return (pixels / 1e6).toFixed(1);
}

/** What a file that is no image seems to be, in words a person recognises (never its bytes in hex). */
export function describeContent(bytes: Buffer): string {
  const head = bytes.subarray(0, 512);
  const ascii = head.toString('latin1');
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'this is a ZIP archive (or an Office document)';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'this is a gzip-compressed file';
  const known: Array<[RegExp, string]> = [
    [/^%PDF-/, 'this is a PDF document'],
    [/^(\xef\xbb\xbf)?\s*<(!doctype html|html)/i, 'this is an HTML page'],
    [/^(\xef\xbb\xbf)?\s*<svg|^(\xef\xbb\xbf)?\s*<\?xml[^>]*>\s*(<!--[\s\S]*?-->\s*)*<svg/i, 'this is an SVG drawing (vector graphics, not pixels)'],
    [/^(\xef\xbb\xbf)?\s*<\?xml/i, 'this is an XML document'],
    [/^(\xef\xbb\xbf)?\s*[[{]/, 'this looks like JSON text'],
  ];
  for (const [pattern, description] of known) if (pattern.test(ascii)) return description;
  // Text: decodes as UTF-8 and is nearly all printable characters, tabs and line breaks.
  const text = head.toString('utf8');
  const printable = [...text].filter((c) => c === '\t' || c === '\n' || c === '\r' || (c >= ' ' && c !== '\x7f' && c !== '\ufffd')).length;
  if (head.length > 0 && printable >= 0.95 * [...text].length) return 'this is a text file';
  return 'this file is in a format the service does not recognise';
}
// ---- format detection -----------------------------------------------------------------------

function startsWith(bytes: Buffer, ascii: string, offset = 0): boolean {
  if (bytes.length < offset + ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) {
    if (bytes[offset + i] !== ascii.charCodeAt(i)) return false;
  }
  return true;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** An accepted format, or the name of a recognised but refused one (null when unrecognised). */
function detectFormat(bytes: Buffer): ImageFormat | { name: string | null } {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return 'webp';
  if (startsWith(bytes, 'ftyp', 4)) {
    const brands = ftypBrands(bytes);
    if (brands.includes('avif') || brands.includes('avis')) return 'avif';
    if (brands.some((b) => HEIF_BRANDS.has(b))) return { name: 'HEIC/HEIF' };
    if (brands.some((b) => b === 'jxl ')) return { name: 'JPEG XL' };
    return { name: null };
  }
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return { name: 'GIF' };
  if (startsWith(bytes, 'BM') && bytes.length >= 18 && BMP_INFO_SIZES.has(bytes.readUInt32LE(14))) return { name: 'BMP' };
  if (startsWith(bytes, 'II*\0') || startsWith(bytes, 'MM\0*')) return { name: 'TIFF' };
  if (startsWith(bytes, '%PDF-')) return { name: 'PDF' };
  if (startsWith(bytes, '8BPS')) return { name: 'Photoshop (PSD)' };
  if (bytes[0] === 0xff && bytes[1] === 0x0a) return { name: 'JPEG XL' };
  if (startsWith(bytes, '\0\0\0\x0cJXL ')) return { name: 'JPEG XL' };
  if (startsWith(bytes, '\0\0\x01\0') && bytes.length >= 6 && bytes.readUInt16LE(4) > 0) return { name: 'ICO' };
  if (looksLikeSvg(bytes)) return { name: 'SVG' };
  return { name: null };
}

const BMP_INFO_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'msf1', 'mif2']);

function ftypBrands(bytes: Buffer): string[] {
  if (bytes.length < 16) return [];
  const size = bytes.readUInt32BE(0);
  const end = Math.min(bytes.length, size >= 16 ? size : 16);
  const brands = [bytes.toString('latin1', 8, 12)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(bytes.toString('latin1', at, at + 4));
  return brands;
}

function looksLikeSvg(bytes: Buffer): boolean {
  let text = bytes.toString('utf8', 0, Math.min(bytes.length, 4096));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.trimStart();
  if (!text.startsWith('<')) return false;
  return /<svg[\s>]/i.test(text);
}

// ---- EXIF -----------------------------------------------------------------------------------

/**
 * Orientation (tag 0x0112) from a TIFF structure (the body of an Exif block), or 1 when absent or
 * out of range. Accepts both byte orders and an optional "Exif\0\0" prefix.
 */
export function exifOrientation(tiff: Buffer): number {
  let data = tiff;
  if (startsWith(data, 'Exif\0\0')) data = data.subarray(6);
  if (data.length < 8) return 1;
  const little = startsWith(data, 'II*\0');
  if (!little && !startsWith(data, 'MM\0*')) return 1;
  const u16 = (at: number): number => (little ? data.readUInt16LE(at) : data.readUInt16BE(at));
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > data.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > data.length) return 1;
    if (u16(entry) !== 0x0112) continue;
    const type = u16(entry + 2);
    // SHORT is the defined type; LONG turns up from some writers.
    const value = type === 3 ? u16(entry + 8) : type === 4 ? u32(entry + 8) : 0;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

// ---- JPEG -----------------------------------------------------------------------------------

function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function parseJpeg(bytes: Buffer): ParseResult {
  let at = 2;
  let frame: { width: number; height: number } | undefined;
  let orientation = 1;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) return frame ? { ...frame, orientation, animated: false } : `no marker at byte ${at}`;
    while (bytes[at] === 0xff) at++; // fill bytes
    const marker = bytes[at];
    at++;
    if (marker === undefined) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) break; // end of image, start of scan
    if (at + 2 > bytes.length) break;
    const length = bytes.readUInt16BE(at);
    if (length < 2) return frame ? { ...frame, orientation, animated: false } : `segment ${hexByte(marker)} has length ${length}`;
    const body = bytes.subarray(at + 2, at + length);
    if (isStartOfFrame(marker) && frame === undefined) {
      if (body.length < 6) return 'the frame header is cut short';
      frame = { height: body.readUInt16BE(1), width: body.readUInt16BE(3) };
      if (frame.width === 0 || frame.height === 0) return `the frame header says ${frame.width}×${frame.height}`;
    } else if (marker === 0xe1 && orientation === 1 && startsWith(body, 'Exif\0\0')) {
      orientation = exifOrientation(body);
    }
    at += length;
  }
  return frame ? { ...frame, orientation, animated: false } : 'no frame header (SOFn) before the image data';
}

function hexByte(b: number): string {
  return `0x${b.toString(16).padStart(2, '0').toUpperCase()}`;
}

// ---- PNG ------------------------------------------------------------------------------------

function parsePng(bytes: Buffer): ParseResult {
  if (bytes.length < 33) return 'the IHDR chunk is cut short';
  if (bytes.readUInt32BE(8) !== 13 || !startsWith(bytes, 'IHDR', 12)) return 'the first chunk is not IHDR';
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return `IHDR says ${width}×${height}`;
  let orientation = 1;
  let animated = false;
  let at = 33;
  while (at + 8 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT' || type === 'IEND') break;
    const body = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    if (type === 'acTL') animated = body.length >= 4 && body.readUInt32BE(0) > 1;
    else if (type === 'eXIf') orientation = exifOrientation(body);
    at += 12 + length;
  }
  return { width, height, orientation, animated };
}

// ---- WebP -----------------------------------------------------------------------------------

function parseWebp(bytes: Buffer): ParseResult {
  let at = 12;
  let found: { width: number; height: number; animated: boolean } | undefined;
  let orientation = 1;
  let hasExif = false;
  while (at + 8 <= bytes.length) {
    const type = bytes.toString('latin1', at, at + 4);
    const length = bytes.readUInt32LE(at + 4);
    const body = bytes.subarray(at + 8, Math.min(bytes.length, at + 8 + length));
    if (found === undefined) {
      if (type === 'VP8X') {
        if (body.length < 10) return 'the VP8X chunk is cut short';
        const flags = body[0] ?? 0;
        found = { width: body.readUIntLE(4, 3) + 1, height: body.readUIntLE(7, 3) + 1, animated: (flags & 0x02) !== 0 };
        hasExif = (flags & 0x08) !== 0;
        if (!hasExif) break;
      } else if (type === 'VP8 ') {
        if (body.length < 10) return 'the VP8 chunk is cut short';
        if (((body[0] ?? 1) & 1) !== 0) return 'the VP8 bitstream does not start with a key frame';
        if (body[3] !== 0x9d || body[4] !== 0x01 || body[5] !== 0x2a) return 'the VP8 start code is missing';
        found = { width: body.readUInt16LE(6) & 0x3fff, height: body.readUInt16LE(8) & 0x3fff, animated: false };
        break;
      } else if (type === 'VP8L') {
        if (body.length < 5) return 'the VP8L chunk is cut short';
        if (body[0] !== 0x2f) return 'the VP8L signature is missing';
        const bits = body.readUInt32LE(1);
        found = { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, animated: false };
        break;
      } else {
        return `unexpected first chunk '${printable(type)}'`;
      }
    } else if (type === 'EXIF') {
      orientation = exifOrientation(body);
      break;
    }
    at += 8 + length + (length & 1);
  }
  if (found === undefined) return 'no VP8, VP8L or VP8X chunk';
  if (found.width === 0 || found.height === 0) return `the bitstream says ${found.width}×${found.height}`;
  return { ...found, orientation };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

// ---- AVIF (ISO-BMFF / HEIF) -----------------------------------------------------------------

interface Box {
  type: string;
  /** Offset of the payload (after the size, type and any large size). */
  start: number;
  end: number;
}

/** The boxes directly inside [start, end); stops quietly at the first that does not fit. */
function boxes(bytes: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  let at = start;
  const limit = Math.min(end, bytes.length);
  while (at + 8 <= limit) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > limit) break;
      size = Number(bytes.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = limit - at;
    }
    if (size < header) break;
    out.push({ type, start: at + header, end: Math.min(at + size, limit) });
    if (at + size > limit) break;
    at += size;
  }
  return out;
}

const child = (list: Box[], type: string): Box | undefined => list.find((b) => b.type === type);

/**
 * EXIF orientation for each dihedral transform, as a 2×2 matrix [a, b, c, d] acting on (x, y):
 * the transform that takes the stored picture to the displayed one.
 */
const ORIENTATION_MATRICES: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 0, 0, 1], // 1 identity
  [-1, 0, 0, 1], // 2 mirror left-right
  [-1, 0, 0, -1], // 3 rotate 180
  [1, 0, 0, -1], // 4 mirror top-bottom
  [0, 1, 1, 0], // 5 transpose
  [0, -1, 1, 0], // 6 rotate 90 clockwise
  [0, -1, -1, 0], // 7 transverse
  [0, 1, -1, 0], // 8 rotate 90 anticlockwise
];

/** The orientation equal to applying `first`, then `then`. */
function composeOrientation(first: number, then: number): number {
  const a = ORIENTATION_MATRICES[first - 1];
  const b = ORIENTATION_MATRICES[then - 1];
  if (!a || !b) return 1;
  const m = [b[0] * a[0] + b[1] * a[2], b[0] * a[1] + b[1] * a[3], b[2] * a[0] + b[3] * a[2], b[2] * a[1] + b[3] * a[3]];
  const index = ORIENTATION_MATRICES.findIndex((r) => r.every((v, i) => v === m[i]));
  return index + 1;
}

function parseAvif(bytes: Buffer): ParseResult {
  const top = boxes(bytes, 0, bytes.length);
  const animated = ftypBrands(bytes).includes('avis');
  const meta = child(top, 'meta');
  if (meta) {
    const found = primaryItemProperties(bytes, meta);
    if (found) return { ...found, animated };
  }
  // Image sequences may carry no still image: take the first track's header instead.
  const moov = child(top, 'moov');
  if (moov) {
    for (const trak of boxes(bytes, moov.start, moov.end).filter((b) => b.type === 'trak')) {
      const tkhd = child(boxes(bytes, trak.start, trak.end), 'tkhd');
      if (!tkhd) continue;
      const version = bytes[tkhd.start];
      const at = tkhd.start + (version === 1 ? 88 : 76);
      if (at + 8 > tkhd.end) continue;
      const width = bytes.readUInt32BE(at) >>> 16;
      const height = bytes.readUInt32BE(at + 4) >>> 16;
      if (width > 0 && height > 0) return { width, height, orientation: 1, animated: true };
    }
  }
  return 'no image spatial extent (ispe) property';
}

/** Size and orientation of the primary item, from the ispe, irot and imir properties. */
function primaryItemProperties(bytes: Buffer, meta: Box): Omit<Dimensions, 'animated'> | undefined {
  const inner = boxes(bytes, meta.start + 4, meta.end); // meta is a full box
  const iprp = child(inner, 'iprp');
  if (!iprp) return undefined;
  const iprpInner = boxes(bytes, iprp.start, iprp.end);
  const ipco = child(iprpInner, 'ipco');
  if (!ipco) return undefined;
  const properties = boxes(bytes, ipco.start, ipco.end);

  let primary: number | undefined;
  const pitm = child(inner, 'pitm');
  if (pitm && pitm.start + 6 <= pitm.end) {
    primary = bytes[pitm.start] === 0 ? bytes.readUInt16BE(pitm.start + 4) : pitm.start + 8 <= pitm.end ? bytes.readUInt32BE(pitm.start + 4) : undefined;
  }
  const associated = primary === undefined ? undefined : associations(bytes, child(iprpInner, 'ipma'), primary);
  const chosen = associated ? associated.map((i) => properties[i - 1]).filter((b): b is Box => b !== undefined) : properties;

  let size: { width: number; height: number } | undefined;
  let orientation = 1;
  for (const property of chosen) {
    if (property.type === 'ispe' && property.start + 12 <= property.end) {
      const width = bytes.readUInt32BE(property.start + 4);
      const height = bytes.readUInt32BE(property.start + 8);
      // Without associations, the largest extent belongs to the main image rather than a thumbnail.
      if (!size || (!associated && width * height > size.width * size.height)) size = { width, height };
    } else if (associated && property.type === 'irot' && property.start < property.end) {
      const quarterTurnsAnticlockwise = (bytes[property.start] ?? 0) & 3;
      orientation = composeOrientation(orientation, [1, 8, 3, 6][quarterTurnsAnticlockwise] ?? 1);
    } else if (associated && property.type === 'imir' && property.start < property.end) {
      // axis 0 mirrors about a vertical axis (left-right), 1 about a horizontal one (top-bottom).
      orientation = composeOrientation(orientation, ((bytes[property.start] ?? 0) & 1) === 0 ? 2 : 4);
    }
  }
  if (!size || size.width === 0 || size.height === 0) return undefined;
  return { ...size, orientation };
}

/** The 1-based property indices associated with `item` in an ipma box, in their stated order. */
function associations(bytes: Buffer, ipma: Box | undefined, item: number): number[] | undefined {
  if (!ipma || ipma.start + 8 > ipma.end) return undefined;
  const version = bytes[ipma.start] ?? 0;
  const wideIndex = ((bytes[ipma.start + 3] ?? 0) & 1) === 1;
  const count = bytes.readUInt32BE(ipma.start + 4);
  let at = ipma.start + 8;
  for (let e = 0; e < count; e++) {
    const idBytes = version < 1 ? 2 : 4;
    if (at + idBytes + 1 > ipma.end) return undefined;
    const id = idBytes === 2 ? bytes.readUInt16BE(at) : bytes.readUInt32BE(at);
    const n = bytes[at + idBytes] ?? 0;
    at += idBytes + 1;
    const list: number[] = [];
    for (let k = 0; k < n; k++) {
      if (wideIndex) {
        if (at + 2 > ipma.end) return undefined;
        list.push(bytes.readUInt16BE(at) & 0x7fff);
        at += 2;
      } else {
        if (at + 1 > ipma.end) return undefined;
        list.push((bytes[at] ?? 0) & 0x7f);
        at += 1;
      }
    }
    if (id === item) return list.filter((i) => i > 0);
  }
  return undefined;
}
