import type { DetectorSettings } from '../detector-settings';
import type { ImageDecoder } from './image-decoder';
import { JimpDecoder } from './jimp-decoder';
import { SharpDecoder } from './sharp-decoder';

/** The decoder `IMAGE_DECODER` names, limited to `MAX_PIXELS`. */
export function createDecoder(config: Pick<DetectorSettings, 'imageDecoder' | 'maxPixels'>): ImageDecoder {
  if (config.imageDecoder === 'jimp') return new JimpDecoder({ maxPixels: config.maxPixels });
  return new SharpDecoder({ maxPixels: config.maxPixels });
}
