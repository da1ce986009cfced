import { ApiKeyAuth, collectApiKeys } from '../../src/serving/http/api-key-auth';
import { isAppError } from '../../src/platform/errors';

const KEY = 'k-0123456789abcdef';
const OTHER = 'k-fedcba9876543210';

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return isAppError(error) ? `${error.status}:${error.code}` : 'not-an-app-error';
  }
}

describe('ApiKeyAuth', () => {
  const auth = new ApiKeyAuth([KEY, OTHER]);

  it('is open when no keys are configured', () => {
    expect(new ApiKeyAuth([]).authenticate({}).principal).toBe('anonymous');
  });

  it('accepts a key in X-API-Key or as a Bearer token', () => {
    const viaHeader = auth.authenticate({ 'x-api-key': KEY });
    const viaBearer = auth.authenticate({ authorization: `Bearer ${KEY}` });
    expect(viaHeader.principal).toMatch(/^key:[0-9a-f]{12}$/);
    expect(viaBearer.principal).toBe(viaHeader.principal);
    expect(auth.authenticate({ 'x-api-key': OTHER }).principal).not.toBe(viaHeader.principal);
  });

  it('never puts the key itself in the principal', () => {
    expect(auth.authenticate({ 'x-api-key': KEY }).principal).not.toContain(KEY);
  });

  it.each([
    [{}, '401:unauthorized'],
    [{ 'x-api-key': 'k-0123456789abcdeX' }, '401:unauthorized'],
    [{ 'x-api-key': KEY.slice(0, -1) }, '401:unauthorized'],
    [{ authorization: `Basic ${KEY}` }, '401:unauthorized'],
    [{ authorization: 'Bearer' }, '401:unauthorized'],
  ])('rejects %p', (headers, expected) => {
    expect(codeOf(() => auth.authenticate(headers))).toBe(expected);
  });
});

describe('collectApiKeys', () => {
  it('merges inline keys with a file of one key per line, skipping blanks and comments', () => {
    expect(collectApiKeys(['a'], '# rotated 2026-11\nb\n\n  c  \r\n')).toEqual(['a', 'b', 'c']);
    expect(collectApiKeys(['a'], null)).toEqual(['a']);
  });
});
