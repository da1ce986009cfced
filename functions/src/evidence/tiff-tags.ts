/**
 * Reads the camera and software tags of an EXIF block's first image directory (IFD0): Make (0x010F),
 * Model (0x0110) and Software (0x0131), ASCII strings. Pure and total: a damaged block gives nulls.
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
