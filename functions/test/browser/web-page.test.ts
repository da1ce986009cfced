/**
 * The web page in a real browser: Debian's Chromium, driven by playwright-core (no browser
 * download). It drops a real photo and reads the verdict from the page, drops a text file and
 * reads the error in words, works from the keyboard and at phone width, loads nothing from another
 * origin, and saves a screenshot to .local/test-artifacts/web-page.png.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../../src/platform/repo-root';
import { CONTENT_SECURITY_POLICY } from '../../src/serving/web/web-function';
import { type FunctionClient, startFunction } from '../support/function-server';
import { FIXTURE_IMAGES, startService } from '../support/test-service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available) {
  console.warn(`\n*** BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH. ***\n`);
}
const describeInBrowser = available ? describe : describe.skip;

describeInBrowser('web page (Chromium)', () => {
  let browser: Browser;
  let app: FunctionClient;

  beforeAll(async () => {
    startService();
    app = await startFunction('app');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('serves the page with a policy that forbids other origins', async () => {
    const response = await app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.text).not.toMatch(/https?:\/\//);
  });

  it('shows the verdict of a dropped photo and the error of a text file, in words', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const foreign: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(app.url) && !request.url().startsWith('blob:')) foreign.push(request.url());
    });
    await page.goto(`${app.url}/`);
    await page.waitForSelector('html[data-ready]');
    await page.setInputFiles('#files', path.join(FIXTURE_IMAGES, 'photo.jpg'));
    const verdict = page.locator('.result .verdict').first();
    await verdict.waitFor({ timeout: 20_000 });
    expect(await verdict.textContent()).toMatch(/^(AI-generated|Real photo|Uncertain)$/);
    const details = await page.locator('.result dl').first().textContent();
    expect(details).toMatch(/P\(AI\)0\.\d+/);
    expect(details).toMatch(/modelbrightness v1/);

    expect(details).toMatch(/decided bythe pixels/);
    expect(details).toMatch(/evidencenone in the file/);

    // "Show where" asks /explain and shows its heatmap over the photo.
    await page.locator('.result .explain').first().click();
    const heatmap = page.locator('.result img.heatmap').first();
    await heatmap.waitFor({ timeout: 20_000 });
    await page.waitForFunction(() => (document.querySelector('.result img.heatmap') as HTMLImageElement | null)?.complete === true, undefined, {
      timeout: 20_000,
    });
    expect(await heatmap.evaluate((image: HTMLImageElement) => [image.naturalWidth, image.naturalHeight])).toEqual([320, 240]);
    expect(await page.locator('.result .note').count()).toBe(0);

    await page.setInputFiles('#files', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are notes, not a photo') });
    const error = page.locator('.result .error').first();
    await error.waitFor({ timeout: 20_000 });
    // In words, not bytes: what the file seems to be.
    expect(await error.textContent()).toMatch(/^this is a text file, not a JPEG, PNG, WebP or AVIF image.*\(unsupported_format\)/);
    expect(foreign).toEqual([]);

    const artifacts = path.join(repoRoot(), '.local', 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'web-page.png'), fullPage: true });
    expect(fs.statSync(path.join(artifacts, 'web-page.png')).size).toBeGreaterThan(1000);
    await page.close();
  }, 60_000);

  it('opens the file picker from the keyboard and fits a phone-width screen', async () => {
    const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
    // Waiting starts before the page loads: Playwright turns on file-chooser interception with a
    // round trip to the browser, and on a busy machine a key press sent together with the wait could
    // open the picker before interception was on, so the event never came.
    const chooserShown = page.waitForEvent('filechooser', { timeout: 50_000 });
    await page.goto(`${app.url}/`);
    await page.waitForSelector('html[data-ready]');
    await page.focus('#drop');
    await page.keyboard.press('Enter');
    const chooser = await chooserShown;
    expect(chooser.isMultiple()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    // The API key stays in this tab's session storage.
    await page.fill('#api-key', 'a-key-0123456789abcdef');
    expect(await page.evaluate(() => sessionStorage.getItem('detector-api-key'))).toBe('a-key-0123456789abcdef');
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.close();
  }, 60_000);
});
