/**
 * Reads the IPTC IIM (Information Interchange Model) records of a JPEG's Photoshop resource 0x0404:
 * a run of datasets, each 0x1C, record number, dataset number, a 2-byte length and the data. Of the
 * application record (2) it keeps OriginatingProgram (2:65) and ProgramVersion (2:70), the program
 * that made the image. (IIM has no digital source type: IPTC defines that in XMP, which a
 * Photoshop resource may carry too, as 0x0424.) Pure and total, bounded by MAX_DATASETS.
 */
export interface IptcFields {
  originating_program: string | null;
  program_version: string | null;
}

const MAX_DATASETS = 512;
const MAX_TEXT = 128;
const FIELDS: Readonly<Record<number, keyof IptcFields>> = { 65: 'originating_program', 70: 'program_version' };

export function readIptcFields(iim: Buffer | null): IptcFields {
  const fields: IptcFields = { originating_program: null, program_version: null };
  if (iim === null) return fields;
  let at = 0;
  for (let count = 0; count < MAX_DATASETS && at + 5 <= iim.length; count += 1) {
    if (iim[at] !== 0x1c) break;
    const record = iim[at + 1]!;
    const dataset = iim[at + 2]!;
    const length = iim.readUInt16BE(at + 3);
    if ((length & 0x8000) !== 0) break; // an extended dataset: not one of ours, and its length is not read
    const start = at + 5;
    if (start + length > iim.length) break;
    const name = record === 2 ? FIELDS[dataset] : undefined;
    if (name !== undefined && fields[name] === null) {
      const text = iim
        .toString('utf8', start, start + length)
        .replace(/\0+$/, '')
        .trim();
      if (text !== '') fields[name] = text.slice(0, MAX_TEXT);
    }
    at = start + length;
  }
  return fields;
}
