/**
 * JimpDecoder: the pure-JavaScript ImageDecoder (IMAGE_DECODER=jimp), for JPEG and PNG only, and the
 * only file that imports jimp. It takes jimp's own format codecs (jpeg-js, pngjs) and calls them
 * directly, because the format is already known from the header: `Jimp.fromBuffer` would sniff the
 * bytes again through a dynamic import of the ESM-only `file-type` (which fails under jest's
 * CommonJS runtime), refuse APNG as an unknown MIME type and read EXIF with a second parser.
 * Orientation, alpha and the resize are then applied here from the header, with the same geometry
 * and Pillow-exact bilinear filter the training pipeline uses.
 */
import type * as JimpModule from 'jimp';

/** jimp, required when the first JimpDecoder is made: the default (sharp) never loads it. */
function jimp(): typeof JimpModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('jimp') as typeof JimpModule;
}
import { BadRequestError, UnsupportedMediaTypeError } from '../../platform/errors';
import { type DecodedImage, FORMAT_NAMES, type ImageDecoder, type ImageFormat, type ImageHeader, type ResizeSpec } from './image-decoder';
import { displayedSize } from './image-header';
import { resizeRgb } from './preprocess';

export interface JimpDecoderOptions {
  /** Passed to jpeg-js as its resolution limit (the header check already enforced it). */
  maxPixels: number;
}

interface Bitmap {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The shape shared by jimp's format codecs. */
interface Codec {
  mime: string;
  decode(data: Buffer, options?: Record<string, unknown>): Bitmap | Promise<Bitmap>;
}

const MIME: Readonly<Record<'jpeg' | 'png', string>> = { jpeg: 'image/jpeg', png: 'image/png' };

function codec(mime: string): Codec {
  for (const make of jimp().defaultFormats) {
    const candidate: Codec = make();
    if (candidate.mime === mime) return candidate;
  }
  throw new Error(`jimp has no codec for ${mime}`);
}

export class JimpDecoder implements ImageDecoder {
  readonly name = 'jimp' as const;
  private readonly codecs: Readonly<Record<'jpeg' | 'png', Codec>>;
  private readonly jpegOptions: Record<string, unknown>;

  constructor(options: JimpDecoderOptions) {
    if (!Number.isInteger(options.maxPixels) || options.maxPixels < 1) {
      throw new RangeError(`maxPixels must be a positive integer, got ${options.maxPixels}`);
    }
    this.codecs = { jpeg: codec(MIME.jpeg), png: codec(MIME.png) };
    this.jpegOptions = {
      formatAsRGBA: false,
      maxResolutionInMP: options.maxPixels / 1e6,
      // Components, sample lines and the RGB output: about 16 bytes a pixel at the limit.
      maxMemoryUsageInMB: Math.ceil((options.maxPixels * 16) / 2 ** 20) + 64,
    };
  }

  supports(format: ImageFormat): boolean {
    return format === 'jpeg' || format === 'png';
  }

  async decode(bytes: Buffer, header: ImageHeader, target: ResizeSpec): Promise<DecodedImage> {
    const format = header.format;
    if (format !== 'jpeg' && format !== 'png') {
      throw new UnsupportedMediaTypeError('unsupported_format', `${format} images need the sharp decoder (IMAGE_DECODER=sharp)`);
    }
    let bitmap: Bitmap;
    try {
      bitmap = await this.codecs[format].decode(bytes, format === 'jpeg' ? this.jpegOptions : undefined);
    } catch (error) {
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new BadRequestError('undecodable_image', `the ${FORMAT_NAMES[format]} image could not be decoded: ${why}`, { cause: error });
    }
    const { width, height } = bitmap;
    const channels = bitmap.data.length / (width * height);
    if (width !== header.width || height !== header.height || (channels !== 3 && channels !== 4)) {
      throw new BadRequestError(
        'undecodable_image',
        `the ${FORMAT_NAMES[format]} image decoded to ${width}×${height}×${channels} but its header says ${header.width}×${header.height}`,
      );
    }
    const rgb = channels === 4 ? flattenOnWhite(bitmap.data) : bitmap.data;
    const upright = orient(rgb, width, height, header.orientation);
    const shown = displayedSize(header);
    const pixels = resizeRgb(upright, shown.width, shown.height, target);
    return { format, width: shown.width, height: shown.height, pixels, pixelWidth: target.width, pixelHeight: target.height };
  }
}

/** RGBA → RGB over white, with Pillow's rounding (paste with an alpha mask). */
function flattenOnWhite(rgba: Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3] as number;
    for (let c = 0; c < 3; c++) {
      const v = (rgba[i * 4 + c] as number) * a + 255 * (255 - a) + 128;
      out[i * 3 + c] = (v + (v >> 8)) >> 8;
    }
  }
  return out;
}

/** Applies EXIF orientation 1..8 to interleaved RGB: the stored picture becomes the displayed one. */
function orient(rgb: Uint8Array, width: number, height: number, orientation: number): Uint8Array {
  if (orientation < 2 || orientation > 8) return rgb;
  const swap = orientation >= 5;
  const outWidth = swap ? height : width;
  const outHeight = swap ? width : height;
  const out = new Uint8Array(rgb.length);
  // For each displayed (X, Y), the stored (x, y) it shows.
  const source = (X: number, Y: number): [number, number] => {
    switch (orientation) {
      case 2:
        return [width - 1 - X, Y];
      case 3:
        return [width - 1 - X, height - 1 - Y];
      case 4:
        return [X, height - 1 - Y];
      case 5:
        return [Y, X];
      case 6:
        return [Y, height - 1 - X];
      case 7:
        return [width - 1 - Y, height - 1 - X];
      default: // 8
        return [width - 1 - Y, X];
    }
  };
  for (let Y = 0; Y < outHeight; Y++) {
    for (let X = 0; X < outWidth; X++) {
      const [x, y] = source(X, Y);
      const from = (y * width + x) * 3;
      const to = (Y * outWidth + X) * 3;
      out[to] = rgb[from] as number;
      out[to + 1] = rgb[from + 1] as number;
      out[to + 2] = rgb[from + 2] as number;
    }
  }
  return out;
}
