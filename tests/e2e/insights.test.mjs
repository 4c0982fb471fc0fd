// Browser tests of the insights page (www/insights.html) and the simulated-traffic generator
// (tests/support/simulate.mjs).
//
// The first group serves www/ from a local mock of the analytics API, so the page's drawing,
// sign-in and error handling are checked against fixed numbers. The second group plays
// SIMULATED visitors against the worker under test, refreshes its aggregates and checks the
// page against the worker's own responses. Images never leave the machine: every test fulfils
// image requests with a 1x1 PNG.
//
// Set LOCI_SCREENSHOT_DIR to a folder to save full-page screenshots at 390 and 1280 px.

import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { adminHeaders, adminKey, baseUrl, standinMedia, worker } from '../support/api.mjs';
import { launchBrowser, PIXEL_PNG, recordPageOutput } from '../support/browser.mjs';
import { EVENTS_PER_BATCH, Random, simulate } from '../support/simulate.mjs';

const WWW_DIR = fileURLToPath(new URL('../../www/', import.meta.url));
const PAGE_FILES = new Map([
  ['/insights.html', 'text/html; charset=utf-8'],
  ['/insights.js', 'text/javascript; charset=utf-8'],
  ['/insights.css', 'text/css; charset=utf-8'],
]);

/** Time for the page to fetch and draw, in milliseconds. */
const PAGE_TIMEOUT_MS = 20_000;
const SCREENSHOT_DIR = process.env.LOCI_SCREENSHOT_DIR;
const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1280, height: 900 },
];

const MOCK_READ_KEY = 'mock-read-key-0123456789';
const MOCK_ADMIN_KEY = 'mock-admin-key-0123456789';

// ---------------------------------------------------------------------------------------------
// A mock of the analytics API, following the documented contract

/** Days from `from` to `to` inclusive, as `YYYY-MM-DD`. */
function daysBetween(from, to) {
  const days = [];
  for (let time = Date.parse(`${from}T00:00:00Z`); time <= Date.parse(`${to}T00:00:00Z`); time += 86_400_000) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return days;
}

function countsRow(key, label, impressions, clicks) {
  return {
    key,
    label,
    impressions,
    clicks,
    ctr: impressions ? clicks / impressions : 0,
    dwell_events: Math.round(clicks * 0.8),
    avg_dwell_ms: clicks ? 20_000 + clicks * 10 : 0,
  };
}

const MOCK_GALLERIES = [
  countsRow('G0000art00001811', 'Joseph Mallord William Turner', 1200, 96),
  countsRow('G0000grp00065478', "Illustrations to Dante's 'Divine Comedy'", 800, 52),
  countsRow('G0000art00001648', 'John Constable', 640, 31),
];
const MOCK_KEYWORDS = [
  countsRow('landscape', 'landscape', 2100, 140),
  countsRow('river', 'river', 900, 81),
  countsRow('portrait', 'portrait', 700, 22),
  countsRow('sea', 'sea', 300, 9),
];
const MOCK_SEGMENTS = {
  refreshed_at: '2026-12-04T06:00:00Z',
  segments: [
    {
      id: 'engaged',
      description: 'Visitors with many clicks',
      size: 42,
      top_keywords: [{ keyword: 'landscape', clicks: 30 }, { keyword: 'river', clicks: 12 }],
      promote_galleries: [{ id: 'G0000art00001811', name: 'Joseph Mallord William Turner', score: 3.5, link: '/gallery.html?gallery=G0000art00001811' }],
    },
    { id: 'new', description: 'First-time visitors', size: 118, top_keywords: [{ keyword: 'portrait', clicks: 7 }], promote_galleries: [] },
    { id: 'other', description: 'Consenting visitors no segment rule matched', size: 9, top_keywords: [], promote_galleries: [] },
  ],
};
const MOCK_TRENDS = {
  window_days: 7,
  by: 'keyword',
  themes: [
    {
      key: 'river',
      label: 'river',
      recent_clicks: 40,
      previous_clicks: 15,
      growth: 41 / 16,
      assets: [
        { id: 'I000000000N00530', title: 'Snow Storm', image_url: '/img-get2/I000000000N00530/fit=480', link: '/article.html?asset=I000000000N00530' },
        { id: 'I000000000N01506', title: 'Ophelia', image_url: '/img-get2/I000000000N01506/fit=480', link: '/article.html?asset=I000000000N01506' },
      ],
    },
    { key: 'sea', label: 'sea', recent_clicks: 12, previous_clicks: 2, growth: 13 / 3, assets: [] },
  ],
};
const MOCK_EXPERIMENTS = {
  experiments: [
    {
      id: 'related-blend',
      placement: 'article-related',
      unit: 'visitor',
      variants: [
        { name: 'control', is_control: true, impressions: 5000, clicks: 250, ctr: 0.05, ci_low: 0.0444, ci_high: 0.0563 },
        {
          name: 'more-co-views',
          is_control: false,
          impressions: 5100,
          clicks: 310,
          ctr: 0.0608,
          ci_low: 0.0545,
          ci_high: 0.0677,
          diff_vs_control: { ctr: 0.0108, ci_low: 0.0019, ci_high: 0.0197, significant: true },
        },
      ],
    },
  ],
};

