import { decodeBase64Image } from '../../src/serving/http/image-inputs';
import { isAppError } from '../../src/platform/errors';

const limits = { maxImageBytes: 100, maxRequestBytes: 1000, maxBatchItems: 20 };

function code(text: string): string {
  try {
    decodeBase64Image(text, limits);
    return 'ok';
  } catch (error) {
    return isAppError(error) ? error.code : 'not-an-app-error';
  }
}

describe('decodeBase64Image', () => {
  it('decodes standard and URL-safe base64, with whitespace and a data: URL prefix', () => {
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xfb, 0xef, 0xbe]);
    expect(decodeBase64Image(bytes.toString('base64'), limits)).toEqual(bytes);
    expect(decodeBase64Image(bytes.toString('base64url'), limits)).toEqual(bytes);
    expect(decodeBase64Image(`data:image/jpeg;base64,${bytes.toString('base64')}`, limits)).toEqual(bytes);
    expect(decodeBase64Image(`${bytes.toString('base64').slice(0, 4)}\n${bytes.toString('base64').slice(4)}`, limits)).toEqual(bytes);
  });

  it.each([
    ['not base64!', 'invalid_base64'],
    ['abcde', 'invalid_base64'],
    ['ab=c', 'invalid_base64'],
    ['', 'empty_image'],
    ['data:image/png;base64,', 'empty_image'],
    [Buffer.alloc(101).toString('base64'), 'image_too_large'],
    [Buffer.alloc(100).toString('base64'), 'ok'],
  ])('%p → %p', (text, expected) => {
    expect(code(text)).toBe(expected);
  });
});
