/**
 * What the scoring path tells the monitoring side: every scored image and every finished request.
 * Implementations (telemetry records, metrics) must never throw into a request and must keep
 * `flush` cheap unless a flush is due; it runs inside the request, before the response is sent,
 * because Cloud Functions throttles CPU between requests.
 */
import type { ImageHeader } from '../detector/image/image-decoder';
import type { DecodedImage } from '../detector/image/image-decoder';

export interface ScoredImage {
  model: { name: string; version: string; threshold: number };
  probability: number;
  prediction: 'ai_generated' | 'real';
  header: ImageHeader;
  decoded: DecodedImage;
  bytes: number;
  decodeMs: number;
  inferenceMs: number;
}

export interface RequestOutcome {
  function: string;
  status: number;
  /** Error code when status ≥ 400. */
  code: string | null;
  latencyMs: number;
  model: { name: string; version: string } | null;
}

export interface ScoreObserver {
  scored(images: readonly ScoredImage[]): void;
  requestFinished(outcome: RequestOutcome): void;
  /** Writes whatever is due (telemetry objects, metric points). Never rejects. */
  flushIfDue(): Promise<void>;
  /** Writes everything now (SIGTERM). Never rejects. */
  flushAll(): Promise<void>;
}
