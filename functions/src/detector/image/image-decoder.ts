/**
 * ImageDecoder: the port that turns validated image bytes into the RGB pixels a model needs.
 * Adapters: SharpDecoder (default; libvips) and JimpDecoder (pure JavaScript, IMAGE_DECODER=jimp).
 * Both receive bytes whose format and dimensions were already read from the header by
 * `readImageHeader`, so neither ever decodes an image that breaks the byte or pixel limits.
 */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'avif'];

/** How messages name each format. */
export const FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', avif: 'AVIF' };

export interface ImageHeader {
  format: ImageFormat;
  /** Stored width and height, before EXIF orientation is applied. */
  width: number;
  height: number;
  /** EXIF orientation 1..8 when the header says so (1 = as stored). */
  orientation: number;
  /** True for animated WebP / AVIF sequences / APNG: only the first frame is scored. */
  animated: boolean;
}

export type ResizeMode = 'cover' | 'fill';

/** How the model wants its input: the `preprocessing` block of a model's metadata.json. */
export interface ResizeSpec {
  width: number;
  height: number;
  /** cover: scale the shorter side to fit, then centre-crop; fill: stretch to exactly width×height. */
  resize: ResizeMode;
  interpolation: 'bilinear';
}

export interface DecodedImage {
  format: ImageFormat;
  /** Displayed size of the source (after EXIF orientation). */
  width: number;
  height: number;
  /** RGB, 8 bits per channel, interleaved, row-major: pixelWidth × pixelHeight × 3 bytes. */
  pixels: Uint8Array;
  pixelWidth: number;
  pixelHeight: number;
}

export interface ImageDecoder {
  readonly name: 'sharp' | 'jimp';
  supports(format: ImageFormat): boolean;
  /**
   * Decodes, applies EXIF orientation, flattens alpha onto white, converts grey / CMYK / palette /
   * 16-bit to 8-bit sRGB RGB, and resizes to `target`. Throws an AppError (400 undecodable_image or
   * 415 unsupported_format) for input it cannot handle; never anything else for bad input.
   */
  decode(bytes: Buffer, header: ImageHeader, target: ResizeSpec): Promise<DecodedImage>;
  /**
   * The first frame's pixels exactly as stored: no orientation, no resizing, no colour conversion,
   * alpha dropped (not flattened), 8-bit RGB. For marks that live in the stored samples (an
   * invisible watermark); optional: a decoder without it is not asked.
   */
  decodeStored?(bytes: Buffer, header: ImageHeader): Promise<{ pixels: Uint8Array; width: number; height: number }>;
}
