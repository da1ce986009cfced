/**
 * A per-instance token bucket per client (API key, or client IP without auth). Best effort: each
 * Cloud Functions instance keeps its own buckets, so the effective limit scales with instances.
 * Memory is bounded: past `maxClients` the least recently seen client's bucket is forgotten.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until one token is available again (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

export interface TokenBucketOptions {
  ratePerSecond: number;
  burst: number;
  maxClients?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxClients: number;
  private readonly now: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.ratePerSecond >= 0)) throw new RangeError(`ratePerSecond must be ≥ 0; got ${options.ratePerSecond}`);
    if (!(options.burst >= 1)) throw new RangeError(`burst must be ≥ 1; got ${options.burst}`);
    this.maxClients = options.maxClients ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.ratePerSecond > 0;
  }

  /** Takes `cost` tokens from `client`'s bucket when it has them. */
  take(client: string, cost = 1): RateLimitDecision {
    if (!this.enabled) return { allowed: true, retryAfterSeconds: 0, remaining: Number.POSITIVE_INFINITY };
    const now = this.now();
    const { ratePerSecond, burst } = this.options;
    const bucket = this.buckets.get(client) ?? { tokens: burst, updatedMs: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.updatedMs) / 1000) * ratePerSecond);
    bucket.updatedMs = now;
    // Re-insert so that Map order is least-recently-seen first.
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    this.evict();
    const needed = Math.min(cost, burst);
    if (bucket.tokens >= needed) {
      bucket.tokens -= needed;
      return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(bucket.tokens) };
    }
    return { allowed: false, retryAfterSeconds: (needed - bucket.tokens) / ratePerSecond, remaining: 0 };
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    while (this.buckets.size > this.maxClients) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) return;
      this.buckets.delete(oldest.value);
    }
  }
}
