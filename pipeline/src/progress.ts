/**
 * Progress on stderr. On a terminal, one line redrawn in place with a bar and an ETA; elsewhere
 * (Cloud Build, CI, a file) a plain line every `intervalMs` and at the end, so that logs stay
 * readable. The maths (ETA, durations, the bar) are pure functions.
 */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Seconds as `42s`, `3m05s` or `2h07m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Remaining seconds at the rate seen since `first` (the first progress point, so that set-up time
 * before it does not slow the estimate); null until there are two points.
 */
export function estimateRemainingSeconds(first: { atMs: number; done: number } | null, nowMs: number, done: number, total: number): number | null {
  if (first === null || done <= first.done || nowMs <= first.atMs || total <= 0) return null;
  const perUnitMs = (nowMs - first.atMs) / (done - first.done);
  return (Math.max(0, total - done) * perUnitMs) / 1000;
}

export function renderBar(fraction: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export interface ProgressOptions {
  stream: ProgressStream;
  label: string;
  /** Plain lines at most this often when the stream is not a terminal (default 30 s). */
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  private first: { atMs: number; done: number } | null = null;
  private lastLineMs = Number.NEGATIVE_INFINITY;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly startedMs: number;

  constructor(private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 30_000;
    this.startedMs = this.now();
  }

  get isTerminal(): boolean {
    return this.options.stream.isTTY === true;
  }

  /** Reports `done` of `total`; `detail` follows the numbers (loss, throughput, …). */
  update(done: number, total: number, detail = '', force = false): void {
    const now = this.now();
    if (this.first === null || done < this.first.done) this.first = { atMs: now, done };
    const remaining = estimateRemainingSeconds(this.first, now, done, total);
    const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
    const eta =
      done >= total && total > 0 ? `took ${formatDuration((now - this.startedMs) / 1000)}` : `ETA ${remaining === null ? '--' : formatDuration(remaining)}`;
    const text = `${this.options.label} ${done}/${total} (${percent}%)${detail.length > 0 ? ` · ${detail}` : ''} · ${eta}`;
    if (this.isTerminal) {
      if (!force && now - this.lastDrawMs < 100 && done < total) return;
      this.lastDrawMs = now;
      const columns = this.options.stream.columns ?? 100;
      const barWidth = Math.max(10, Math.min(30, columns - text.length - 2));
      const line = `${renderBar(total > 0 ? done / total : 0, barWidth)} ${text}`;
      this.options.stream.write(`\r${line.slice(0, Math.max(20, columns - 1))}\u001b[K`);
      this.drawn = true;
      return;
    }
    if (force || done >= total || now - this.lastLineMs >= this.intervalMs) {
      this.lastLineMs = now;
      this.options.stream.write(`${text}\n`);
    }
  }

  /** A line of its own (e.g. an epoch summary) that does not disturb the bar. */
  note(text: string): void {
    this.options.stream.write(this.isTerminal && this.drawn ? `\r\u001b[K${text}\n` : `${text}\n`);
    this.drawn = false;
  }

  /** Ends the bar's line on a terminal. */
  finish(): void {
    if (this.isTerminal && this.drawn) this.options.stream.write('\n');
    this.drawn = false;
  }
}
