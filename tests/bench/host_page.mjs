// Measures the main-thread work the widget adds to a publisher's page, on the demo article
// page and the demo front page (homepage layout). The figures are long tasks (over 50 ms),
// long animation frames, total blocking time and the time until the widget's cards render.
//
// Each page is loaded --loads times (default 10) with the widget and as many times without it.
// The baseline is the same page with the request for /dist/loci.js aborted, and the two
// alternate so that load on a shared machine affects both alike. Every load uses a fresh browser
// context, so the HTTP cache is empty and the wasm module is downloaded and compiled each time.
// The script prints figures only. It exits non-zero when a page fails to load, the widget
// never renders, or the baseline still loads the widget, and never because of a timing.
//
// Environment: LOCI_BASE_URL (a worker that serves www/ and the API, synced), STANDIN_URL (its
// PhotoShelter stand-in, to pick an asset the catalog holds) and optionally CHROMIUM_PATH.
// `./x bench page` starts both and sets them.
//
//   node tests/bench/host_page.mjs [--loads N] [--settle-ms MS]

import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

import { baseUrl, findAssetContext, recommendationsPath, worker } from '../support/api.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH, PIXEL_PNG, routePageWithReplacements } from '../support/browser.mjs';

/** Time for a page to load and for the widget to render its cards, in milliseconds. */
const PAGE_TIMEOUT_MS = 30_000;

/** A task longer than this blocks input, by the definition of total blocking time (ms). */
const BLOCKING_THRESHOLD_MS = 50;

/** Cards of every layout: asset cards and gallery cards. */
const CARD_SELECTOR = '[data-testid="loci-asset"], [data-testid="loci-gallery"]';

/** The loader's URL pattern, aborted in baseline loads. */
const LOADER_PATTERN = '**/dist/loci.js';

/** The gallery context written in www/index.html, replaced by one the catalog holds. */
const FRONT_PAGE_CONTEXT = 'gallery:G0000art00001811';

/**
 * Registers the observers in the page before any page script runs. Buffered observers also
 * receive entries recorded before they were registered. The widget renders into an open
 * shadow root, which a document-level MutationObserver does not see, so attachShadow is
 * wrapped to watch each new root for the first card.
 */
function installObservers(cardSelector) {
  const record = { longTasks: [], longFrames: [], longFramesSupported: false, cardsRenderedAt: null };
  window.__lociHostPageBench = record;

  const observe = (type, onEntry) => {
    if (!PerformanceObserver.supportedEntryTypes?.includes(type)) {
      return false;
    }
    const observer = new PerformanceObserver((list) => list.getEntries().forEach(onEntry));
    observer.observe({ type, buffered: true });
    return true;
  };

  observe('longtask', (entry) => {
    record.longTasks.push({
      start: entry.startTime,
      duration: entry.duration,
      attribution: (entry.attribution ?? []).map((item) => ({
        name: item.name,
        containerType: item.containerType,
        containerSrc: item.containerSrc,
      })),
    });
  });

  record.longFramesSupported = observe('long-animation-frame', (entry) => {
    record.longFrames.push({
      start: entry.startTime,
      duration: entry.duration,
      blockingDuration: entry.blockingDuration,
      // Style, layout and paint run from styleAndLayoutStart to the frame's end. The start is 0
      // when the frame had no rendering update.
      styleAndLayout: entry.styleAndLayoutStart > 0 ? entry.startTime + entry.duration - entry.styleAndLayoutStart : 0,
      scripts: (entry.scripts ?? []).map((script) => ({
        sourceURL: script.sourceURL,
        sourceFunctionName: script.sourceFunctionName,
        invokerType: script.invokerType,
        invoker: script.invoker,
        duration: script.duration,
      })),
    });
  });

  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function attachShadowWatched(init) {
    const root = attachShadow.call(this, init);
    const observer = new MutationObserver(() => {
      if (record.cardsRenderedAt === null && root.querySelector(cardSelector)) {
        record.cardsRenderedAt = performance.now();
      }
      if (record.cardsRenderedAt !== null) {
        observer.disconnect();
      }
    });
    observer.observe(root, { childList: true, subtree: true });
    return root;
  };
}

