import { readFileSync } from 'node:fs';
import { Jimp } from 'jimp';

test('jimp loads', async () => {
  const image = await Jimp.fromBuffer(readFileSync('functions/test/fixtures/images/photo.jpg'));
  expect(image.bitmap.width).toBe(320);
});