/** Per-day counts of the mock: a weekly rhythm with clicks rising over the range. */
function mockDayRows(from, to) {
  return daysBetween(from, to).map((day, index) => {
    const impressions = 400 + ((index * 37) % 90);
    return countsRow(day, day, impressions, 20 + (index % 7) * 3 + Math.floor(index / 3));
  });
}

function problem(response, status, code, detail) {
  response.writeHead(status, { 'content-type': 'application/problem+json' });
  response.end(JSON.stringify({ status, code, detail }));
}

function json(response, body) {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/**
 * Starts the mock on 127.0.0.1: www/insights.* as static files, image URLs as a 1x1 PNG, and
 * the analytics endpoints. `options.failTrends` makes trends fail with a 500 problem.
 * Resolves to `{ url, requests, close }`; `requests` lists each API request's path and key.
 */
async function startMockApi(options = {}) {
  const requests = [];
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    if (PAGE_FILES.has(url.pathname)) {
      response.writeHead(200, { 'content-type': PAGE_FILES.get(url.pathname) });
      response.end(await readFile(join(WWW_DIR, url.pathname)));
      return;
    }
    if (url.pathname.startsWith('/img-get2/')) {
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(PIXEL_PNG);
      return;
    }
    if (!url.pathname.startsWith('/v1/')) {
      problem(response, 404, 'route_not_found', `no route ${url.pathname}`);
      return;
    }

    const key = (request.headers.authorization ?? '').replace(/^Bearer /i, '');
    requests.push({ method: request.method, path: url.pathname, query: Object.fromEntries(url.searchParams), key });
    if (key !== MOCK_READ_KEY && key !== MOCK_ADMIN_KEY) {
      problem(response, 401, 'unauthorized', 'the API key is missing or wrong');
      return;
    }

    const query = url.searchParams;
    switch (`${request.method} ${url.pathname}`) {
      case 'GET /v1/analytics/engagement': {
        const group = query.get('group');
        const from = query.get('from');
        const to = query.get('to');
        const rows = { day: mockDayRows(from, to), gallery: MOCK_GALLERIES, keyword: MOCK_KEYWORDS }[group];
        if (!rows) {
          problem(response, 400, 'invalid_parameter', `the mock has no group ${group}`);
          return;
        }
        if (query.get('format') === 'csv') {
          const lines = rows.map((row) => [row.key, row.label, row.impressions, row.clicks].join(','));
          response.writeHead(200, { 'content-type': 'text/csv' });
          response.end(['key,label,impressions,clicks', ...lines].join('\n'));
          return;
        }
        const days = mockDayRows(from, to);
        const impressions = days.reduce((sum, row) => sum + row.impressions, 0);
        const clicks = days.reduce((sum, row) => sum + row.clicks, 0);
        json(response, { from, to, group, rows, totals: countsRow(null, null, impressions, clicks) });
        return;
      }
      case 'GET /v1/analytics/segments':
        json(response, MOCK_SEGMENTS);
        return;
      case 'GET /v1/analytics/trends':
        if (options.failTrends) {
          problem(response, 500, 'internal_error', 'the trends query failed');
          return;
        }
        json(response, MOCK_TRENDS);
        return;
      case 'GET /v1/analytics/experiments':
        json(response, MOCK_EXPERIMENTS);
        return;
      case 'POST /v1/admin/analytics/refresh':
        if (key !== MOCK_ADMIN_KEY) {
          problem(response, 403, 'forbidden', 'this action needs an admin key; the key sent is read-only');
          return;
        }
        json(response, { days: ['2026-12-03', '2026-12-04'], events: 120 });
        return;
      default:
        problem(response, 404, 'route_not_found', `no route ${url.pathname}`);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    // Chromium may hold a preconnected socket that never sends a request. server.close() alone
    // waits for Node's header timeout to drop it, so the sockets are closed here.
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Page helpers

/** Fulfils every image request of `page` with a 1x1 PNG. */
async function serveImagesLocally(page) {
  await page.route('**/img-get2/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL_PNG }));
}

/** Opens the page, signs in with `key` and waits until the CTR panel has drawn or failed. */
async function signIn(page, pageUrl, key) {
  await page.goto(pageUrl);
  await page.locator('#api-key').waitFor({ timeout: PAGE_TIMEOUT_MS });
  await page.fill('#api-key', key);
  await page.click('#key-form button[type="submit"]');
}

async function waitForCharts(page) {
  await page.locator('[data-chart="ctr-line"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
  await page.waitForFunction(() => document.querySelector('#dashboard')?.getAttribute('aria-busy') === 'false', null, {
    timeout: PAGE_TIMEOUT_MS,
  });
}

/** Reads the rows of the table named `name` as arrays of cell texts. */
function tableRows(page, name) {
  return page
    .locator(`table[data-table="${name}"] tbody tr`)
    .evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent.trim())));
}

const formatNumber = (value) => new Intl.NumberFormat('en').format(value);
const formatPercent = (value) =>
  new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);

/** Saves full-page screenshots at each viewport when LOCI_SCREENSHOT_DIR is set. */
async function screenshots(page, stem) {
  if (!SCREENSHOT_DIR) {
    return;
  }
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    // Let the ResizeObserver redraw the charts at the new width.
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${stem}-${viewport.width}.png`), fullPage: true });
  }
}

/** Checks the drawn charts: a line path with a point per day, and bars in every bar chart. */
async function assertChartsDrawn(page, { days, bars }) {
  const line = page.locator('[data-chart="ctr-line"] path.ctr-line');
  assert.equal(await line.count(), 1, 'one CTR line');
  const d = await line.getAttribute('d');
  assert.equal((d.match(/[ML]/g) ?? []).length, days, `the CTR line has ${days} points: ${d.slice(0, 80)}`);
  assert.equal(await page.locator('[data-chart="ctr-line"] circle.ctr-point').count(), days, 'CTR points');

  for (const [chart, expected] of Object.entries(bars)) {
    const widths = await page
      .locator(`[data-chart="${chart}"] rect.bar`)
      .evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('width'))));
    assert.equal(widths.length, expected, `bars in the ${chart} chart`);
    assert.ok(widths.every((width) => width > 0), `every bar of ${chart} has a width: ${widths}`);
  }
}

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

// ---------------------------------------------------------------------------------------------

describe('insights page against a mock API', () => {
  let mock;

  before(async () => {
    mock = await startMockApi();
  });

  after(async () => {
    await mock?.close();
  });

  test('draws charts and tables from the API', async () => {
    const page = await browser.context.newPage();
    const output = recordPageOutput(page);
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);

      await assertChartsDrawn(page, { days: 28, bars: { galleries: 3, keywords: 4, segments: 3, trends: 4 } });
      assert.equal(await page.locator('[data-chart="experiment"] circle.estimate').count(), 2, 'one estimate per variant');
      assert.equal(await page.locator('[data-chart="experiment"] line.whisker').count(), 6, 'three lines per whisker');

      const day = mock.requests.find((request) => request.query.group === 'day');
      assert.ok(day, 'the page requested engagement per day');
      const expectedDays = mockDayRows(day.query.from, day.query.to);
      assert.equal(expectedDays.length, 28, 'the default range is 28 days');
      const dayRows = await tableRows(page, 'day');
      assert.deepEqual(
        dayRows.map((row) => row.slice(0, 4)),
        expectedDays.map((row) => [row.key, formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr)]),
      );

      const galleryRows = await tableRows(page, 'galleries');
      assert.deepEqual(
        galleryRows,
        MOCK_GALLERIES.map((row) => [row.label, formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr)]),
      );
      const keywordRows = await tableRows(page, 'keywords');
      assert.deepEqual(keywordRows.map((row) => row[0]), MOCK_KEYWORDS.map((row) => row.key));

      const segmentRows = await tableRows(page, 'segments');
      assert.deepEqual(segmentRows.map((row) => row.slice(0, 2)), [['engaged', '42'], ['new', '118'], ['other', '9']]);
      assert.equal(await page.locator('[data-segment="engaged"] .chips li').count(), 2, 'top keywords of engaged');

      const trendRows = await tableRows(page, 'trends');
      assert.deepEqual(trendRows, [['river', '15', '40', '2.6×'], ['sea', '2', '12', '4.3×']]);
      assert.equal(await page.locator('[data-theme="river"] .thumbs img').count(), 2, 'thumbnails of river');
      assert.equal(await page.locator('[data-theme="river"] .thumbs img').first().getAttribute('alt'), 'Snow Storm');

      const variantRows = await tableRows(page, 'experiment-related-blend');
      assert.deepEqual(variantRows[0].slice(-1), ['control']);
      assert.deepEqual(variantRows[1], [
        'more-co-views',
        '5,100',
        '310',
        '6.1%',
        '5.5% – 6.8%',
        '+1.1 pt (+0.2 to +2.0), significant at 95 %',
      ]);

      assert.equal(await page.locator('[data-total="Clicks"]').textContent(), formatNumber(expectedDays.reduce((sum, row) => sum + row.clicks, 0)));
      assert.ok(mock.requests.every((request) => request.key === MOCK_READ_KEY), 'every request carries the key');
      assert.equal(await page.locator('#message').isHidden(), true, 'no message box');
      assert.deepEqual(output.pageErrors.map(String), [], 'uncaught errors on the page');

      await screenshots(page, 'insights-mock');
    } finally {
      await page.close();
    }
  });

  test('range picker requests 7 days', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);
      const before = mock.requests.length;
      await page.check('input[name="range"][value="7"]');
      await page.waitForFunction(() => document.querySelectorAll('[data-chart="ctr-line"] circle.ctr-point').length === 7, null, {
        timeout: PAGE_TIMEOUT_MS,
      });
      const day = mock.requests.slice(before).find((request) => request.query.group === 'day');
      assert.equal(Date.parse(day.query.to) - Date.parse(day.query.from), 6 * 86_400_000, `range ${day.query.from} to ${day.query.to}`);
      assert.equal((await tableRows(page, 'day')).length, 7);
    } finally {
      await page.close();
    }
  });

  test('wrong key returns to the key form', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, 'not-a-key');
      await page.locator('#key-error').waitFor({ state: 'visible', timeout: PAGE_TIMEOUT_MS });
      assert.match(await page.locator('#key-error').textContent(), /not accepted/);
      assert.equal(await page.locator('#key-section').isVisible(), true, 'key form visible');
      assert.equal(await page.locator('#dashboard').isHidden(), true, 'dashboard hidden');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('loci-insights-key')), null, 'key forgotten');
      await screenshots(page, 'insights-wrong-key');
    } finally {
      await page.close();
    }
  });

  test('CSV download sends the key', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: PAGE_TIMEOUT_MS }),
        page.click('[data-downloads="gallery"] button'),
      ]);
      assert.match(download.suggestedFilename(), /^engagement-gallery-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
      const text = await readFile(await download.path(), 'utf8');
      assert.equal(text.split('\n').length, MOCK_GALLERIES.length + 1, text);
      assert.ok(text.includes('G0000art00001811,Joseph Mallord William Turner,1200,96'), text);

      const exportRequest = mock.requests.find((request) => request.query.format === 'csv');
      assert.equal(exportRequest.key, MOCK_READ_KEY, 'the export request carries the key');
      assert.equal(exportRequest.query.group, 'gallery');
    } finally {
      await page.close();
    }
  });

  test('read-only key cannot refresh', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);
      await page.click('#refresh-button');
      await page.locator('#message.is-error').waitFor({ timeout: PAGE_TIMEOUT_MS });
      assert.match(await page.locator('#message').textContent(), /needs an admin key/);
      assert.equal(await page.locator('[data-chart="ctr-line"]').count(), 1, 'charts stay');
    } finally {
      await page.close();
    }
  });

  test('admin key refreshes and reloads', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_ADMIN_KEY);
      await waitForCharts(page);
      await page.click('#refresh-button');
      await page.locator('#message', { hasText: 'Aggregates refreshed' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
      assert.match(await page.locator('#message').textContent(), /2 days recomputed from 120 events/);
    } finally {
      await page.close();
    }
  });

  test('sign-out clears the stored key', async () => {
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('loci-insights-key')), MOCK_READ_KEY);
      await page.click('#sign-out-button');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('loci-insights-key')), null);
      assert.equal(await page.locator('#key-section').isVisible(), true, 'key form visible');
      assert.equal(await page.locator('#key-error').isHidden(), true, 'no error after a plain sign-out');
    } finally {
      await page.close();
    }
  });
});

describe('insights page with a failing report', () => {
  test('shows the problem in its section', async () => {
    const mock = await startMockApi({ failTrends: true });
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${mock.url}/insights.html`, MOCK_READ_KEY);
      await waitForCharts(page);
      const box = page.locator('[data-panel="trends"] .panel-error');
      await box.waitFor({ timeout: PAGE_TIMEOUT_MS });
      assert.match(await box.textContent(), /the trends query failed \(internal_error, HTTP 500\)/);
      assert.match(await page.locator('#message').textContent(), /1 of 6 reports could not be loaded/);
      assert.equal(await page.locator('[data-chart="galleries"] rect.bar').count(), 3, 'other panels still draw');
    } finally {
      await page.close();
      await mock.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('simulated traffic generator', () => {
  test('seeded PRNG repeats its sequence', () => {
    const draws = (seed) => {
      const random = new Random(seed).stream(3);
      return Array.from({ length: 5 }, () => random.next());
    };
    assert.deepEqual(draws(7), draws(7));
    assert.notDeepEqual(draws(7), draws(8));
    assert.ok(draws(7).every((value) => value >= 0 && value < 1));
  });
});

/**
 * Reads the page's day and gallery tables and the API's responses for the same range. Resolves
 * to `{ agree, days, galleries }`, where each part has `page`, `expected` (from the API) and
 * the raw `api` response.
 */
async function readPageAndApi(page) {
  const range = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('table[data-table="day"] tbody tr th')];
    return { from: rows[0]?.textContent, to: rows.at(-1)?.textContent };
  });
  const query = `from=${range.from}&to=${range.to}`;
  const dayApi = await worker(`/v1/analytics/engagement?${query}&group=day`, { headers: adminHeaders() });
  const galleryApi = await worker(`/v1/analytics/engagement?${query}&group=gallery&sort=clicks&limit=10`, {
    headers: adminHeaders(),
  });

  const days = {
    api: dayApi,
    page: (await tableRows(page, 'day')).map((row) => row.slice(0, 4)),
    expected: (dayApi.json?.rows ?? []).map((row) => [row.key, formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr)]),
  };
  const galleries = {
    api: galleryApi,
    page: (await tableRows(page, 'galleries')).map((row) => row.slice(1)),
    expected: (galleryApi.json?.rows ?? []).map((row) => [formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr)]),
  };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  return { agree: same(days.page, days.expected) && same(galleries.page, galleries.expected), days, galleries };
}

