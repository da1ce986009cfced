import { TokenBucketLimiter } from '../../src/serving/http/rate-limiter';

describe('TokenBucketLimiter', () => {
  it('allows a burst, then refuses with the time until the next token', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    const refused = limiter.take('a');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeCloseTo(0.5, 6);
    now = 500;
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('keeps one bucket per client', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, now: () => 0 });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('refills no higher than the burst', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ ratePerSecond: 10, burst: 2, now: () => now });
    limiter.take('a');
    now = 60_000;
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, false]);
  });

  it('is disabled at rate 0', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 0, burst: 1 });
    expect(Array.from({ length: 100 }, () => limiter.take('a').allowed).every(Boolean)).toBe(true);
  });

  it('forgets the least recently seen client past maxClients', () => {
    const limiter = new TokenBucketLimiter({ ratePerSecond: 1, burst: 1, maxClients: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    // 'b' was evicted, so it starts with a full bucket again; 'a' was kept and is still empty.
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('c').allowed).toBe(false);
  });
});
