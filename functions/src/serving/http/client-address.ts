/**
 * The client address the rate limit keys on. X-Forwarded-For is a list that every proxy appends
 * its peer's address to, so only the entries added by proxies we run behind can be trusted: with
 * `trustedHops` proxies in front (1 on Cloud Functions: Google's front end), the client is the
 * entry the outermost of them appended, counted from the right. Entries further left were written
 * by the client and are ignored, so a different X-Forwarded-For per request buys no new bucket.
 */
export interface AddressSource {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  socket?: { remoteAddress?: string | undefined } | undefined;
}

export function clientAddress(req: AddressSource, trustedHops: number): string {
  const peer = req.socket?.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  // The nearest proxy appended `peer`'s view as the last entry; the outermost trusted one is trustedHops from the right.
  const entry = entries[entries.length - trustedHops];
  return entry === undefined ? peer : entry.slice(0, 64);
}
