/**
 * Request URLs as they go into the access log: query parameters that look like credentials keep
 * their name but lose their value, and the whole URL is capped in length.
 */
const CREDENTIAL_PARAMETER =
  /^(api[-_]?key|key|access[-_]?token|token|auth|authorization|password|passwd|secret|client[-_]?secret|signature|sig|x-goog-signature|x-api-key)$/i;
const MAX_LOGGED_URL = 2048;

export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  let redacted = url;
  if (query !== -1) {
    const parameters = url
      .slice(query + 1)
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        const rawName = equals === -1 ? pair : pair.slice(0, equals);
        let name = rawName;
        try {
          name = decodeURIComponent(rawName.replace(/\+/g, ' '));
        } catch {
          // A malformed escape is judged by its raw form.
        }
        return CREDENTIAL_PARAMETER.test(name.trim()) ? `${rawName}=REDACTED` : pair;
      });
    redacted = `${url.slice(0, query)}?${parameters.join('&')}`;
  }
  return redacted.length > MAX_LOGGED_URL ? `${redacted.slice(0, MAX_LOGGED_URL)}…` : redacted;
}
