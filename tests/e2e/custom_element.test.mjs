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

test('custom elements render widgets with one module load', async () => {
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

  const rendered = await page
    .locator('#modules [data-testid="loci-asset"]')
    .evaluateAll((cards) => cards.map((card) => card.getAttribute('data-asset-id')));
  assert.ok((await first.count()) >= 1 && (await second.count()) >= 1);
  assert.equal(wasmLoads.length, 1, `the widget module loaded ${wasmLoads.length} times`);
  for (const id of rendered) {
    assert.deepEqual(await webRightsViolations(id), [], `${id} rendered`);
  }
  await page.close();
});
