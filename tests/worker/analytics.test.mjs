// HTTP tests of the analytics API in workerd: a small recorded event stream whose figures are
// computed by hand, aggregated with POST /v1/admin/analytics/refresh, then read back as JSON,
// CSV and NDJSON, with roles, segment exports, trends and suggestions.
//
// Other test files write events to the same worker at the same time, so this one uses its own
// placement, visitor ids and days (60 and 59 days ago) and filters on them.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';

import { adminHeaders, findAssetContext, requiredEnv, webRightsViolations, worker } from '../support/api.mjs';

const DAY_MS = 86_400_000;
const run = randomUUID().slice(0, 8);
const placement = `analytics-test-${run}`;
const alice = `analytics-${run}-alice`;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const firstDay = today - 60 * DAY_MS;
const secondDay = today - 59 * DAY_MS;
const isoDay = (time) => new Date(time).toISOString().slice(0, 10);

const readHeaders = () => ({ authorization: `Bearer ${requiredEnv('READ_KEY')}` });

let assets;
const views = {};

/** Requests recommendations as a widget on page `page` would; events about them carry its ids. */
async function view(context, page, visitor) {
  const parameters = { context, placement, page: `${run}-${page}`, count: '12', ...(visitor ? { visitor } : {}) };
  const answer = await worker(`/v1/recommendations?${new URLSearchParams(parameters)}`);
  assert.equal(answer.status, 200, answer.text);
  return { context, page: parameters.page, visitor, requestId: answer.json.request_id, assets: answer.json.assets.map((a) => a.id) };
}

function event(type, asset, time, { page, dwell } = {}) {
  const seen = views[page];
  return {
    type,
    request_id: seen.requestId,
    asset_id: asset,
    context: seen.context,
    placement,
    occurred_at: time + 10 * 3_600_000,
    position: 0,
    page_id: seen.page,
    ...(seen.visitor ? { visitor_id: seen.visitor } : {}),
    ...(dwell ? { dwell_ms: dwell } : {}),
  };
}

before(async () => {
  const context = `asset:${(await findAssetContext(3)).id}`;
  views.p1 = await view(context, 'p1', alice);
  views.p2 = await view(context, 'p2', alice);
  views.p3 = await view(context, 'p3');
  assets = views.p1.assets.slice(0, 3);
  for (const other of [views.p2, views.p3]) {
    assert.ok(assets.every((id) => other.assets.includes(id)), 'every page view served the three assets');
  }
  const [a, b, c] = assets;
  // alice has 3 impressions, 2 clicks and one dwell of 3 s over two days. An anonymous page
  // view has 2 impressions and 1 click on the first day.
  const events = [
    event('impression', a, firstDay, { page: 'p1' }),
    event('impression', b, firstDay, { page: 'p1' }),
    event('click', a, firstDay, { page: 'p1' }),
    event('dwell', a, firstDay, { page: 'p1', dwell: 3000 }),
    event('impression', c, secondDay, { page: 'p2' }),
    event('click', c, secondDay, { page: 'p2' }),
    event('impression', a, firstDay, { page: 'p3' }),
    event('impression', c, firstDay, { page: 'p3' }),
    event('click', c, firstDay, { page: 'p3' }),
  ];
  const stored = await worker('/v1/events', { method: 'POST', body: { events } });
  assert.equal(stored.status, 202, stored.text);

  const refreshed = await worker('/v1/admin/analytics/refresh', { method: 'POST', headers: adminHeaders() });
  assert.equal(refreshed.status, 200, refreshed.text);
  assert.ok(refreshed.json.days.includes(isoDay(firstDay)), refreshed.text);
});

