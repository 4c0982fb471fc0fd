// HTTP tests of the running worker (wrangler dev) after a completed sync from the stand-in.
// They pin the API's contract: status codes, JSON shapes and the stable problem codes.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  adminHeaders,
  findAssetContext,
  recommendationsPath,
  STANDIN_ORG_ID,
  standinGet,
  webRightsViolations,
  worker,
} from '../support/api.mjs';

/** A media id of valid shape that the stand-in's library does not contain. */
const UNKNOWN_MEDIA_ID = 'I0000NoSuchAsset';

/** Checks that a response is a JSON problem with the given status and code. */
function assertProblem(answer, status, code) {
  assert.equal(answer.status, status, `HTTP status (body: ${answer.text.slice(0, 300)})`);
  assert.match(answer.headers.get('content-type') ?? '', /json/, 'content-type');
  assert.ok(answer.json, `body is JSON: ${answer.text.slice(0, 300)}`);
  assert.equal(answer.json.status, status, 'problem status');
  assert.equal(answer.json.code, code, 'problem code');
  assert.equal(typeof answer.json.detail, 'string', 'problem detail type');
  assert.ok(answer.json.detail.length >= 10, `detail is a sentence: ${answer.json.detail}`);
}

let context;

before(async () => {
  context = await findAssetContext(1);
});