describe('insights page against the worker', () => {
  let summary;
  let analyticsAvailable = true;

  before(async () => {
    // Seed contexts: the stand-in's first media items (the test catalog is a prefix of the
    // Tate collection, so the demo site's own ids are not in it).
    const contexts = (await standinMedia(12)).map((item) => `asset:${item.id}`);
    summary = await simulate({ baseUrl: baseUrl(), seed: 11, visitors: 60, days: 14, contexts });

    const refresh = await worker('/v1/admin/analytics/refresh', { method: 'POST', headers: adminHeaders() });
    if (refresh.status === 404 && refresh.json?.code === 'route_not_found') {
      analyticsAvailable = false;
      return;
    }
    assert.equal(refresh.status, 200, `POST /v1/admin/analytics/refresh: ${refresh.text.slice(0, 300)}`);
  });

  test('simulator posts events to the worker', () => {
    assert.equal(summary.simulated, true);
    assert.equal(summary.visitors, 60);
    assert.ok(summary.requests.recommendations >= summary.page_views, `requests: ${JSON.stringify(summary.requests)}`);
    assert.ok(summary.events.impression > 0, `events: ${JSON.stringify(summary.events)}`);
    assert.ok(summary.events.click > 0, `events: ${JSON.stringify(summary.events)}`);
    assert.ok(summary.events.dwell > 0, `events: ${JSON.stringify(summary.events)}`);
    assert.ok(summary.requests.event_batches >= Math.ceil(summary.events.total / EVENTS_PER_BATCH), 'batches of at most 50');
  });

  test('page matches the analytics API', async (t) => {
    if (!analyticsAvailable) {
      t.skip('this worker has no /v1/admin/analytics/refresh yet');
      return;
    }
    const page = await browser.context.newPage();
    const output = recordPageOutput(page);
    await serveImagesLocally(page);
    try {
      await signIn(page, `${baseUrl()}/insights.html`, adminKey());
      await waitForCharts(page);

      // Other test files may refresh the aggregates while this one reads them, so the page is
      // reloaded and compared again (up to three times) until page and API agree.
      let snapshot;
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        snapshot = await readPageAndApi(page);
        if (snapshot.agree) {
          break;
        }
        await page.reload();
        await waitForCharts(page);
      }
      const { days, galleries } = snapshot;
      assert.equal(days.api.status, 200, days.api.text.slice(0, 300));
      assert.equal(days.api.json.rows.length, 28, 'one row per day of the default range');
      assert.ok(days.api.json.totals.clicks > 0, `totals: ${JSON.stringify(days.api.json.totals)}`);
      assert.deepEqual(days.page, days.expected, 'day table against GET /v1/analytics/engagement?group=day');

      assert.equal(galleries.api.status, 200, galleries.api.text.slice(0, 300));
      assert.ok(galleries.api.json.rows.length > 0, 'the simulated clicks reached galleries');
      assert.deepEqual(galleries.page, galleries.expected, 'gallery table against group=gallery');
      await assertChartsDrawn(page, { days: 28, bars: { galleries: galleries.api.json.rows.length } });
      assert.ok((await page.locator('[data-chart="keywords"] rect.bar').count()) > 0, 'keyword bars');
      assert.ok((await page.locator('[data-chart="segments"] rect.bar').count()) > 0, 'segment bars');
      assert.equal(await page.locator('.panel-error').count(), 0, `panel errors: ${await page.locator('.panel-error').allTextContents()}`);
      assert.deepEqual(output.pageErrors.map(String), [], 'uncaught errors on the page');

      await screenshots(page, 'insights-worker');
    } finally {
      await page.close();
    }
  });

  test('wrong key shows the key form', async (t) => {
    if (!analyticsAvailable) {
      t.skip('this worker has no analytics endpoints yet');
      return;
    }
    const page = await browser.context.newPage();
    try {
      await signIn(page, `${baseUrl()}/insights.html`, 'wrong-key-for-this-worker');
      await page.locator('#key-error').waitFor({ state: 'visible', timeout: PAGE_TIMEOUT_MS });
      assert.match(await page.locator('#key-error').textContent(), /not accepted/);
      assert.equal(await page.locator('#dashboard').isHidden(), true, 'dashboard hidden');
    } finally {
      await page.close();
    }
  });
});
