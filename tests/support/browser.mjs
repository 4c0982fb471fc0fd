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
