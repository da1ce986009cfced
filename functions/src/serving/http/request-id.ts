import { randomUUID } from 'node:crypto';

/** An incoming X-Request-Id is kept when it is sane (1-128 of [A-Za-z0-9._:-]); otherwise a UUID is made. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}