/** Reads the page's record and its load event time (ms since navigation start). */
function readRecord() {
  const [navigation] = performance.getEntriesByType('navigation');
  return { ...window.__lociHostPageBench, loadEventEnd: navigation?.loadEventEnd ?? null };
}

/**
 * Finds a gallery context whose homepage module has cards to show: one of the galleries
 * recommended for `assetResponse`, checked with the request the front page's widget sends.
 */
async function findFrontPageGallery(assetResponse) {
  const tried = [];
  for (const gallery of assetResponse.galleries ?? []) {
    const answer = await worker(
      recommendationsPath({ context: `gallery:${gallery.id}`, count: '4', galleries: '4', channel: 'web' }),
    );
    const cards = (answer.json?.assets?.length ?? 0) + (answer.json?.galleries?.length ?? 0);
    tried.push(`${gallery.id}: HTTP ${answer.status}, ${cards} cards`);
    if (answer.status === 200 && cards > 0) {
      return gallery.id;
    }
  }
  throw new Error(`no recommended gallery has cards for the front page:\n${tried.join('\n') || '(none recommended)'}`);
}

/** Sums the parts of long tasks beyond the blocking threshold (total blocking time, ms). */
function totalBlockingTime(tasks) {
  return tasks.reduce((sum, task) => sum + Math.max(0, task.duration - BLOCKING_THRESHOLD_MS), 0);
}

/** Time the widget's own files (anything under /dist/) ran inside long animation frames, ms. */
function widgetScriptTime(frames) {
  let total = 0;
  for (const frame of frames) {
    for (const script of frame.scripts) {
      if (script.sourceURL.includes('/dist/')) {
        total += script.duration;
      }
    }
  }
  return total;
}

/**
 * Loads `page.url` once in a fresh context, with the widget or (baseline) without it, and
 * resolves to the metrics of that load. Throws when the page does not load, when the widget
 * renders no card, or when a baseline load was not stopped from fetching the loader.
 */
async function measureLoad(browser, page, { withWidget, settleMs }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript(installObservers, CARD_SELECTOR);
    await context.route('**/img-get2/**', (route) =>
      route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }),
    );
    let loaderAborted = 0;
    if (!withWidget) {
      await context.route(LOADER_PATTERN, (route) => {
        loaderAborted += 1;
        return route.abort('blockedbyclient');
      });
    }
    const tab = await context.newPage();
    if (page.replacements.length > 0) {
      await routePageWithReplacements(tab, page.routePattern, page.replacements);
    }

    const response = await tab.goto(page.url, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
    if (!response || !response.ok()) {
      throw new Error(`${page.name}: ${page.url} returned HTTP ${response?.status() ?? 'no response'}`);
    }
    if (withWidget) {
      await tab
        .locator(CARD_SELECTOR)
        .first()
        .waitFor({ timeout: PAGE_TIMEOUT_MS })
        .catch((error) => {
          throw new Error(`${page.name}: the widget rendered no card within ${PAGE_TIMEOUT_MS} ms (${error.message})`);
        });
    }
    // Tasks that follow the render (impression tracking, image decoding) count too.
    await tab.waitForTimeout(settleMs);

    const record = await tab.evaluate(readRecord);
    if (!withWidget) {
      const cards = await tab.locator(CARD_SELECTOR).count();
      if (loaderAborted === 0 || cards > 0) {
        throw new Error(
          `${page.name}: the baseline load was not blocked (${loaderAborted} loader requests aborted, ${cards} cards)`,
        );
      }
    }
    if (withWidget && record.cardsRenderedAt === null) {
      throw new Error(`${page.name}: cards are visible, but no shadow root reported them to the observer`);
    }

    return {
      longTaskCount: record.longTasks.length,
      longTaskMax: Math.max(0, ...record.longTasks.map((task) => task.duration)),
      longTaskTotal: record.longTasks.reduce((sum, task) => sum + task.duration, 0),
      totalBlockingTime: totalBlockingTime(record.longTasks),
      longFramesSupported: record.longFramesSupported,
      longFrameCount: record.longFrames.length,
      longFrameMax: Math.max(0, ...record.longFrames.map((frame) => frame.duration)),
      longFrameBlocking: record.longFrames.reduce((sum, frame) => sum + frame.blockingDuration, 0),
      widgetScriptInLongFrames: widgetScriptTime(record.longFrames),
      scriptInLongFrames: record.longFrames.reduce(
        (sum, frame) => sum + frame.scripts.reduce((total, script) => total + script.duration, 0),
        0,
      ),
      styleAndLayoutInLongFrames: record.longFrames.reduce((sum, frame) => sum + frame.styleAndLayout, 0),
      cardsRenderedAt: record.cardsRenderedAt,
      loadEventEnd: record.loadEventEnd,
      longTasks: record.longTasks,
      longFrames: record.longFrames,
    };
  } finally {
    await context.close();
  }
}

