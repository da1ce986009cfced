/**
 * The page as the deployed `web` function serves it (https://<host>/web, its files at /app.js and
 * /style.css of the function) and as the local router does (/, /web/app.js): the same bytes, the
 * same policy, and the page's relative asset names resolve to both.
 */
import { retentionText } from '../../src/serving/web/page-assets';
import { startService } from '../support/test-service';
import { type FunctionClient, startFunction } from '../support/function-server';

let web: FunctionClient;
let app: FunctionClient;

beforeAll(async () => {
  startService();
  [web, app] = await Promise.all([startFunction('web'), startFunction('app')]);
});

afterAll(async () => {
  await Promise.all([web.close(), app.close()]);
});

it.each([
  ['/', 'text/html; charset=utf-8'],
  ['/app.js', 'text/javascript; charset=utf-8'],
  ['/style.css', 'text/css; charset=utf-8'],
])('the web function serves %s as %s with the policy', async (route, type) => {
  const response = await web.request(route);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(type);
  expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  const local = await app.request(route === '/' ? '/' : `/web${route}`);
  expect(local.text).toBe(response.text);
});

it('names its assets relative to the page, so they resolve at /web and at /', async () => {
  const page = (await web.request('/')).text;
  const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
  expect(assets.sort()).toEqual(['web/app.js', 'web/style.css']);
  expect(new URL(assets[0]!, 'https://europe-west1-p.cloudfunctions.net/web').pathname).toBe('/web/app.js');
  expect(new URL(assets[0]!, 'http://localhost:8080/').pathname).toBe('/web/app.js');
});

it('answers other paths and methods with the JSON errors of the API', async () => {
  expect((await web.request('/nope')).body.error.code).toBe('not_found');
  const post = await web.request('/', { method: 'POST', body: 'x' });
  expect({ status: post.status, code: post.body.error.code, allow: post.headers.get('allow') }).toEqual({
    status: 405,
    code: 'method_not_allowed',
    allow: 'GET',
  });
});

it('says what happens to an image: held in memory for /feedback for a while, stored only with feedback', async () => {
  const page = (await web.request('/')).text;
  expect(page).toContain(
    'Images are scored by this service. It holds the last 200 in memory for up to 15 minutes, so that a correction sent to /feedback can refer to one; ' +
      'an image is written to storage only when feedback about it is sent.',
  );
  expect(page).not.toContain('not kept');
});

it('says images are not kept where the deployment keeps none', () => {
  expect(retentionText({ recentPredictions: 0, recentSeconds: 900 })).toBe('Images are scored by this service and not kept.');
});
