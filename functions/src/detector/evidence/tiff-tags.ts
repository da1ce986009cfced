/**
 * Reads the camera and software tags of an EXIF block's first image directory (IFD0): Make (0x010F),
 * Model (0x0110) and Software (0x0131), ASCII strings; and UserComment (0x9286) of the Exif
 * directory IFD0 points to (0x8769), where the Stable Diffusion web UI writes its parameters into
 * JPEG and WebP files. Pure and total: a damaged block gives nulls.
 * Three ASCII tags of one directory do not need an EXIF library (which would parse the container a
 * second time); the directory walk is bounded by MAX_ENTRIES and MAX_STRING.
 */
export interface CameraTags {
  make: string | null;
  model: string | null;
  software: string | null;
}

const MAX_ENTRIES = 512;
const MAX_STRING = 256;
const TAGS: Readonly<Record<number, keyof CameraTags>> = { 0x010f: 'make', 0x0110: 'model', 0x0131: 'software' };
const ASCII = 2;
const UTF8 = 129;

export function readCameraTags(tiff: Buffer | null): CameraTags {
  const tags: CameraTags = { make: null, model: null, software: null };
  if (tiff === null || tiff.length < 8) return tags;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return tags;
  const little = order === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return tags;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return tags;
  const entries = Math.min(u16(ifd), MAX_ENTRIES);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) break;
    const name = TAGS[u16(entry)];
    const type = u16(entry + 2);
    if (name === undefined || (type !== ASCII && type !== UTF8)) continue;
    const count = u32(entry + 4);
    const at = count <= 4 ? entry + 8 : u32(entry + 8);
    if (count === 0 || at + count > tiff.length) continue;
    const value = tiff
      .toString(type === UTF8 ? 'utf8' : 'latin1', at, at + Math.min(count, MAX_STRING))
      .replace(/\0[\s\S]*$/, '')
      .trim();
    if (value !== '') tags[name] = value;
  }
  return tags;
}

const EXIF_IFD_POINTER = 0x8769;
const USER_COMMENT = 0x9286;
/** Longest UserComment read, in bytes. */
export const MAX_USER_COMMENT_BYTES = 64 * 1024;

/**
 * UserComment: an 8-byte character code ("ASCII", "UNICODE", "JIS" or undefined) and the text.
 * UNICODE is UTF-16, in the byte order the writer chose (the TIFF one, or big-endian as piexif
 * writes it): taken from where the zero bytes of Latin text fall.
 */
export function readUserComment(tiff: Buffer | null): string | null {
  if (tiff === null || tiff.length < 8) return null;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const find = (ifd: number, tag: number): { count: number; at: number } | null => {
    if (ifd + 2 > tiff.length) return null;
    const entries = Math.min(u16(ifd), MAX_ENTRIES);
    for (let i = 0; i < entries; i++) {
      const entry = ifd + 2 + i * 12;
      if (entry + 12 > tiff.length) return null;
      if (u16(entry) !== tag) continue;
      const count = u32(entry + 4);
      return { count, at: count <= 4 ? entry + 8 : u32(entry + 8) };
    }
    return null;
  };
  if (u16(2) !== 42) return null;
  const pointer = find(u32(4), EXIF_IFD_POINTER);
  if (pointer === null) return null;
  const comment = find(u32(pointer.at), USER_COMMENT);
  if (comment === null || comment.count <= 8 || comment.at + comment.count > tiff.length) return null;
  const code = tiff.toString('latin1', comment.at, comment.at + 8).replace(/\0+$/, '');
  const body = tiff.subarray(comment.at + 8, comment.at + Math.min(comment.count, MAX_USER_COMMENT_BYTES));
  let text: string;
  if (code === 'UNICODE') {
    let zerosAtEven = 0;
    let zerosAtOdd = 0;
    for (let i = 0; i + 1 < Math.min(body.length, 512); i += 2) {
      if (body[i] === 0) zerosAtEven += 1;
      if (body[i + 1] === 0) zerosAtOdd += 1;
    }
    const even = body.subarray(0, body.length & ~1);
    text = zerosAtEven > zerosAtOdd ? Buffer.from(even).swap16().toString('utf16le') : even.toString('utf16le');
  } else {
    text = body.toString(code === 'ASCII' ? 'latin1' : 'utf8');
  }
  const trimmed = text.replace(/\0[\s\S]*$/, '').trim();
  return trimmed === '' ? null : trimmed;
}
