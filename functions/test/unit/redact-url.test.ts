import { redactUrl } from '../../src/serving/http/redact-url';

describe('redactUrl', () => {
  it.each([
    ['/predict', '/predict'],
    ['/predict?model=shoes', '/predict?model=shoes'],
    ['/predict?api_key=abc&model=shoes', '/predict?api_key=REDACTED&model=shoes'],
    [
      '/?key=1&apikey=2&API-KEY=3&access_token=4&token=5&password=6&X-Goog-Signature=7',
      '/?key=REDACTED&apikey=REDACTED&API-KEY=REDACTED&access_token=REDACTED&token=REDACTED&password=REDACTED&X-Goog-Signature=REDACTED',
    ],
    ['/?api%5Fkey=abc', '/?api%5Fkey=REDACTED'],
    ['/?%zz=1&keyboard=2', '/?%zz=1&keyboard=2'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('caps the length', () => {
    const logged = redactUrl(`/${'a'.repeat(10_000)}`);
    expect(logged.length).toBe(2049);
    expect(logged.endsWith('…')).toBe(true);
  });
});
