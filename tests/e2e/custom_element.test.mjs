// The <loci-recommendations> custom element, as a CMS template places it: the loader is
// included once, and every element on the page hosts a widget sharing one module load.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { baseUrl, findAssetContext, webRightsViolations } from '../support/api.mjs';
import { launchBrowser, PIXEL_PNG } from '../support/browser.mjs';

let browser;
let context;

before(async () => {
  context = await findAssetContext(6);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test('custom elements share one module load and never repeat assets', async () => {
  const page = await browser.context.newPage();
  const wasmLoads = [];
  page.on('request', (request) => {
    if (request.url().endsWith('.wasm')) wasmLoads.push(request.url());
  });
  await page.route('**/img-get2/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
  await page.goto(`${baseUrl()}/cms-module.html`);

  await page.evaluate((assetId) => {
    for (const placement of ['cms-first', 'cms-second']) {
      const element = document.createElement('loci-recommendations');
      element.setAttribute('placement', placement);
      element.setAttribute('context', `asset:${assetId}`);
      element.setAttribute('count', '4');
      element.id = placement;
      document.getElementById('modules').append(element);
    }
  }, context.id);
  const first = page.locator('#cms-first [data-testid="loci-asset"]');
  const second = page.locator('#cms-second [data-testid="loci-asset"]');
  await first.first().waitFor({ timeout: 20_000 });
  await second.first().waitFor({ timeout: 20_000 });

  const idsOf = (locator) => locator.evaluateAll((cards) => cards.map((card) => card.getAttribute('data-asset-id')));
  const firstIds = await idsOf(first);
  const secondIds = await idsOf(second);
  const rendered = [...firstIds, ...secondIds];
  assert.ok(firstIds.length >= 1 && secondIds.length >= 1);
  const repeated = firstIds.filter((id) => secondIds.includes(id));
  assert.deepEqual(repeated, [], 'two widgets of one page view showed the same assets');
  assert.equal(wasmLoads.length, 1, `the widget module loaded ${wasmLoads.length} times`);
  for (const id of rendered) {
    assert.deepEqual(await webRightsViolations(id), [], `${id} rendered`);
  }
  await page.close();
});
