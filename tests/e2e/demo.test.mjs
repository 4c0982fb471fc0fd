// Browser tests of the demo site: the widget on the article page, served by the running
// worker, in headless Chromium. Image requests never leave the machine, because each test
// fulfils them itself with a 1x1 PNG or fails them. The stand-in's image URLs redirect to the
// Tate's own servers.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  adminHeaders,
  baseUrl,
  eventually,
  findAssetContext,
  webRightsViolations,
  worker,
} from '../support/api.mjs';
import { launchBrowser, PIXEL_PNG, recordPageOutput } from '../support/browser.mjs';

const WWW_DIR = fileURLToPath(new URL('../../www/', import.meta.url));

/** Time for the widget to fetch and render, in milliseconds. */
const WIDGET_TIMEOUT_MS = 20_000;

const ASSET_CARDS = '[data-testid="loci-asset"]';

/** Fulfils every image request of `page` with a 1x1 PNG. */
async function serveImagesLocally(page) {
  await page.route('**/img-get2/**', (route) =>
    route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }),
  );
}

/** Makes every image request of `page` fail, as an unreachable image CDN would. */
async function failImages(page) {
  await page.route('**/img-get2/**', (route) => route.abort('connectionrefused'));
}

/**
 * Opens the article page for `assetId` and resolves to the recommendation response the
 * widget received, once the widget has rendered at least one asset card.
 */
async function openArticle(page, assetId) {
  const recommendations = page.waitForResponse(
    (response) => response.url().includes('/v1/recommendations') && response.request().method() === 'GET',
    { timeout: WIDGET_TIMEOUT_MS },
  );
  await page.goto(`${baseUrl()}/article.html?asset=${assetId}`);
  const response = await recommendations;
  assert.equal(response.status(), 200, `the widget's recommendation request: ${response.url()}`);
  const body = await response.json();
  await page.locator(ASSET_CARDS).first().waitFor({ timeout: WIDGET_TIMEOUT_MS });
  return body;
}

/** Reads id, image src and link of every rendered asset card. */
async function renderedAssets(page) {
  return page.locator(ASSET_CARDS).evaluateAll((cards) =>
    cards.map((card) => ({
      id: card.getAttribute('data-asset-id'),
      imageSrc: card.querySelector('img')?.getAttribute('src') ?? null,
      href: card.querySelector('a[href]')?.getAttribute('href') ?? null,
      placeholder: card.querySelector('[data-testid="loci-placeholder"]')?.textContent ?? null,
    })),
  );
}

