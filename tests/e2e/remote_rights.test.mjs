// A remote Loci service that answers with restricted assets, through the real worker in
// workerd and the widget in Chromium: only assets cleared for the web reach the page.
//
// ./x test starts a second worker (LOCI_REMOTE_BASE_URL) on the same synced database, with
// LOCI_REMOTE_URL pointing at FAKE_LOCI_PORT on loopback, where this file serves the fake
// service.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';

import { request, requiredEnv, standinGet, STANDIN_ORG_ID, webRightsViolations } from '../support/api.mjs';
import { launchBrowser, PIXEL_PNG } from '../support/browser.mjs';

const remoteWorker = () => requiredEnv('LOCI_REMOTE_BASE_URL');
const fakePort = () => Number(requiredEnv('FAKE_LOCI_PORT'));

let fake;
let restricted = [];
let allowed = [];
let candidateRequests = 0;

/** Media of the stand-in's first page, split by whether their rights name the web channel. */
async function splitByWebRights() {
  const page = await standinGet(`/media?org_id=${STANDIN_ORG_ID}&per_page=400&include=custom-metadata`);
  const channels = (item) => String(item.includes?.['custom-metadata']?.data?.attributes?.['Usage Channels'] ?? '');
  return {
    restricted: page.data.filter((item) => !channels(item).split(',').map((c) => c.trim()).includes('web')).map((item) => item.id),
    cleared: page.data.filter((item) => channels(item) === 'web, email, social, partner').map((item) => item.id),
  };
}

before(async () => {
  const split = await splitByWebRights();
  restricted = split.restricted.slice(0, 40);
  allowed = split.cleared.slice(0, 4);
  assert.ok(restricted.length >= 20, `only ${restricted.length} restricted media in the stand-in's first page`);

  // The context (allowed[0]) is excluded by the worker; the other three are the only
  // candidates that may be shown.
  const candidates = [
    ...restricted.map((id, index) => ({ id, score: 100 - index })),
    ...allowed.slice(1).map((id) => ({ id, score: 1 })),
  ];
  fake = http.createServer((incoming, response) => {
    candidateRequests += 1;
    incoming.resume();
    incoming.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ candidates }));
    });
  });
  await new Promise((resolve) => fake.listen(fakePort(), '127.0.0.1', resolve));
});

after(() => fake?.close());

test('remote candidates are filtered by rights in the API', async () => {
  const answer = await request(`${remoteWorker()}/v1/recommendations?context=asset:${allowed[0]}&count=8`);

  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.engine, 'remote');
  const served = answer.json.assets.map((asset) => asset.id);
  // The remote service's allowed candidates lead; the cold-start chain may fill the rest.
  assert.deepEqual(served.slice(0, allowed.length - 1).sort(), allowed.slice(1).sort());
  for (const id of served) {
    assert.ok(!restricted.includes(id), `restricted ${id} was served`);
    assert.deepEqual(await webRightsViolations(id), [], `${id} served`);
  }
  const removed = Object.values(answer.json.filtered).reduce((sum, count) => sum + count, 0);
  assert.ok(removed >= restricted.length, `filtered ${JSON.stringify(answer.json.filtered)}`);
  assert.ok(candidateRequests >= 1, 'the fake service was asked');
});

test('remote candidates rendered in Chromium are cleared for web', async () => {
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.route('**/img-get2/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
    await page.goto(`${remoteWorker()}/article.html?asset=${allowed[0]}`);
    const cards = page.locator('[data-testid="loci-asset"]');
    await cards.first().waitFor({ timeout: 20_000 });
    const rendered = await cards.evaluateAll((items) => items.map((item) => item.getAttribute('data-asset-id')));

    assert.ok(rendered.length > 0);
    for (const id of rendered) {
      assert.ok(!restricted.includes(id), `restricted ${id} was rendered`);
      assert.deepEqual(await webRightsViolations(id), [], `${id} rendered`);
    }
  } finally {
    await browser.close();
  }
});
