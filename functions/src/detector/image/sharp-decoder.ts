/**
 * SharpDecoder: the default ImageDecoder, on libvips through sharp (the only file that imports it).
 * One pipeline per image: EXIF auto-orient, first frame only, alpha flattened onto white, any
 * colour space (grey, CMYK, 16-bit, embedded ICC profile) converted to 8-bit sRGB, then the
 * contract's resize: scale to the size `resizeGeometry` gives with the linear kernel (the triangle
 * filter widened by the reduction factor, as Pillow's BILINEAR), and crop.
 */
import sharp, { type OutputInfo } from 'sharp';
import { BadRequestError, PayloadTooLargeError } from '../../platform/errors';
import { type DecodedImage, FORMAT_NAMES, type ImageDecoder, type ImageFormat, type ImageHeader, type ResizeSpec } from './image-decoder';
import { displayedSize } from './image-header';
import { resizeGeometry, resizeRgb } from './preprocess';

export interface SharpDecoderOptions {
  /** Refuse to decode more pixels than this (the header check already did; this guards libvips). */
  maxPixels: number;
  /**
   * sharp's fastShrinkOnLoad: let libjpeg / libwebp do more of a large reduction by decoding at
   * 1/2, 1/4 or 1/8 scale. Off by default: it moves small outputs measurably away from Pillow
   * (up to 2.2 mean, 39 max abs difference on the fixtures) and saved no time on a 12 MP JPEG,
   * where libvips shrinks on load either way.
   */
  fastShrinkOnLoad?: boolean;
}

export class SharpDecoder implements ImageDecoder {
  readonly name = 'sharp' as const;
  private readonly maxPixels: number;
  private readonly fastShrinkOnLoad: boolean;

  /**
   * Process-wide libvips settings. Cloud Functions gives an instance one or two vCPUs and serves one
   * request at a time: concurrency 1 and no operation cache keep memory flat.
   */
  static configure(settings: { concurrency?: number; cache?: boolean }): void {
    if (settings.concurrency !== undefined) {
      if (!Number.isInteger(settings.concurrency) || settings.concurrency < 0) {
        throw new RangeError(`concurrency must be a non-negative integer, got ${settings.concurrency}`);
      }
      sharp.concurrency(settings.concurrency);
    }
    if (settings.cache !== undefined) sharp.cache(settings.cache);
  }

  constructor(options: SharpDecoderOptions) {
    if (!Number.isInteger(options.maxPixels) || options.maxPixels < 1) {
      throw new RangeError(`maxPixels must be a positive integer, got ${options.maxPixels}`);
    }
    this.maxPixels = options.maxPixels;
    this.fastShrinkOnLoad = options.fastShrinkOnLoad ?? false;
  }

  supports(format: ImageFormat): boolean {
    const info = format === 'avif' ? sharp.format.heif : sharp.format[format];
    return info?.input.buffer === true;
  }

  async decodeStored(bytes: Buffer, header: ImageHeader): Promise<{ pixels: Uint8Array; width: number; height: number }> {
    if (header.width * header.height > this.maxPixels) {
      throw new PayloadTooLargeError('too_many_pixels', `image is ${header.width}×${header.height} pixels; the limit is ${this.maxPixels}`);
    }
    const { data, info } = await sharp(bytes, { limitInputPixels: this.maxPixels, failOn: 'none' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels < 3) throw new BadRequestError('undecodable_image', `expected RGB samples, got ${info.channels} channels`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  }

  async decode(bytes: Buffer, header: ImageHeader, target: ResizeSpec): Promise<DecodedImage> {
    const shown = displayedSize(header);
    const g = resizeGeometry(shown.width, shown.height, target);
    // libvips samples at other positions than Pillow when it enlarges (about half an output pixel
    // apart), so an image that is enlarged on either axis is resized here instead: it is small on
    // that axis, and resizeRgb computes only the cropped window.
    const enlarges = g.scaledWidth > shown.width || g.scaledHeight > shown.height;
    let pipeline = sharp(bytes, {
      limitInputPixels: this.maxPixels,
      // 'error' also rejects a truncated scan ('premature end of JPEG image'), yet tolerates the
      // warnings many camera JPEGs raise (extraneous bytes before a marker).
      failOn: 'error',
      animated: false,
      sequentialRead: true,
      autoOrient: true,
    }).flatten({ background: '#ffffff' });
    if (!enlarges) {
      pipeline = pipeline.resize(g.scaledWidth, g.scaledHeight, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: this.fastShrinkOnLoad });
      if (g.scaledWidth !== target.width || g.scaledHeight !== target.height) {
        pipeline = pipeline.extract({ left: g.left, top: g.top, width: target.width, height: target.height });
      }
    }
    pipeline = pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' });

    let data: Buffer;
    let info: OutputInfo;
    try {
      ({ data, info } = await pipeline.toBuffer({ resolveWithObject: true }));
    } catch (error) {
      throw decodeError(error, header, this.maxPixels);
    }
    // Enlarged images come back at their decoded size, which resizeRgb takes as it is.
    const sized = enlarges || (info.width === target.width && info.height === target.height);
    if (info.channels !== 3 || data.length !== info.width * info.height * 3 || !sized) {
      throw new BadRequestError(
        'undecodable_image',
        `the ${FORMAT_NAMES[header.format]} image decoded to ${info.width}×${info.height}×${info.channels}, not ${target.width}×${target.height}×3`,
      );
    }
    const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return {
      format: header.format,
      width: shown.width,
      height: shown.height,
      pixels: enlarges ? resizeRgb(rgb, info.width, info.height, target) : rgb,
      pixelWidth: target.width,
      pixelHeight: target.height,
    };
  }
}

/** A safe, short reason from a libvips message ("VipsJpeg: premature end of JPEG image\n..."). */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? 'unknown error';
  const text = firstLine.replace(/^Vips\w*:\s*/, '').trim();
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function decodeError(error: unknown, header: ImageHeader, maxPixels: number): BadRequestError | PayloadTooLargeError {
  const why = reason(error);
  if (/exceeds pixel limit/i.test(why)) {
    return new PayloadTooLargeError(
      'too_many_pixels',
      `the ${FORMAT_NAMES[header.format]} image holds more pixels than the limit of ${(maxPixels / 1e6).toFixed(1)} MP`,
      { cause: error },
    );
  }
  return new BadRequestError('undecodable_image', `the ${FORMAT_NAMES[header.format]} image could not be decoded: ${why}`, { cause: error });
}
