import { clientAddress } from '../../src/serving/http/client-address';

const req = (forwardedFor: string | string[] | undefined, peer = '10.1.2.3') => ({
  headers: { 'x-forwarded-for': forwardedFor },
  socket: { remoteAddress: peer },
});

describe('clientAddress', () => {
  it.each<[string | string[] | undefined, number, string]>([
    ['203.0.113.9', 0, '10.1.2.3'],
    [undefined, 1, '10.1.2.3'],
    ['203.0.113.9', 1, '203.0.113.9'],
    ['6.6.6.6, 203.0.113.9', 1, '203.0.113.9'],
    ['6.6.6.6, 203.0.113.9, 35.1.1.1', 2, '203.0.113.9'],
    [['6.6.6.6', '203.0.113.9'], 1, '203.0.113.9'],
    ['203.0.113.9', 2, '10.1.2.3'],
    [' , ', 1, '10.1.2.3'],
  ])('X-Forwarded-For %j with %i trusted hops → %s', (header, hops, expected) => {
    expect(clientAddress(req(header), hops)).toBe(expected);
  });
});