/** Starts an HTTP server on 127.0.0.1 with `handler`; resolves to `{ url, close }`. */
async function startServer(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Returns a loopback port that nothing listens on (it was free a moment ago). */
async function closedPort() {
  const server = await startServer(() => {});
  const port = Number(new URL(server.url).port);
  await server.close();
  return port;
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Turns www/article.html into a static publisher page. The page's own site.js is dropped,
 * because it fills the article from the worker's API. The page gets a static widget embed
 * for `context` with `endpoint`, and two host scripts that mark the document when they run:
 * one at parse time and one a second later, after the widget has had time to fail.
 */
function publisherPage(html, { context, endpoint }) {
  const embed =
    `<script src="/dist/loci.js" data-placement="article-related" data-context="${context}" ` +
    `data-count="8" data-layout="grid" data-endpoint="${endpoint}" async></script>`;
  const hostScripts =
    '<script>document.documentElement.dataset.hostScript = "ran";' +
    'setTimeout(() => { document.documentElement.dataset.hostTimer = "ran"; }, 1000);</script>';

  const withoutSiteScript = html.replace(/<script src="site\.js"[^>]*><\/script>/, '');
  assert.notEqual(withoutSiteScript, html, 'www/article.html no longer loads site.js as expected');
  assert.ok(html.includes('</main>'), 'www/article.html has no </main>');
  return withoutSiteScript.replace('</main>', `${embed}</main>`).replace('</body>', `${hostScripts}</body>`);
}

/**
 * Starts a static server for www/ whose /article.html is the publisher page built by
 * `publisherPage`. Every other path is a file under www/, or 404.
 */
async function startPublisherSite(pageOptions) {
  const article = publisherPage(await readFile(join(WWW_DIR, 'article.html'), 'utf8'), pageOptions);
  return startServer(async (request, response) => {
    const path = new URL(request.url, 'http://127.0.0.1').pathname;
    if (path === '/article.html') {
      response.writeHead(200, { 'content-type': CONTENT_TYPES['.html'] });
      response.end(article);
      return;
    }
    const file = normalize(join(WWW_DIR, decodeURIComponent(path)));
    if (!file.startsWith(WWW_DIR.endsWith(sep) ? WWW_DIR : WWW_DIR + sep)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
}

let browser;
let context;

before(async () => {
  context = await findAssetContext(6);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

describe('article page widget', () => {
  test('renders recommendations from the API', async () => {
    const page = await browser.context.newPage();
    const output = recordPageOutput(page);
    await serveImagesLocally(page);

    const response = await openArticle(page, context.id);
    const byId = new Map(response.assets.map((asset) => [asset.id, asset]));
    const cards = await renderedAssets(page);

    assert.ok(cards.length >= 6, `${cards.length} asset cards rendered, expected at least 6`);
    for (const card of cards) {
      const asset = byId.get(card.id);
      assert.ok(asset, `rendered asset ${card.id} is not in the API response`);
      assert.equal(card.imageSrc, asset.image_url, `image of ${card.id}`);
      assert.ok(card.href, `asset ${card.id} has no link`);
    }

    const galleryIds = await page
      .locator('[data-testid="loci-gallery"]')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-gallery-id')));
    const responseGalleryIds = new Set(response.galleries.map((gallery) => gallery.id));
    for (const id of galleryIds) {
      assert.ok(responseGalleryIds.has(id), `rendered gallery ${id} is not in the API response`);
    }

    assert.deepEqual(output.pageErrors.map(String), [], 'uncaught errors on the page');
    await page.close();
  });

  test('rendered assets are cleared for web', async () => {
    const page = await browser.context.newPage();
    await serveImagesLocally(page);
    await openArticle(page, context.id);
    const cards = await renderedAssets(page);
    await page.close();

    const violations = [];
    for (const card of cards) {
      for (const reason of await webRightsViolations(card.id)) {
        violations.push(`${card.id}: ${reason}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  test('click navigates and is recorded', async () => {
    const page = await browser.context.newPage();
    await serveImagesLocally(page);
    const response = await openArticle(page, context.id);

    const card = page.locator(ASSET_CARDS).first();
    const clickedId = await card.getAttribute('data-asset-id');
    const asset = response.assets.find((item) => item.id === clickedId);
    assert.ok(asset, `clicked asset ${clickedId} is not in the API response`);
    const articleUrl = page.url();
    const expected = new URL(asset.link, articleUrl);

    // Workers static assets serve /article.html at /article (a redirect), so compare paths
    // without the .html suffix.
    const pagePath = (url) => url.pathname.replace(/\.html$/, '');
    await Promise.all([
      page.waitForURL((url) => pagePath(url) === pagePath(expected) && url.href !== articleUrl, {
        timeout: WIDGET_TIMEOUT_MS,
      }),
      card.locator('a[href]').first().click(),
    ]);
    const landed = new URL(page.url());
    for (const [name, value] of expected.searchParams) {
      assert.equal(landed.searchParams.get(name), value, `query parameter ${name} after the click`);
    }
    await page.close();

    const path = `/v1/admin/events?request_id=${encodeURIComponent(response.request_id)}`;
    const clicks = await eventually(
      async () => {
        const answer = await worker(path, { headers: adminHeaders() });
        assert.equal(answer.status, 200, answer.text.slice(0, 300));
        const found = answer.json.events.filter((row) => row.kind === 'click' && row.asset_id === clickedId);
        return found.length > 0 ? found : undefined;
      },
      { description: `a click on ${clickedId} in ${path}` },
    );
    assert.equal(clicks[0].context, `asset:${context.id}`);
  });

  test('failed images show title placeholders', async () => {
    const page = await browser.context.newPage();
    await failImages(page);
    const response = await openArticle(page, context.id);
    const titles = new Map(response.assets.map((asset) => [asset.id, asset.title]));

    // Images load lazily: bring each card into view so that its image is requested.
    const cards = page.locator(ASSET_CARDS);
    for (let index = 0; index < (await cards.count()); index += 1) {
      await cards.nth(index).scrollIntoViewIfNeeded();
      await cards.nth(index).locator('[data-testid="loci-placeholder"]').waitFor({ timeout: WIDGET_TIMEOUT_MS });
    }

    for (const card of await renderedAssets(page)) {
      assert.equal(card.imageSrc, null, `asset ${card.id} still shows a failed <img>`);
      assert.equal(card.placeholder?.trim(), titles.get(card.id), `placeholder of ${card.id}`);
    }
    await page.close();
  });
});

describe('publisher page on another origin', () => {
  test('widget renders through data-endpoint', async () => {
    const site = await startPublisherSite({ context: `asset:${context.id}`, endpoint: baseUrl() });
    const page = await browser.context.newPage();
    const output = recordPageOutput(page);
    await serveImagesLocally(page);
    try {
      await page.goto(`${site.url}/article.html`);
      await page.locator(ASSET_CARDS).first().waitFor({ timeout: WIDGET_TIMEOUT_MS });
      const cards = await renderedAssets(page);
      assert.ok(cards.length >= 6, `${cards.length} asset cards rendered, expected at least 6`);
      assert.deepEqual(output.pageErrors.map(String), [], 'uncaught errors on the page');
    } finally {
      await page.close();
      await site.close();
    }
  });

  test('unreachable worker leaves the page working', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const site = await startPublisherSite({ context: `asset:${context.id}`, endpoint });
    const page = await browser.context.newPage();
    const output = recordPageOutput(page);
    try {
      await page.goto(`${site.url}/article.html`);

      await eventually(() => output.consoleMessages.some((message) => message.type === 'warning'), {
        description: 'the widget to warn that the worker is unreachable',
      });
      await eventually(() => page.evaluate(() => document.documentElement.dataset.hostTimer === 'ran'), {
        description: 'the host page timer script',
      });
      // Give late warnings or errors a moment to arrive before counting them.
      await page.waitForTimeout(1000);

      assert.equal(await page.evaluate(() => document.documentElement.dataset.hostScript), 'ran');
      assert.equal(await page.locator('.masthead-title').textContent(), 'The Northern Courier');
      assert.ok((await page.locator('footer').textContent()).includes('Northern Courier'), 'footer text');
      assert.equal(await page.locator(ASSET_CARDS).count(), 0, 'asset cards without a worker');

      assert.deepEqual(output.pageErrors.map(String), [], 'uncaught errors on the page');
      const warnings = output.consoleMessages.filter((message) => message.type === 'warning');
      assert.equal(warnings.length, 1, `console warnings: ${JSON.stringify(warnings)}`);
      assert.match(warnings[0].text, /^loci:/, 'the warning comes from the widget');
    } finally {
      await page.close();
      await site.close();
    }
  });
});
