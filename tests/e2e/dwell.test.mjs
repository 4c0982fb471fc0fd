// Dwell time: after a click on a recommendation, the loader on the destination page reports
// how long the visitor stayed, attributed to the response that showed the item.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { adminHeaders, baseUrl, eventually, findAssetContext, worker } from '../support/api.mjs';
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

test('time on the destination page is recorded as dwell', async () => {
  const page = await browser.context.newPage();
  await page.route('**/img-get2/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
  const recommendations = page.waitForResponse((response) => response.url().includes('/v1/recommendations'));
  await page.goto(`${baseUrl()}/article.html?asset=${context.id}`);
  const { request_id: requestId } = await (await recommendations).json();
  const card = page.locator('[data-testid="loci-asset"] a').first();
  await card.waitFor({ timeout: 20_000 });

  await Promise.all([page.waitForURL((url) => !url.href.includes(context.id)), card.click()]);
  await page.waitForFunction(() => window.loci !== undefined);
  await page.waitForTimeout(1_200);
  await page.goto('about:blank');

  const dwell = await eventually(
    async () => {
      const answer = await worker(`/v1/admin/events?request_id=${requestId}`, { headers: adminHeaders() });
      return answer.json?.events?.find((event) => event.kind === 'dwell');
    },
    { description: `a dwell event for ${requestId}` },
  );
  assert.ok(dwell.dwell_ms >= 1_000, `dwell_ms ${dwell.dwell_ms}`);
  assert.ok(dwell.asset_id, 'the dwell event names the clicked asset');
  await page.close();
});
