// Browser tests of the gallery-more and homepage layouts on the demo pages, pointed at contexts
// the test catalog holds. With LOCI_SCREENSHOT_DIR set, the last test also saves screenshots of
// every layout at 390 and 1280 pixels wide into that folder.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { baseUrl, findAssetContext, recommendationsPath, standinMedia, worker } from '../support/api.mjs';
import { launchBrowser, routePageWithReplacements, serveLabelledImages } from '../support/browser.mjs';

/** Time for the widget to fetch and render, in milliseconds. */
const WIDGET_TIMEOUT_MS = 20_000;

/** Contexts written in the demo pages, replaced by ones the test catalog holds. */
const PAGE_ASSET_CONTEXT = 'asset:I000000000N00530';
const PAGE_GALLERY_CONTEXT = 'gallery:G0000art00001811';

let browser;
let assetContext;
let galleryId;

/**
 * Finds a gallery whose own context yields at least two of its members and one related
 * gallery, so that both the gallery-more and the homepage layouts have something to show. The
 * candidates are the galleries recommended for the stand-in's first 50 media items.
 */
async function findGalleryContext() {
  const tried = new Map();
  for (const item of await standinMedia(50)) {
    const near = await worker(recommendationsPath({ context: `asset:${item.id}`, count: '1', galleries: '12' }));
    for (const gallery of near.json?.galleries ?? []) {
      if (tried.has(gallery.id)) continue;
      const answer = await worker(recommendationsPath({ context: `gallery:${gallery.id}`, count: '8', galleries: '4' }));
      const assets = (answer.json?.assets ?? []).filter((asset) => asset.reason.code === 'in_this_gallery').length;
      const galleries = answer.json?.galleries?.length ?? 0;
      tried.set(gallery.id, `HTTP ${answer.status}, ${assets} members, ${galleries} galleries`);
      if (answer.status === 200 && assets >= 2 && galleries >= 1) {
        return gallery.id;
      }
    }
  }
  const report = [...tried].map(([id, result]) => `${id}: ${result}`).join('\n');
  throw new Error(`no gallery has 2 members to show and a related gallery:\n${report}`);
}