/** The rows of the table: metric key, label, and whether the baseline has a value. */
const METRICS = [
  ['longTaskCount', 'long tasks (count)', true],
  ['longTaskMax', 'longest task (ms)', true],
  ['longTaskTotal', 'long task time, total (ms)', true],
  ['totalBlockingTime', 'total blocking time (ms)', true],
  ['longFrameCount', 'long animation frames (count)', true],
  ['longFrameMax', 'longest animation frame (ms)', true],
  ['longFrameBlocking', 'frame blocking duration, total (ms)', true],
  ['scriptInLongFrames', 'scripts over 5 ms in long frames (ms)', true],
  ['widgetScriptInLongFrames', 'widget scripts in long frames (ms)', true],
  ['styleAndLayoutInLongFrames', 'style and layout in long frames (ms)', true],
  ['loadEventEnd', 'load event end (ms)', true],
  ['cardsRenderedAt', 'cards rendered (ms)', false],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const formatNumber = (value) => (value === null || Number.isNaN(value) ? '-' : value.toFixed(1));

/** Prints median and max per metric, with the widget, without it, and the difference. */
function printTable(pageName, loads, widgetRuns, baselineRuns) {
  console.log(`\n${pageName}: ${loads} loads with the widget, ${loads} without (loader blocked)`);
  const header = ['metric', 'widget p50', 'widget max', 'base p50', 'base max', 'diff p50', 'diff max'];
  const widths = [36, 11, 11, 11, 11, 11, 11];
  const line = (cells) =>
    cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[index]))).join(' ');
  console.log(line(header));
  for (const [key, label, inBaseline] of METRICS) {
    if (/longframe/i.test(key) && !widgetRuns[0].longFramesSupported) {
      continue;
    }
    const widgetValues = widgetRuns.map((run) => run[key]);
    const baselineValues = inBaseline ? baselineRuns.map((run) => run[key]) : [];
    const widgetMedian = median(widgetValues);
    const widgetMax = Math.max(...widgetValues);
    const baselineMedian = inBaseline ? median(baselineValues) : null;
    const baselineMax = inBaseline ? Math.max(...baselineValues) : null;
    console.log(
      line([
        label,
        formatNumber(widgetMedian),
        formatNumber(widgetMax),
        formatNumber(baselineMedian),
        formatNumber(baselineMax),
        inBaseline ? formatNumber(widgetMedian - baselineMedian) : '-',
        inBaseline ? formatNumber(widgetMax - baselineMax) : '-',
      ]),
    );
  }
  const loadsWithLongTask = (runs) => runs.filter((run) => run.longTaskCount > 0).length;
  console.log(
    `loads with a long task: ${loadsWithLongTask(widgetRuns)} of ${widgetRuns.length} with the widget, ` +
      `${loadsWithLongTask(baselineRuns)} of ${baselineRuns.length} without`,
  );
}