describe('GET /v1/analytics/engagement', () => {
  const range = `from=${isoDay(firstDay - DAY_MS)}&to=${isoDay(secondDay)}&placement=${placement}`;

  test('daily figures match the recorded stream', async () => {
    const answer = await worker(`/v1/analytics/engagement?${range}&group=day`, { headers: readHeaders() });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json.totals, { impressions: 5, clicks: 3, ctr: 0.6, dwell_events: 1, avg_dwell_ms: 3000 });
    assert.deepEqual(
      answer.json.rows.map((row) => [row.key, row.impressions, row.clicks]),
      [
        [isoDay(firstDay - DAY_MS), 0, 0],
        [isoDay(firstDay), 4, 2],
        [isoDay(secondDay), 1, 1],
      ],
    );
  });

  test('asset figures and labels', async () => {
    const answer = await worker(`/v1/analytics/engagement?${range}&group=asset`, { headers: readHeaders() });
    assert.equal(answer.status, 200, answer.text);
    const [a, b, c] = assets;
    const byKey = Object.fromEntries(answer.json.rows.map((row) => [row.key, [row.impressions, row.clicks]]));
    assert.deepEqual(byKey, { [a]: [2, 1], [b]: [1, 0], [c]: [2, 2] });
    assert.equal(answer.json.rows[0].key, c, 'sorted by clicks');
    assert.notEqual(answer.json.rows[0].label, c, 'labelled with the title');
  });

  test('CSV and NDJSON exports carry the rows', async () => {
    const csv = await worker(`/v1/analytics/engagement?${range}&group=day&format=csv`, { headers: readHeaders() });
    assert.equal(csv.status, 200, csv.text);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    assert.match(csv.headers.get('content-disposition'), /attachment; filename="engagement-day-/);
    const lines = csv.text.trim().split('\n');
    assert.equal(lines[0], 'key,label,impressions,clicks,ctr,dwell_events,avg_dwell_ms');
    assert.equal(lines[2], `${isoDay(firstDay)},${isoDay(firstDay)},4,2,0.5,1,3000`);

    const ndjson = await worker(`/v1/analytics/engagement?${range}&group=segment&format=ndjson`, {
      headers: readHeaders(),
    });
    assert.equal(ndjson.status, 200, ndjson.text);
    const rows = ndjson.text.trim().split('\n').map((line) => JSON.parse(line));
    const anonymous = rows.find((row) => row.key === 'anonymous');
    assert.deepEqual([anonymous.impressions, anonymous.clicks], [2, 1]);
  });
});

describe('segments, events and roles', () => {
  test('events export attributes clicks and the members export lists the visitor', async () => {
    const day = isoDay(secondDay);
    const answer = await worker(`/v1/analytics/events?from=${day}&to=${day}&kind=click&limit=1000`, {
      headers: readHeaders(),
    });
    assert.equal(answer.status, 200, answer.text);
    const click = answer.json.events.find((row) => row.visitor_id === alice);
    assert.ok(click, `alice's click on ${day} is exported`);
    assert.equal(click.request_id, views.p2.requestId);
    assert.equal(click.verified, true);
    assert.equal(click.placement, placement);

    const members = await worker(
      `/v1/analytics/segments/${click.segment}/members?format=csv&after=analytics-${run}`,
      { headers: readHeaders() },
    );
    assert.equal(members.status, 200, members.text);
    assert.ok(members.text.split('\n')[1].startsWith(`${alice},${click.segment},2,3,2,`), members.text);

    const segments = await worker('/v1/analytics/segments', { headers: readHeaders() });
    assert.equal(segments.status, 200, segments.text);
    const segment = segments.json.segments.find((entry) => entry.id === click.segment);
    assert.ok(segment.size >= 1, JSON.stringify(segment));
  });

  test('roles: reads need a key, changes need the admin key', async () => {
    assert.equal((await worker('/v1/analytics/engagement')).status, 401);
    const refresh = await worker('/v1/admin/analytics/refresh', { method: 'POST', headers: readHeaders() });
    assert.equal(refresh.status, 403, refresh.text);
    assert.equal(refresh.json.code, 'forbidden');
  });

  test('bad queries get problems that say what is accepted', async () => {
    const cases = [
      ['/v1/analytics/engagement?from=2026-12-05&to=2026-12-01', 400, 'invalid_parameter', /swap them/],
      ['/v1/analytics/engagement?group=colour', 400, 'invalid_parameter', /day, asset, gallery/],
      ['/v1/analytics/engagement?segment=vip', 404, 'segment_not_found', /use one of/],
      ['/v1/analytics/events?format=csv&limit=20000', 413, 'export_too_large', /after/],
      ['/v1/suggestions?channel=web', 400, 'missing_parameter', /topic/],
    ];
    for (const [path, status, code, detail] of cases) {
      const answer = await worker(path, { headers: readHeaders() });
      assert.equal(answer.status, status, `${path}: ${answer.text}`);
      assert.equal(answer.json.code, code, path);
      assert.match(answer.json.detail, detail, path);
    }
  });
});

describe('proposals for editors', () => {
  test('suggestions and trends propose only assets cleared for the web', async () => {
    const card = await worker(`/v1/assets/${assets[0]}`);
    const topic = card.json.keywords[0] ?? card.json.title;
    const suggestions = await worker(`/v1/suggestions?topic=${encodeURIComponent(topic)}&channel=web`, {
      headers: readHeaders(),
    });
    assert.equal(suggestions.status, 200, suggestions.text);
    assert.ok(suggestions.json.assets.length > 0, suggestions.text);

    const trends = await worker('/v1/analytics/trends?window=14&by=keyword', { headers: readHeaders() });
    assert.equal(trends.status, 200, trends.text);
    const proposed = [
      ...suggestions.json.assets.map((asset) => asset.id),
      ...trends.json.themes.flatMap((theme) => theme.assets.map((asset) => asset.id)),
    ];
    for (const id of proposed) {
      assert.deepEqual(await webRightsViolations(id), [], `${id} is cleared for the web`);
    }
  });
});
