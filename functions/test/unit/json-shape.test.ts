import { checkJsonShape } from '../../src/serving/http/json-shape';

const shape = (text: string, maxValues = 10, maxDepth = 3) => checkJsonShape(Buffer.from(text), { maxValues, maxDepth });

describe('checkJsonShape', () => {
  it.each([
    ['{"image":"aGVsbG8="}', true],
    ['{"images":[{"id":"a","image":"x"},{"id":"b","uri":"gs://b/o"}]}', true],
    ['[1,2,3,4,5,6,7,8,9,10,11]', false],
    ['{"a":{"b":{"c":{"d":1}}}}', false],
  ])('%s → ok %s', (text, ok) => {
    expect(shape(text).ok).toBe(ok);
  });

  it('does not count commas, brackets or escaped quotes inside strings', () => {
    const inside = JSON.stringify({ image: `${',[{'.repeat(1000)}\\"],}` });
    expect(shape(inside)).toEqual({ ok: true });
    expect(shape(JSON.stringify({ a: 'x\\', b: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }))).toEqual({ ok: false, reason: 'too_many_values' });
  });

  it('names the bound that was passed', () => {
    expect(shape('[[[[1]]]]')).toEqual({ ok: false, reason: 'too_deep' });
    expect(shape(`[${'1,'.repeat(100)}1]`)).toEqual({ ok: false, reason: 'too_many_values' });
  });

  it('reads a 31 MB array of numbers and stops at the bound', () => {
    const body = Buffer.from(`{"images":[${'1,'.repeat(15_000_000)}1]}`);
    expect(checkJsonShape(body, { maxValues: 176, maxDepth: 4 })).toEqual({ ok: false, reason: 'too_many_values' });
  });

  it('leaves malformed JSON to the parser', () => {
    expect(shape('{"unterminated')).toEqual({ ok: true });
  });
});