/** Prints where the long tasks and frames of the widget loads came from. */
function printAttribution(pageName, widgetRuns) {
  const containers = new Map();
  for (const run of widgetRuns) {
    for (const task of run.longTasks) {
      for (const item of task.attribution) {
        const key = `${item.name} (${item.containerType}${item.containerSrc ? ` ${item.containerSrc}` : ''})`;
        containers.set(key, (containers.get(key) ?? 0) + 1);
      }
    }
  }
  const scripts = new Map();
  for (const run of widgetRuns) {
    for (const frame of run.longFrames) {
      for (const script of frame.scripts) {
        const path = script.sourceURL ? new URL(script.sourceURL).pathname : '(no source URL)';
        const key = `${path} ${script.sourceFunctionName || '(anonymous)'}, ${script.invokerType} ${script.invoker}`;
        const entry = scripts.get(key) ?? { count: 0, duration: 0 };
        entry.count += 1;
        entry.duration += script.duration;
        scripts.set(key, entry);
      }
    }
  }

  console.log(`${pageName}, widget loads: long task attribution (entries across all loads)`);
  if (containers.size === 0) {
    console.log('  (no long tasks)');
  }
  for (const [key, count] of containers) {
    console.log(`  ${count} x ${key}`);
  }
  console.log(`${pageName}, widget loads: scripts in long animation frames (count, total ms)`);
  if (scripts.size === 0) {
    console.log('  (no scripts in long animation frames)');
  }
  for (const [key, entry] of [...scripts].sort((a, b) => b[1].duration - a[1].duration).slice(0, 10)) {
    console.log(`  ${entry.count} x ${entry.duration.toFixed(1)} ms  ${key}`);
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      loads: { type: 'string', default: '10' },
      'settle-ms': { type: 'string', default: '3000' },
    },
  });
  const loads = Number(values.loads);
  const settleMs = Number(values['settle-ms']);
  if (!Number.isInteger(loads) || loads < 1) {
    throw new Error(`--loads must be a whole number of at least 1, not '${values.loads}'`);
  }
  if (!Number.isInteger(settleMs) || settleMs < 0) {
    throw new Error(`--settle-ms must be a whole number of milliseconds, not '${values['settle-ms']}'`);
  }
  return { loads, settleMs };
}

async function main() {
  const { loads, settleMs } = parseOptions();
  const asset = await findAssetContext(6);
  const galleryId = await findFrontPageGallery(asset.response);
  const pages = [
    {
      name: 'article page (grid layout)',
      url: `${baseUrl()}/article.html?asset=${asset.id}`,
      routePattern: '',
      replacements: [],
    },
    {
      name: 'front page (homepage layout)',
      url: `${baseUrl()}/index.html`,
      routePattern: '**/index.html*',
      replacements: [[FRONT_PAGE_CONTEXT, `gallery:${galleryId}`]],
    },
  ];
  console.log(`asset ${asset.id} for the article page, gallery ${galleryId} for the front page`);

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
  console.log(`browser: Chromium ${browser.version()} (headless, no CPU throttling)`);
  try {
    for (const page of pages) {
      const widgetRuns = [];
      const baselineRuns = [];
      for (let index = 0; index < loads; index += 1) {
        // Alternate which of the pair goes first, so neither always loads after the other.
        const order = index % 2 === 0 ? [true, false] : [false, true];
        for (const withWidget of order) {
          const run = await measureLoad(browser, page, { withWidget, settleMs });
          (withWidget ? widgetRuns : baselineRuns).push(run);
        }
      }
      printTable(page.name, loads, widgetRuns, baselineRuns);
      printAttribution(page.name, widgetRuns);
    }
  } finally {
    await browser.close();
  }
  console.log(
    `\nTimes are ms since navigation start; each load ends ${settleMs} ms after the load event and ` +
      `(with the widget) the first card. Total blocking time sums task time over ${BLOCKING_THRESHOLD_MS} ms ` +
      'over that whole window. "diff" is widget minus baseline.',
  );
}

main().catch((error) => {
  console.error(`host page benchmark failed: ${error.message}`);
  process.exit(1);
});
