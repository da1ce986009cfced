/**
 * Reads what an XMP packet says about the image's origin: IPTC's `Iptc4xmpExt:DigitalSourceType`
 * (as an attribute or an element, under any namespace prefix) and `xmp:CreatorTool`. The packet is
 * parsed as XML (fast-xml-parser, the only file that imports it), never searched as text; entities
 * are not expanded, and the walk of the parsed tree is bounded in depth and nodes.
 */
import { XMLParser } from 'fast-xml-parser';

export interface XmpFields {
  digitalSourceType: string | null;
  creatorTool: string | null;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  parseAttributeValue: false,
});

const MAX_DEPTH = 32;
const MAX_NODES = 5000;

export function readXmpFields(packets: readonly string[]): XmpFields {
  const fields: XmpFields = { digitalSourceType: null, creatorTool: null };
  for (const packet of packets) {
    let tree: unknown;
    try {
      tree = parser.parse(packet);
    } catch {
      continue; // not well-formed XML: nothing is read from it
    }
    let nodes = 0;
    const visit = (node: unknown, depth: number): void => {
      if (depth > MAX_DEPTH || nodes > MAX_NODES || typeof node !== 'object' || node === null) return;
      nodes += 1;
      for (const [key, value] of Object.entries(node)) {
        const name = key.startsWith('@') ? key.slice(1) : key;
        if (name === 'DigitalSourceType') fields.digitalSourceType ??= textOf(value);
        else if (name === 'CreatorTool') fields.creatorTool ??= textOf(value);
        else visit(value, depth + 1);
      }
    };
    visit(tree, 0);
  }
  return fields;
}

/** An element's text, an attribute's value, or an rdf:resource attribute. */
function textOf(value: unknown): string | null {
  if (typeof value === 'string') return value.trim().slice(0, 256) || null;
  if (Array.isArray(value)) return textOf(value[0]);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return textOf(record['#text'] ?? record['@resource'] ?? record['Alt'] ?? record['li'] ?? null);
  }
  return null;
}