describe('GET /v1/recommendations', () => {
  test('asset context returns ranked assets', async () => {
    const answer = await worker(
      recommendationsPath({ context: `asset:${context.id}`, channel: 'web', count: '8' }),
    );
    assert.equal(answer.status, 200, answer.text.slice(0, 300));
    const body = answer.json;

    assert.equal(typeof body.request_id, 'string');
    assert.ok(body.request_id.length > 0, 'request_id is empty');
    assert.ok(Array.isArray(body.assets), 'assets is an array');
    assert.ok(body.assets.length >= 1, 'no assets');
    assert.ok(body.assets.length <= 8, `${body.assets.length} assets for count=8`);
    assert.ok(Array.isArray(body.galleries), 'galleries is an array');

    for (const asset of body.assets) {
      assert.match(asset.id, /^I0000[A-Za-z0-9._]{11}$/, `asset id ${asset.id}`);
      assert.notEqual(asset.id, context.id, 'the context asset recommends itself');
      assert.equal(typeof asset.title, 'string', `title of ${asset.id}`);
      assert.equal(typeof asset.image_url, 'string', `image_url of ${asset.id}`);
      assert.ok(asset.image_url.length > 0, `image_url of ${asset.id} is empty`);
      assert.equal(typeof asset.link, 'string', `link of ${asset.id}`);
      assert.ok(asset.link.length > 0, `link of ${asset.id} is empty`);
      assert.equal(typeof asset.reason?.code, 'string', `reason.code of ${asset.id}`);
      assert.equal(typeof asset.reason?.text, 'string', `reason.text of ${asset.id}`);
    }

    const ids = body.assets.map((asset) => asset.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate assets: ${ids}`);
  });

  test('recommended assets are cleared for web', async () => {
    const violations = [];
    for (const asset of context.response.assets) {
      for (const reason of await webRightsViolations(asset.id)) {
        violations.push(`${asset.id}: ${reason}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  test('next_cursor continues the list without repeats', async () => {
    const long = await findAssetContext(8);
    const path = (extra) => recommendationsPath({ context: `asset:${long.id}`, count: '4', ...extra });
    const first = await worker(path({}));
    assert.equal(first.status, 200, first.text.slice(0, 300));
    assert.equal(typeof first.json.next_cursor, 'number', first.text.slice(0, 300));
    const second = await worker(path({ cursor: String(first.json.next_cursor) }));
    const both = await worker(recommendationsPath({ context: `asset:${long.id}`, count: '8' }));
    assert.equal(second.status, 200, second.text.slice(0, 300));

    const ids = (answer) => answer.json.assets.map((asset) => asset.id);
    assert.deepEqual([...ids(first), ...ids(second)], ids(both));
  });

  test('invalid cursor is 400 naming the parameter', async () => {
    const answer = await worker(recommendationsPath({ context: `asset:${context.id}`, cursor: 'next' }));
    assertProblem(answer, 400, 'invalid_parameter');
    assert.equal(answer.json.parameter, 'cursor');
  });

  test('unknown context is 404 naming the id', async () => {
    const answer = await worker(recommendationsPath({ context: `asset:${UNKNOWN_MEDIA_ID}` }));
    assertProblem(answer, 404, 'context_not_found');
    assert.ok(answer.json.detail.includes(UNKNOWN_MEDIA_ID), `detail names the id: ${answer.json.detail}`);
  });

  test('non-numeric count is 400', async () => {
    const answer = await worker(recommendationsPath({ context: `asset:${context.id}`, count: 'abc' }));
    assertProblem(answer, 400, 'invalid_parameter');
    assert.equal(answer.json.parameter, 'count');
  });

  test('malformed context is 400', async () => {
    const answer = await worker(recommendationsPath({ context: 'foo' }));
    assertProblem(answer, 400, 'invalid_parameter');
    assert.equal(answer.json.parameter, 'context');
  });

  test('missing context is 400', async () => {
    const answer = await worker('/v1/recommendations?count=8');
    assertProblem(answer, 400, 'missing_parameter');
    assert.equal(answer.json.parameter, 'context');
  });
});

describe('POST /v1/events', () => {
  test('valid batch is accepted and stored', async () => {
    const [first, second] = context.response.assets;
    const requestId = context.response.request_id;
    const now = Date.now();
    const event = (type, asset, position) => ({
      type,
      request_id: requestId,
      asset_id: asset.id,
      position,
      context: `asset:${context.id}`,
      // An event matches its response only under the response's placement.
      placement: context.response.placement,
      occurred_at: now,
    });
    const events = [event('impression', first, 0), event('click', first, 0)];
    if (second) {
      events.push(event('impression', second, 1));
    }

    const answer = await worker('/v1/events', { method: 'POST', body: { events } });
    assert.equal(answer.status, 202, answer.text.slice(0, 300));
    assert.deepEqual(answer.json, { accepted: events.length, unverified_clicks: 0 });

    const stored = await worker(`/v1/admin/events?request_id=${encodeURIComponent(requestId)}`, {
      headers: adminHeaders(),
    });
    assert.equal(stored.status, 200, stored.text.slice(0, 300));
    const clicks = stored.json.events.filter((row) => row.kind === 'click' && row.asset_id === first.id);
    assert.ok(clicks.length >= 1, `no stored click on ${first.id}: ${stored.text.slice(0, 500)}`);
  });

  test('click on an asset the response did not serve is stored unverified', async () => {
    const requestId = context.response.request_id;
    // A response never serves its own context asset.
    const other = { id: context.id };
    const click = {
      type: 'click',
      request_id: requestId,
      asset_id: other.id,
      context: `asset:${context.id}`,
      placement: 'article-related',
      occurred_at: Date.now(),
    };

    const answer = await worker('/v1/events', { method: 'POST', body: { events: [click] } });
    assert.equal(answer.status, 202, answer.text.slice(0, 300));
    assert.deepEqual(answer.json, { accepted: 1, unverified_clicks: 1 });

    const stored = await worker(`/v1/admin/events?request_id=${encodeURIComponent(requestId)}`, {
      headers: adminHeaders(),
    });
    const row = stored.json.events.find((event) => event.kind === 'click' && event.asset_id === other.id);
    assert.equal(row?.verified, false, stored.text.slice(0, 500));
  });

  test('click on an asset claimed for a page view is verified', async () => {
    const page = `api-test-${Date.now()}`;
    const shown = await worker(
      recommendationsPath({ context: `asset:${context.id}`, count: '4', page, placement: 'article-related' }),
    );
    assert.equal(shown.status, 200, shown.text.slice(0, 300));
    const [first] = shown.json.assets;
    assert.ok(first, `no assets: ${shown.text.slice(0, 300)}`);
    const click = {
      type: 'click',
      request_id: shown.json.request_id,
      asset_id: first.id,
      context: `asset:${context.id}`,
      placement: 'article-related',
      page_id: page,
      occurred_at: Date.now(),
    };

    const answer = await worker('/v1/events', { method: 'POST', body: { events: [click] } });
    assert.equal(answer.status, 202, answer.text.slice(0, 300));
    assert.deepEqual(answer.json, { accepted: 1, unverified_clicks: 0 });
  });

  test('malformed JSON body is 400', async () => {
    const answer = await worker('/v1/events', { method: 'POST', body: '{"events": [' });
    assertProblem(answer, 400, 'invalid_body');
  });
});

describe('admin endpoints', () => {
  const adminRequests = [
    ['GET', '/v1/admin/sync'],
    ['POST', '/v1/admin/sync'],
    ['GET', '/v1/admin/events?request_id=anything'],
  ];

  for (const [method, path] of adminRequests) {
    test(`${method} ${path} without key is 401`, async () => {
      assertProblem(await worker(path, { method }), 401, 'unauthorized');
    });

    test(`${method} ${path} with wrong key is 401`, async () => {
      const answer = await worker(path, { method, headers: { authorization: 'Bearer not-the-key' } });
      assertProblem(answer, 401, 'unauthorized');
    });
  }

  test('sync status counts match the stand-in', async () => {
    const media = await standinGet(`/media?org_id=${STANDIN_ORG_ID}&per_page=1`);
    const total = media.meta?.paging?.total;
    assert.equal(typeof total, 'number', `stand-in meta.paging.total: ${JSON.stringify(media.meta)}`);

    const answer = await worker('/v1/admin/sync', { headers: adminHeaders() });
    assert.equal(answer.status, 200, answer.text.slice(0, 300));
    const latest = answer.json.latest;
    assert.ok(latest, `no latest sync run: ${answer.text.slice(0, 300)}`);
    assert.equal(latest.state, 'succeeded');
    assert.equal(latest.counts.assets, total, 'assets synced');
    assert.equal(latest.total_assets, total, 'total_assets');
  });
});
