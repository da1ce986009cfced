/**
 * Counts the images of folders that carry a known invisible watermark (the invisible-watermark dwtDct
 * mark of the Stable Diffusion v1 scripts and SDXL pipelines; functions/src/detector/evidence/invisible-watermark.ts),
 * with the same decoder and bounds as the service, grouped by the folder under each root.
 *
 *   npm run build && node dist/scripts/bench/scan-watermarks.js <folder> [<folder> …]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDecoder, decodeInvisibleWatermark, readImageHeader } from '../../functions/src/detector';

const IMAGE = /\.(jpe?g|png|webp|avif)$/i;
const MAX_PIXELS = 2048 * 2048;

function* images(folder: string): Generator<string> {
  for (const entry of fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) yield* images(full);
    else if (IMAGE.test(entry.name)) yield full;
  }
}

interface Tally {
  images: number;
  checked: number;
  matched: Record<string, number>;
  nearest: number[];
}

async function main(): Promise<void> {
  const roots = process.argv.slice(2);
  if (roots.length === 0) {
    process.stderr.write('usage: node dist/scripts/bench/scan-watermarks.js <folder> [<folder> …]\n');
    process.exitCode = 2;
    return;
  }
  const decoder = createDecoder({ imageDecoder: 'sharp', maxPixels: 40_000_000 });
  const tallies = new Map<string, Tally>();
  const started = performance.now();
  let megapixels = 0;
  const matches: string[] = [];
  for (const root of roots) {
    for (const file of images(root)) {
      const group = path.join(path.basename(root), path.relative(root, path.dirname(file)));
      const tally = tallies.get(group) ?? { images: 0, checked: 0, matched: {}, nearest: [] };
      tallies.set(group, tally);
      tally.images += 1;
      try {
        const bytes = fs.readFileSync(file);
        const header = readImageHeader(bytes, { maxImageBytes: 64 * 1024 * 1024, maxPixels: 40_000_000, minImageSide: 1 });
        if (header.width * header.height > MAX_PIXELS) continue;
        const stored = await decoder.decodeStored!(bytes, header);
        const result = decodeInvisibleWatermark(stored.pixels, stored.width, stored.height);
        if (result === null) continue;
        megapixels += (stored.width * stored.height) / 1e6;
        tally.checked += 1;
        tally.nearest.push(result.bit_errors);
        if (result.matched) {
          tally.matched[result.message] = (tally.matched[result.message] ?? 0) + 1;
          matches.push(`${file}: ${result.message} (${result.bit_errors} bits differ, ${result.reading})`);
        }
      } catch {
        // unreadable: counted as an image, not checked
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log('| folder | images | checked | StableDiffusionV1 | SDXL | median bit errors of the nearest message |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [group, tally] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...tally.nearest].sort((a, b) => a - b);
    const median = sorted.length === 0 ? '-' : String(sorted[Math.floor(sorted.length / 2)]);
    console.log(`| ${group} | ${tally.images} | ${tally.checked} | ${tally.matched.StableDiffusionV1 ?? 0} | ${tally.matched.SDXL ?? 0} | ${median} |`);
  }
  for (const line of matches) console.log(line);
  console.log(`${megapixels.toFixed(0)} MP checked in ${seconds.toFixed(0)} s (decode and check)`);
}

void main();
