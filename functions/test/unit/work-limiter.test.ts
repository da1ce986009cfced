import { WorkLimiter } from '../../src/detector/scoring/work-limiter';

describe('WorkLimiter', () => {
  it('runs at most `concurrency` pieces of work at once, the rest in arrival order, and passes results and errors through', async () => {
    const limiter = new WorkLimiter(2);
    const gates: Array<() => void> = [];
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const work = (id: number) =>
      limiter.run(async () => {
        started.push(id);
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
        if (id === 3) throw new Error('three failed');
        return id * 10;
      });
    const results = [1, 2, 3, 4, 5].map((id) => work(id).catch((error: Error) => error.message));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);
    expect(limiter.queued).toBe(3);
    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(results)).toEqual([10, 20, 'three failed', 40, 50]);
    expect(started).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
    expect(limiter.queued).toBe(0);
  });

  it('refuses a concurrency that is not a positive integer, naming it', () => {
    expect(() => new WorkLimiter(0)).toThrow(/concurrency is 0; it must be a positive integer/);
  });
});
