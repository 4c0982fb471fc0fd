// Browser tests of the widget's events against the running worker: impressions only for cards
// that stay visible for one second, delivery of queued events when the page is hidden, and a
// retry after a failed send. Events are read back through the admin API.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { adminHeaders, baseUrl, eventually, findAssetContext, worker } from '../support/api.mjs';
import {
  launchBrowser,
  recordPageOutput,
  routePageWithReplacements,
  serveLabelledImages,
} from '../support/browser.mjs';

/** Time for the widget to fetch and render, in milliseconds. */
const WIDGET_TIMEOUT_MS = 20_000;

/** The carousel's context in www/carousel.html, replaced by one the test catalog holds. */
const PAGE_ASSET_CONTEXT = 'asset:I000000000N00530';

const CAROUSEL = 'section[data-layout="carousel"]';
const CAROUSEL_CARDS = `${CAROUSEL} #loci-track > li[data-testid="loci-asset"]`;

let browser;
let context;

before(async () => {
  context = await findAssetContext(8);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/**
 * Opens www/carousel.html with its carousel on the test's asset, optionally below a spacer of
 * `spacerPx` pixels, and resolves to the carousel's `request_id` once its cards are rendered.
 * Requests to /v1/events are counted in the returned `eventPosts`.
 */
async function openCarousel(page, { spacerPx = 0 } = {}) {
  await serveLabelledImages(page);
  const replacements = [[PAGE_ASSET_CONTEXT, `asset:${context.id}`]];
  if (spacerPx > 0) {
    replacements.push(['<main id="content">', `<main id="content"><div style="height: ${spacerPx}px"></div>`]);
  }
  await routePageWithReplacements(page, '**/carousel.html', replacements);
  const eventPosts = [];
  page.on('request', (request) => {
    if (request.url().includes('/v1/events') && request.method() === 'POST') eventPosts.push(Date.now());
  });

  const recommendations = page.waitForResponse(
    (response) => response.url().includes('/v1/recommendations') && response.url().includes('placement=article-carousel'),
    { timeout: WIDGET_TIMEOUT_MS },
  );
  await page.goto(`${baseUrl()}/carousel.html`);
  const { request_id: requestId } = await (await recommendations).json();
  await page.locator(CAROUSEL_CARDS).first().waitFor({ state: 'attached', timeout: WIDGET_TIMEOUT_MS });
  return { requestId, eventPosts };
}

/** Reads the stored events of one response through the admin API. */
async function storedEvents(requestId) {
  const answer = await worker(`/v1/admin/events?request_id=${requestId}`, { headers: adminHeaders() });
  assert.equal(answer.status, 200, answer.text);
  return answer.json.events;
}

/** Waits until the response's stored impressions satisfy `check`, and returns them. */
function impressionsOf(requestId, check = (impressions) => impressions.length > 0) {
  return eventually(
    async () => {
      const impressions = (await storedEvents(requestId)).filter((event) => event.kind === 'impression');
      return check(impressions) ? impressions : undefined;
    },
    { timeoutMs: 15_000, description: `impressions for ${requestId}` },
  );
}

test('impression waits until card is visible for one second', async () => {
  const page = await browser.context.newPage();
  const { requestId } = await openCarousel(page, { spacerPx: 3_000 });
  const ids = await page
    .locator(CAROUSEL_CARDS)
    .evaluateAll((cards) => cards.map((card) => card.getAttribute('data-asset-id')));

  // Below the fold for longer than the one-second threshold: no impression may start here.
  await page.waitForTimeout(2_000);
  const scrolledAt = await page.evaluate(() => Date.now());
  await page.locator(CAROUSEL_CARDS).first().scrollIntoViewIfNeeded();
  await page.waitForTimeout(1_800);
  await page.goto('about:blank');

  const impressions = await impressionsOf(requestId);
  for (const impression of impressions) {
    assert.ok(
      impression.occurred_at >= scrolledAt + 1_000,
      `impression of ${impression.asset_id} at ${impression.occurred_at}, less than 1 s after the scroll at ${scrolledAt}`,
    );
  }
  const seen = new Set(impressions.map((impression) => impression.asset_id));
  assert.ok(seen.has(ids[0]), 'the first card, scrolled into view, has an impression');
  assert.ok(!seen.has(ids.at(-1)), `the last card, outside the carousel's visible width, has none`);
  await page.close();
});

test('queued impressions arrive after page hide', async () => {
  const page = await browser.context.newPage();
  const { requestId, eventPosts } = await openCarousel(page);

  // Impressions are recorded after one second and would be sent after five more: leaving the
  // page before that makes the page-hide beacon the only way they can arrive.
  await page.waitForTimeout(2_000);
  assert.equal(eventPosts.length, 0, 'no events were sent before the page was hidden');
  const hiddenAt = Date.now();
  await page.goto('about:blank');

  const impressions = await impressionsOf(requestId);
  assert.ok(impressions.length >= 1, `${impressions.length} impressions`);
  for (const impression of impressions) {
    assert.ok(impression.received_at >= hiddenAt - 1_000, `received at ${impression.received_at}`);
    assert.equal(impression.placement, 'article-carousel');
    assert.equal(typeof impression.position, 'number');
  }
  await page.close();
});

test('failed event send is retried', async () => {
  const page = await browser.context.newPage();
  const output = recordPageOutput(page);
  const attempts = [];
  await page.route('**/v1/events', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    attempts.push(route.request().postData());
    if (attempts.length === 1) {
      return route.fulfill({
        status: 503,
        contentType: 'application/problem+json',
        body: JSON.stringify({ status: 503, code: 'unavailable', detail: 'the test failed this send' }),
      });
    }
    return route.continue();
  });
  const { requestId } = await openCarousel(page);

  // The first flush runs five seconds after the first impression; its retry one second later.
  const impressions = await impressionsOf(requestId);
  assert.ok(attempts.length >= 2, `${attempts.length} sends`);
  assert.equal(attempts[1], attempts[0], 'the retry sends the failed batch again');
  // Impressions name an asset card or a gallery card of the row below the carousel.
  const itemOf = (event) => event.asset_id ?? event.gallery_id;
  const sentItems = JSON.parse(attempts[0]).events.map(itemOf);
  for (const item of sentItems) {
    assert.ok(
      impressions.some((impression) => itemOf(impression) === item),
      `the impression of ${item} from the failed send was stored`,
    );
  }
  const warnings = output.consoleMessages.filter((message) => message.text.includes('HTTP 503'));
  assert.equal(warnings.length, 1, JSON.stringify(output.consoleMessages));
  assert.match(warnings[0].text, /next in 1000 ms/);
  await page.close();
});
