/**
 * What a system test needs to reach a deployment, read from the environment at import, so that a
 * run without BASE_URL fails at once with a message instead of timing out:
 *   BASE_URL  the functions' common prefix: https://<region>-<project>.cloudfunctions.net
 *             (`terraform output base_url`), or http://localhost:8080 for `npm start`
 *   API_KEY   a key of the deployment, when it has keys (the cloud one always does)
 *   ID_TOKEN  an ID token for BASE_URL/drift, which admits IAM principals only (CI gets one from
 *             Workload Identity; by hand: gcloud auth print-identity-token)
 */
export interface SystemResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function baseUrl(): string {
  const raw = process.env.BASE_URL ?? '';
  if (raw === '') {
    throw new Error(
      'BASE_URL is not set: system tests run against a deployment. ' +
        'Run BASE_URL=$(terraform -chdir=terraform output -raw base_url) API_KEY=<key> ID_TOKEN=$(gcloud auth print-identity-token) npm run test:system, ' +
        'or BASE_URL=http://localhost:8080 npm run test:system next to `npm start` (docs/deployment.md).',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`BASE_URL must be an http(s) URL such as https://europe-west1-my-project.cloudfunctions.net; got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`BASE_URL must use http or https; got ${url.protocol}`);
  return raw.replace(/\/+$/, '');
}

export const BASE_URL = baseUrl();
export const API_KEY = process.env.API_KEY ?? '';
export const ID_TOKEN = process.env.ID_TOKEN ?? '';

/** Calls BASE_URL + path; JSON bodies are parsed, anything else fails the test with the raw text. */
export async function call(path: string, init: RequestInit & { apiKey?: string | null } = {}): Promise<SystemResponse> {
  const { apiKey = API_KEY, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (apiKey) headers.set('X-API-Key', apiKey);
  const response = await fetch(`${BASE_URL}${path}`, { ...rest, headers, signal: AbortSignal.timeout(90_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
  return { status: response.status, headers: response.headers, body };
}
