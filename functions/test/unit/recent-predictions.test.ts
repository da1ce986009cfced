import { RecentPredictions } from '../../src/serving/feedback/recent-predictions';

const entry = (requestId: string, size: number) => ({
  requestId,
  image: { kind: 'bytes' as const, bytes: Buffer.alloc(size) },
  model: { name: 'm', version: 'v1' },
  prediction: 'real' as const,
  probability: 0.1,
});

describe('RecentPredictions', () => {
  it('keeps at most maxEntries, dropping the oldest', () => {
    const recent = new RecentPredictions({ maxEntries: 2, maxBytes: 1000, maxAgeMs: 60_000, now: () => 0 });
    for (const id of ['a', 'b', 'c']) recent.remember(entry(id, 10));
    expect([recent.find('a'), recent.find('b')?.requestId, recent.find('c')?.requestId]).toEqual([null, 'b', 'c']);
    expect(recent.size).toBe(2);
  });

  it('keeps at most maxBytes of images, and never one larger than that', () => {
    const recent = new RecentPredictions({ maxEntries: 100, maxBytes: 100, maxAgeMs: 60_000, now: () => 0 });
    recent.remember(entry('a', 60));
    recent.remember(entry('b', 30));
    recent.remember(entry('c', 30));
    expect([recent.find('a'), recent.find('b')?.requestId, recent.find('c')?.requestId]).toEqual([null, 'b', 'c']);
    expect(recent.heldBytes).toBe(60);
    recent.remember(entry('huge', 101));
    expect(recent.find('huge')).toBeNull();
    expect(recent.heldBytes).toBe(60);
  });

  it('forgets a prediction older than maxAgeMs', () => {
    let now = 0;
    const recent = new RecentPredictions({ maxEntries: 10, maxBytes: 1000, maxAgeMs: 1000, now: () => now });
    recent.remember(entry('a', 1));
    now = 1000;
    expect(recent.find('a')?.requestId).toBe('a');
    now = 1001;
    expect(recent.find('a')).toBeNull();
    expect(recent.heldBytes).toBe(0);
  });

  it('keeps nothing with maxEntries 0', () => {
    const recent = new RecentPredictions({ maxEntries: 0, maxBytes: 1000, maxAgeMs: 1000 });
    recent.remember(entry('a', 1));
    expect(recent.find('a')).toBeNull();
  });
});
