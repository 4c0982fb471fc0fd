// Privacy of the widget: no visitor id without consent, an id after consent (given by the
// host's JS API or an IAB TCF v2 CMP), none under Do Not Track, and forget() deletes it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { baseUrl, findAssetContext } from '../support/api.mjs';
import { launchBrowser, PIXEL_PNG } from '../support/browser.mjs';

let browser;
let context;

before(async () => {
  context = await findAssetContext(1);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** Opens the CMS page, runs `prepare` in it, then mounts one element and returns the URL of its recommendation request. */
async function mountAndCapture(page, prepare) {
  await page.route('**/img-get2/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
  await page.goto(`${baseUrl()}/cms-module.html`);
  await page.waitForFunction(() => window.loci !== undefined);
  await page.evaluate(prepare);
  const requested = page.waitForRequest((request) => request.url().includes('/v1/recommendations') && request.url().includes('placement=consent-test'));
  await page.evaluate((assetId) => {
    const element = document.createElement('loci-recommendations');
    element.setAttribute('placement', 'consent-test');
    element.setAttribute('context', `asset:${assetId}`);
    document.getElementById('modules').append(element);
  }, context.id);
  return new URL((await requested).url());
}

const storedId = (page) => page.evaluate(() => localStorage.getItem('loci.visitorId'));

test('no visitor id without consent', async () => {
  const page = await browser.context.newPage();
  const url = await mountAndCapture(page, () => {});
  assert.equal(url.searchParams.get('visitor'), null);
  assert.equal(await storedId(page), null);
  await page.close();
});

test('consent through the JS API adds a stored id, and forget deletes it', async () => {
  const page = await browser.context.newPage();
  const url = await mountAndCapture(page, () => window.loci.grantConsent());
  const visitor = url.searchParams.get('visitor');
  assert.match(visitor ?? '', /^v[0-9a-f]{32}$/);
  assert.equal(await storedId(page), visitor);

  await page.evaluate(() => window.loci.forget());
  assert.equal(await storedId(page), null);
  assert.equal(await page.evaluate(() => window.loci.hasConsent()), false);
  await page.close();
});

test('Do Not Track wins over consent', async () => {
  const page = await browser.context.newPage();
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }));
  const url = await mountAndCapture(page, () => window.loci.grantConsent());
  assert.equal(url.searchParams.get('visitor'), null);
  await page.close();
});

test('TCF consent to purpose 1 adds an id', async () => {
  const page = await browser.context.newPage();
  await page.addInitScript(() => {
    window.__tcfapi = (command, version, callback) => {
      if (command === 'addEventListener') {
        callback({ eventStatus: 'tcloaded', gdprApplies: true, purpose: { consents: { 1: true } } }, true);
      }
    };
  });
  const url = await mountAndCapture(page, () => {});
  assert.match(url.searchParams.get('visitor') ?? '', /^v[0-9a-f]{32}$/);
  await page.close();
});
