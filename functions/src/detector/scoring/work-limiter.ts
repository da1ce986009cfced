/**
 * At most `concurrency` pieces of native work (a decode, an onnxruntime run) at once per instance;
 * the rest wait in arrival order. sharp and onnxruntime-node run on libuv's thread pool (4 threads),
 * the same pool that file-system calls and DNS lookups use: twelve requests' decodes queued there
 * hold a telemetry write (a dozen file-system calls) behind all of them, for seconds. Waiting here
 * instead, in JavaScript, keeps pool threads free for that work, keeps the number of native-resolution
 * pixel buffers alive at once bounded, and costs no throughput (each decode and run uses one core).
 */
export class WorkLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency is ${concurrency}; it must be a positive integer`);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next in line; `running` counts it still.
      if (next !== undefined) next();
      else this.running -= 1;
    }
  }

  /** Work waiting for a slot (tests, /health). */
  get queued(): number {
    return this.waiting.length;
  }
}
