// Browser tests of the carousel layout on www/carousel.html: keyboard use, the previous and next
// buttons, reduced motion and responsive images. The page's carousel is pointed at an asset the
// test catalog holds.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { baseUrl, findAssetContext } from '../support/api.mjs';
import { launchBrowser, routePageWithReplacements, serveLabelledImages } from '../support/browser.mjs';

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

/** Opens www/carousel.html with its carousel on the test's asset and waits for its cards. */
async function openCarousel(page) {
  await serveLabelledImages(page);
  await routePageWithReplacements(page, '**/carousel.html', [[PAGE_ASSET_CONTEXT, `asset:${context.id}`]]);
  await page.goto(`${baseUrl()}/carousel.html`);
  await page.locator(CAROUSEL_CARDS).first().waitFor({ timeout: WIDGET_TIMEOUT_MS });
}

/** Returns the `data-asset-id` of the card whose link has focus inside the carousel's shadow root. */
function focusedCard(page) {
  return page.evaluate(() => {
    for (const host of document.querySelectorAll('.loci-widget')) {
      const active = host.shadowRoot?.activeElement;
      if (active) return active.closest('li')?.getAttribute('data-asset-id') ?? null;
    }
    return null;
  });
}

const cardIds = (page) =>
  page.locator(CAROUSEL_CARDS).evaluateAll((cards) => cards.map((card) => card.getAttribute('data-asset-id')));

const trackScrollLeft = (page) => page.locator(`${CAROUSEL} #loci-track`).evaluate((track) => track.scrollLeft);

test('carousel arrow keys move card by card', async () => {
  const page = await browser.context.newPage();
  await openCarousel(page);
  const ids = await cardIds(page);
  assert.ok(ids.length >= 6, `the carousel shows ${ids.length} cards`);

  await page.locator(`${CAROUSEL_CARDS} a`).first().focus();
  assert.equal(await focusedCard(page), ids[0]);

  await page.keyboard.press('ArrowRight');
  assert.equal(await focusedCard(page), ids[1], 'ArrowRight focuses the second card');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focusedCard(page), ids[2], 'ArrowRight focuses the third card');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await focusedCard(page), ids[1], 'ArrowLeft goes back one card');

  await page.keyboard.press('End');
  assert.equal(await focusedCard(page), ids.at(-1), 'End focuses the last card');
  const next = page.locator(`${CAROUSEL} [data-testid="loci-next"]`);
  await page.waitForFunction(
    (button) => button.getAttribute('aria-disabled') === 'true',
    await next.elementHandle(),
    { timeout: 5_000 },
  );
  assert.ok((await trackScrollLeft(page)) > 0, 'the list scrolled to show the last card');

  await page.keyboard.press('Home');
  assert.equal(await focusedCard(page), ids[0], 'Home focuses the first card');
  const previous = page.locator(`${CAROUSEL} [data-testid="loci-previous"]`);
  await page.waitForFunction(
    (button) => button.getAttribute('aria-disabled') === 'true',
    await previous.elementHandle(),
    { timeout: 5_000 },
  );
  await page.close();
});

test('carousel buttons scroll and disable at ends', async () => {
  const page = await browser.context.newPage();
  await openCarousel(page);
  const previous = page.locator(`${CAROUSEL} [data-testid="loci-previous"]`);
  const next = page.locator(`${CAROUSEL} [data-testid="loci-next"]`);

  assert.equal(await previous.getAttribute('aria-label'), 'Previous artworks');
  assert.equal(await next.getAttribute('aria-label'), 'Next artworks');
  assert.equal(await previous.getAttribute('aria-disabled'), 'true');
  assert.equal(await next.getAttribute('aria-disabled'), 'false');

  await next.click();
  await page.waitForFunction(
    (button) => button.getAttribute('aria-disabled') === 'false',
    await previous.elementHandle(),
    { timeout: 5_000 },
  );
  assert.ok((await trackScrollLeft(page)) > 0);

  await next.focus();
  for (let press = 0; press < 12 && (await next.getAttribute('aria-disabled')) !== 'true'; press += 1) {
    await page.keyboard.press('Enter');
    await page.waitForTimeout(600);
  }
  assert.equal(await next.getAttribute('aria-disabled'), 'true', 'the next button is disabled at the end');
  const focusedLabel = await page.evaluate(() => {
    const host = [...document.querySelectorAll('.loci-widget')].find((h) => h.shadowRoot?.activeElement);
    return host?.shadowRoot.activeElement.getAttribute('aria-label') ?? null;
  });
  assert.equal(focusedLabel, 'Next artworks', 'the disabled button keeps focus');
  await page.close();
});

test('carousel region semantics and reduced motion', async () => {
  const page = await browser.context.newPage();
  await page.emulateMedia({ reducedMotion: 'no-preference' });
  await openCarousel(page);
  const section = page.locator(CAROUSEL);

  assert.equal(await section.getAttribute('aria-roledescription'), 'carousel');
  assert.equal(await section.getAttribute('aria-label'), 'Related artworks');
  assert.equal(await page.locator(`${CAROUSEL} #loci-track`).getAttribute('role'), 'list');
  const behaviour = () =>
    page.locator(`${CAROUSEL} #loci-track`).evaluate((track) => getComputedStyle(track).scrollBehavior);
  assert.equal(await behaviour(), 'smooth');

  await page.emulateMedia({ reducedMotion: 'reduce' });
  assert.equal(await behaviour(), 'auto', 'reduced motion turns smooth scrolling off');
  await page.close();
});

test('carousel images offer a srcset', async () => {
  const page = await browser.context.newPage();
  await openCarousel(page);

  const image = page.locator(`${CAROUSEL_CARDS} img`).first();
  const srcset = await image.getAttribute('srcset');
  assert.match(srcset, /\/img-get2\/[^/]+\/fit=300 300w, .*\/fit=1200 1200w$/);
  assert.match(await image.getAttribute('sizes'), /78vw/);
  await page.waitForFunction((img) => img.complete && img.currentSrc !== '', await image.elementHandle(), {
    timeout: 5_000,
  });
  assert.match(await image.evaluate((img) => img.currentSrc), /\/fit=(300|600|900|1200)$/);
  await page.close();
});