before(async () => {
  assetContext = await findAssetContext(8);
  galleryId = await findGalleryContext();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const replacements = () => [
  [PAGE_ASSET_CONTEXT, `asset:${assetContext.id}`],
  [PAGE_GALLERY_CONTEXT, `gallery:${galleryId}`],
];

/**
 * Opens `path` with its contexts replaced and resolves to the recommendation response and
 * request URL of the widget with `placement`, once that widget has rendered.
 */
async function openLayout(page, path, placement, layout, extraReplacements = []) {
  await serveLabelledImages(page);
  await routePageWithReplacements(page, `**/${path.split('?')[0]}*`, [...replacements(), ...extraReplacements]);
  const recommendations = page.waitForResponse(
    (response) => response.url().includes('/v1/recommendations') && response.url().includes(`placement=${placement}`),
    { timeout: WIDGET_TIMEOUT_MS },
  );
  await page.goto(`${baseUrl()}/${path}`);
  const response = await recommendations;
  assert.equal(response.status(), 200, response.url());
  await page.locator(`section[data-layout="${layout}"]`).waitFor({ timeout: WIDGET_TIMEOUT_MS });
  return { body: await response.json(), url: new URL(response.url()) };
}

const texts = (locator) => locator.evaluateAll((nodes) => nodes.map((node) => node.textContent.trim()));

test('gallery-more shows the gallery assets only', async () => {
  const page = await browser.context.newPage();
  const { body, url } = await openLayout(page, 'carousel.html', 'gallery-more', 'gallery-more');
  const section = 'section[data-layout="gallery-more"]';

  assert.equal(url.searchParams.get('context'), `gallery:${galleryId}`);
  assert.equal(url.searchParams.get('galleries'), '0');
  assert.equal(url.searchParams.get('exclude'), 'I000000000N00530', 'the page excludes its own artwork');
  assert.deepEqual(await texts(page.locator(`${section} h2`)), ['More from this gallery']);
  const ids = await page
    .locator(`${section} li[data-testid="loci-asset"]`)
    .evaluateAll((cards) => cards.map((card) => card.getAttribute('data-asset-id')));
  // The edge pads a small gallery with assets from elsewhere; the widget shows members only.
  const members = body.assets.filter((asset) => asset.reason.code === 'in_this_gallery');
  assert.deepEqual(ids, members.map((asset) => asset.id));
  assert.ok(ids.length >= 1, 'the gallery has assets to show');
  assert.ok(!ids.includes('I000000000N00530'), 'the excluded artwork is not shown');
  assert.equal(await page.locator(`${section} li[data-testid="loci-gallery"]`).count(), 0);
  await page.close();
});

test('homepage shows featured galleries first', async () => {
  const page = await browser.context.newPage();
  const { body, url } = await openLayout(page, 'index.html', 'home-module', 'homepage');
  const section = 'section[data-layout="homepage"]';

  assert.equal(url.searchParams.get('galleries'), '4');
  assert.equal(url.searchParams.get('visitor'), null, 'no visitor id without consent');
  assert.deepEqual(await texts(page.locator(`${section} h2`)), ['Featured galleries', 'From the collection']);
  const cards = page.locator(`${section} ul.loci-featured > li[data-testid="loci-gallery"]`);
  assert.equal(await cards.count(), body.galleries.length);
  const firstCard = await texts(cards.first());
  assert.match(firstCard[0], /\d+ artworks?$/, 'a gallery card shows its count');
  assert.ok(firstCard[0].includes(body.galleries[0].name), firstCard[0]);
  assert.equal(await cards.first().locator('img').getAttribute('alt'), `Cover of the gallery ${body.galleries[0].name}`);
  const assets = page.locator(`${section} ul.loci-grid > li[data-testid="loci-asset"]`);
  assert.equal(await assets.count(), body.assets.length);
  assert.ok(body.assets.length <= 4, 'a few assets, as data-count asks');
  await page.close();
});

test('homepage is personal with consent', async () => {
  const page = await browser.context.newPage();
  const consentGranted = ['data-layout="homepage"', 'data-layout="homepage" data-consent="granted"'];
  const { url } = await openLayout(page, 'index.html', 'home-module', 'homepage', [consentGranted]);

  assert.match(url.searchParams.get('visitor') ?? '', /^v[0-9a-f]{32}$/);
  const headings = await texts(page.locator('section[data-layout="homepage"] h2'));
  assert.deepEqual(headings, ['Featured galleries', 'Picked for you']);
  await page.close();
});

/** Every layout, with the page that shows it and the widget host to capture. */
const SCREENSHOT_LAYOUTS = [
  { layout: 'grid', path: () => `article.html?asset=${assetContext.id}`, host: '.loci-widget' },
  { layout: 'row', path: () => 'cms-module.html', host: 'loci-recommendations' },
  { layout: 'carousel', path: () => 'carousel.html', host: '.loci-widget >> nth=0' },
  { layout: 'gallery-more', path: () => 'carousel.html', host: '.loci-widget >> nth=1' },
  { layout: 'homepage', path: () => 'index.html', host: '.loci-widget' },
];

test('screenshots of every layout', { skip: !process.env.LOCI_SCREENSHOT_DIR }, async () => {
  const folder = process.env.LOCI_SCREENSHOT_DIR;
  await mkdir(folder, { recursive: true });
  const cmsContext = ['gallery:G0000grp00065851', `gallery:${galleryId}`];

  for (const width of [390, 1280]) {
    for (const { layout, path, host } of SCREENSHOT_LAYOUTS) {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width, height: 900 });
      await serveLabelledImages(page);
      await routePageWithReplacements(page, `**/${path().split('?')[0]}*`, [...replacements(), cmsContext]);
      await page.goto(`${baseUrl()}/${path()}`);
      await page.locator(`section[data-layout="${layout}"] li`).first().waitFor({ timeout: WIDGET_TIMEOUT_MS });
      const widget = page.locator(host);
      await widget.scrollIntoViewIfNeeded();
      // Lazy images load once they are near the viewport; off-screen carousel cards never do.
      await page.waitForTimeout(1_500);
      await widget.screenshot({ path: join(folder, `${layout}-${width}.png`) });
      await page.close();
    }
  }

  // The carousel with keyboard focus on its second card, to show the focus ring.
  const page = await browser.context.newPage();
  await serveLabelledImages(page);
  await routePageWithReplacements(page, '**/carousel.html*', replacements());
  await page.goto(`${baseUrl()}/carousel.html`);
  const firstLink = page.locator('section[data-layout="carousel"] #loci-track > li > a').first();
  await firstLink.waitFor({ timeout: WIDGET_TIMEOUT_MS });
  await firstLink.focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(1_000);
  await page.locator('.loci-widget >> nth=0').screenshot({ path: join(folder, 'carousel-focus-1280.png') });
  await page.close();
});
