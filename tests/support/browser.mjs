// Starts Debian's Chromium through playwright-core for the browser tests. Playwright's own
// browser downloads are not used: CHROMIUM_PATH (default /usr/bin/chromium, from Debian's
// chromium package, installed by `./x setup --browser`) is the browser.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags that keep Chromium on this machine: no background, component or sync traffic, and
 * every host name but 127.0.0.1 and localhost resolves to nothing. --no-sandbox is needed
 * because the tests run as root in CI.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-gpu',
  '--no-first-run',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

/** A 1x1 transparent PNG, served in place of images in tests that need them to load. */
export const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

/**
 * Launches headless Chromium with a fresh, empty user data directory. Resolves to
 * `{ context, close }`: `context` is a Playwright BrowserContext, and `close()` ends the
 * browser and deletes the directory.
 */
export async function launchBrowser() {
  const userDataDir = await mkdtemp(join(tmpdir(), 'loci-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new Error(
      `could not start Chromium at ${CHROMIUM_PATH} (install it with ./x setup --browser): ${error.message}`,
    );
  }

  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Records what a page reports: uncaught errors (`pageErrors`) and console messages
 * (`consoleMessages`, each `{ type, text, url }`).
 */
export function recordPageOutput(page) {
  const output = { pageErrors: [], consoleMessages: [] };
  page.on('pageerror', (error) => output.pageErrors.push(error));
  page.on('console', (message) =>
    output.consoleMessages.push({
      type: message.type(),
      text: message.text(),
      url: message.location()?.url ?? '',
    }),
  );
  return output;
}

/**
 * Fulfils every PhotoShelter image request of `page` (`…/img-get2/{id}/fit={width}`) with an
 * SVG drawn in a colour derived from the id and labelled with the requested width, so
 * screenshots show which `srcset` candidate the browser chose. Resolves to the list the
 * requested URLs go to.
 */
export async function serveLabelledImages(page) {
  const requested = [];
  await page.route('**/img-get2/**', (route) => {
    const url = route.request().url();
    requested.push(url);
    const [, id = '', width = '?'] = /img-get2\/([^/]+)\/fit=(\d+)/.exec(url) ?? [];
    let hue = 0;
    for (const char of id) hue = (hue * 31 + char.charCodeAt(0)) % 360;
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300" viewBox="0 0 400 300">` +
      `<rect width="400" height="300" fill="hsl(${hue} 45% 62%)"/>` +
      `<text x="20" y="280" font-family="sans-serif" font-size="28" fill="#fff">fit=${width}</text></svg>`;
    return route.fulfill({ status: 200, contentType: 'image/svg+xml', body: svg });
  });
  return requested;
}

/**
 * Serves the pages that match the glob `urlPattern` with each `[from, to]` of `replacements`
 * applied to their HTML, so a test can point a demo page's widgets at contexts its catalog
 * holds.
 */
export async function routePageWithReplacements(page, urlPattern, replacements) {
  await page.route(urlPattern, async (route) => {
    const original = await route.fetch();
    let html = await original.text();
    for (const [from, to] of replacements) {
      html = html.split(from).join(to);
    }
    await route.fulfill({ response: original, body: html });
  });
}
