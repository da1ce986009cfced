/**
 * Optional API-key authentication. Keys come from API_KEYS and/or a file (a Secret Manager
 * mount). A request presents its key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.
 * Comparison is constant-time: both sides are hashed to equal length, then compared with
 * timingSafeEqual against every configured key. Keys are never logged: callers get a short,
 * non-reversible key id for logs and rate limiting.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../../platform/errors';

export interface AuthResult {
  /** 'anonymous' when auth is off; otherwise `key:<first 12 hex of sha256>`. */
  principal: string;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export class ApiKeyAuth {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys)].map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** Throws UnauthorizedError (401) when keys are configured and the request has no valid one. */
  authenticate(headers: Readonly<Record<string, string | string[] | undefined>>): AuthResult {
    if (!this.enabled) return { principal: 'anonymous' };
    const presented = presentedKey(headers);
    if (presented === null) throw new UnauthorizedError();
    const candidate = digest(presented);
    let match = false;
    for (const known of this.digests) {
      // No early exit: the time taken does not depend on which key (if any) matched.
      match = timingSafeEqual(candidate, known) || match;
    }
    if (!match) throw new UnauthorizedError('the API key is not valid');
    return { principal: `key:${candidate.toString('hex').slice(0, 12)}` };
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function presentedKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const apiKey = first(headers['x-api-key'])?.trim();
  if (apiKey !== undefined && apiKey.length > 0) return apiKey;
  const authorization = first(headers.authorization)?.trim();
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)$/i.exec(authorization);
  return match?.[1] ?? null;
}

/** Reads keys from API_KEYS plus an optional file with one key per line ('#' comments allowed). */
export function collectApiKeys(inline: readonly string[], fileContent: string | null): string[] {
  const fromFile = (fileContent ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  return [...inline, ...fromFile];
}
