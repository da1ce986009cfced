/**
 * Measures a JSON text's structure without parsing it: how many values it holds and how deeply
 * they nest. `JSON.parse` of a 31 MB `{"images":[1,1,…]}` builds 15 million values (hundreds of
 * MB of heap) before any schema can say the batch is too long; this scan reads the bytes once,
 * allocates nothing and stops at the first bound passed, so the parse only ever sees a body of
 * bounded shape (long strings, such as base64 images, cost bytes, not values).
 */
export interface JsonShapeLimits {
  /** Most values (array elements, object members and containers) in the whole document. */
  maxValues: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
}

export type JsonShapeVerdict = { ok: true } | { ok: false; reason: 'too_many_values' | 'too_deep' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;

/**
 * Counts containers and separators outside strings. Malformed JSON is not judged here (the parser
 * that runs next reports it); only a shape that passes the limits is let through.
 */
export function checkJsonShape(bytes: Uint8Array, limits: JsonShapeLimits): JsonShapeVerdict {
  let values = 1;
  let depth = 0;
  let i = 0;
  const length = bytes.length;
  while (i < length) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      i = endOfString(bytes, i + 1);
      continue;
    }
    if (byte === COMMA) {
      values += 1;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      depth += 1;
      values += 1;
      if (depth > limits.maxDepth) return { ok: false, reason: 'too_deep' };
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth -= 1;
    }
    if (values > limits.maxValues) return { ok: false, reason: 'too_many_values' };
    i += 1;
  }
  return { ok: true };
}

/** Index just past the quote that closes the string whose content starts at `start`. */
function endOfString(bytes: Uint8Array, start: number): number {
  let at = start;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote === -1) return bytes.length;
    let backslashes = 0;
    while (quote - backslashes - 1 >= start && bytes[quote - backslashes - 1] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}
