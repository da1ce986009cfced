/**
 * Constants the pipeline shares with the Python trainer, read from models/shared-constants.json
 * (training/constants.py reads the same file): a change there changes both sides at once.
 */
import shared from '../../models/shared-constants.json';

export const ARCHITECTURES: readonly string[] = Object.freeze([...shared.architectures]);
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([...shared.image_extensions]);
export const SPLITS: readonly string[] = Object.freeze([...shared.splits]);

/** The trainer's --image-size when none is given. */
export function defaultImageSize(arch: string): number {
  return arch === 'compact' ? shared.default_image_size.compact : shared.default_image_size.other;
}

/** The trainer's split rule: an image without a val/ folder is validation when its hash says so. */
export function isValidationHash(sha256: string, valFraction: number): boolean {
  const { hex_digits: digits, modulus } = shared.validation_split;
  return Number.parseInt(sha256.slice(0, digits), 16) % modulus < valFraction * modulus;
}
