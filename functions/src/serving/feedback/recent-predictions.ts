/**
 * The images of this instance's recent /predict requests, by request id, so that POST /feedback
 * can name a prediction instead of sending its image again. Bounded twice: at most `maxEntries`
 * predictions and `maxBytes` image bytes (the oldest go first), each kept at most `maxAgeMs`. It
 * lives in memory: a request id resolves only on the instance that served the prediction.
 */
export interface RecentPrediction {
  requestId: string;
  /** The image as received, or its gs:// URI (read again when the feedback arrives). */
  image: { kind: 'bytes'; bytes: Buffer } | { kind: 'uri'; uri: string };
  model: { name: string; version: string };
  prediction: 'ai_generated' | 'real';
  probability: number;
  atMs: number;
}

export interface RecentPredictionsOptions {
  maxEntries: number;
  maxBytes: number;
  maxAgeMs: number;
  now?: () => number;
}

const sizeOf = (entry: RecentPrediction): number => (entry.image.kind === 'bytes' ? entry.image.bytes.length : entry.image.uri.length);

export class RecentPredictions {
  /** Insertion order is age order: Map iterates oldest first. */
  private readonly entries = new Map<string, RecentPrediction>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly options: RecentPredictionsOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  remember(entry: Omit<RecentPrediction, 'atMs'>): void {
    if (this.options.maxEntries === 0) return;
    const stored: RecentPrediction = { ...entry, atMs: this.now() };
    // An image larger than the whole budget is not kept (a copy would evict everything else).
    if (sizeOf(stored) > this.options.maxBytes) return;
    this.drop(entry.requestId);
    this.entries.set(entry.requestId, stored);
    this.bytes += sizeOf(stored);
    this.evict();
  }

  /** The prediction, or null when it is unknown here, evicted or older than maxAgeMs. */
  find(requestId: string): RecentPrediction | null {
    this.evict();
    return this.entries.get(requestId) ?? null;
  }

  private drop(requestId: string): void {
    const old = this.entries.get(requestId);
    if (old === undefined) return;
    this.entries.delete(requestId);
    this.bytes -= sizeOf(old);
  }

  private evict(): void {
    const oldest = this.now() - this.options.maxAgeMs;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes && entry.atMs >= oldest) break;
      this.drop(id);
    }
  }
}
