// SIMULATED browsing sessions for loci-photoshelter. Nothing this file sends comes from a real
// visitor: it is synthetic traffic that gives the analytics something to count in tests and
// demos.
//
// The generator drives the worker's public API only. It discovers contexts through
// GET /v1/recommendations (starting from ids it is given), reads keywords through
// GET /v1/assets/{id}, then plays seeded visitors who request recommendations and report what
// they saw, clicked and how long they stayed, through POST /v1/events with the response's
// request_id. Visitor ids and page-view ids start with `sim-`, so stored events stay
// recognisable as simulated.
//
// The model, in short:
// - Visitors have 2 or 3 interest keywords. 70 % visit on one day, 22 % on 2 or 3 days and
//   8 % on 4 to 8 days, and a session views 1 to 4 pages.
// - Sessions follow a weekly rhythm (fewer at weekends) over the past `days` UTC days.
// - A click is less likely further down the list, and more likely when the asset's keywords
//   match the visitor's interests. A dwell event follows most clicks.
// - One or two theme keywords rise over the second half of the period. The visitors who share
//   a theme (20 %) come more often and click it more, so trend reports have a rise to find.
//
// Randomness comes from a seeded PRNG with one stream per visitor, so a seed always yields the
// same visitors and schedules. The events also depend on the worker's responses, which change
// as clicks update co-views, so two runs match exactly only against the same catalog and
// event history.
//
// Library: `await simulate({ baseUrl, seed, visitors, days, ... })` resolves to the summary.
// CLI:     node tests/support/simulate.mjs --base-url http://127.0.0.1:8787 --visitors 300 --days 28 --seed 7

import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Largest event batch the simulator sends (the worker accepts up to 500). */
export const EVENTS_PER_BATCH = 50;

/** Time one HTTP request may take, in milliseconds. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Contexts linked from the demo site's front page (www/index.html), all in the full Tate
 * library that `./x demo` syncs. Of the first 4,000 artworks that `./x test` serves, only the
 * Dante gallery matches, so tests pass their own `contexts`.
 */
export const DEMO_CONTEXTS = [
  'asset:I000000000N00530',
  'asset:I000000000N05058',
  'asset:I000000000N01506',
  'asset:I000000000N00310',
  'asset:I000000000N02426',
  'gallery:G0000art00001811',
  'gallery:G0000grp00065478',
  'gallery:G0000art00001648',
];

/** Relative traffic per UTC weekday, Sunday first. */
const WEEKDAY_WEIGHTS = [0.55, 1.0, 1.1, 1.05, 1.0, 0.85, 0.6];

/** Relative traffic per UTC hour of the day. */
const HOUR_WEIGHTS = [
  0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.3, 1.2, 1.1, 1.3, 1.2, 1.0, 1.0, 1.0, 1.1, 1.3, 1.5, 1.5, 1.2,
  0.8, 0.4,
];

/**
 * Assets each simulated widget requests, and galleries a gallery page's widget requests.
 * Asset pages request no galleries, which keeps each request cheaper.
 */
const WIDGET_ASSET_COUNT = 8;
const WIDGET_GALLERY_COUNT = 3;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** Mixes a 32-bit state into a well-spread 32-bit value (the splitmix32 finaliser). */
function mix32(value) {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small deterministic PRNG (mulberry32) with helpers. `stream` derives an independent
 * generator, so that work done concurrently draws the same numbers in any order.
 */
export class Random {
  constructor(seed) {
    this.state = mix32(Number(seed) >>> 0);
    this.seed = this.state;
  }

  /** Returns a float in [0, 1). */
  next() {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Returns a whole number in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** Returns true with probability `p`. */
  chance(p) {
    return this.next() < p;
  }

  /** Returns one element of a non-empty array. */
  pick(items) {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Draws an index with probability proportional to `weights`, or -1 when all are zero. */
  weightedIndex(weights) {
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    if (total <= 0) {
      return -1;
    }
    let target = this.next() * total;
    for (let index = 0; index < weights.length; index += 1) {
      target -= weights[index];
      if (target < 0) {
        return index;
      }
    }
    return weights.length - 1;
  }

  /** Draws a standard normal value (Box-Muller transform). */
  normal() {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Draws `count` distinct elements of `items`, or all of them when there are fewer. */
  sample(items, count) {
    const pool = [...items];
    const chosen = [];
    while (chosen.length < count && pool.length > 0) {
      chosen.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]);
    }
    return chosen;
  }

  /** Derives an independent generator for sub-task `index`. */
  stream(index) {
    return new Random(mix32(this.seed ^ Math.imul(index + 1, 0x27d4eb2d)));
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP with limited concurrency

/** Thrown when the worker returns an unexpected status; carries the problem body when any. */
export class SimulationHttpError extends Error {
  constructor(method, url, status, text) {
    super(`${method} ${url} returned HTTP ${status}: ${text.slice(0, 300)}`);
    this.status = status;
  }
}

/** Runs at most `limit` async tasks at once. */
function createLimiter(limit) {
  let active = 0;
  const waiting = [];
  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };
  return async (task) => {
    if (active >= limit) {
      await new Promise((resolve) => waiting.push(resolve));
    }
    active += 1;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/** The worker client: counts requests and sends them through one concurrency limiter. */
class WorkerClient {
  constructor(baseUrl, concurrency) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.limit = createLimiter(concurrency);
    this.counts = { recommendations: 0, assets: 0, event_batches: 0 };
  }

  /** Sends one request; resolves to `{ status, json }`. Throws on network errors and timeouts. */
  async send(method, path, body) {
    const url = `${this.baseUrl}${path}`;
    return this.limit(async () => {
      const init = { method, headers: {}, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
      if (body !== undefined) {
        init.headers['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(url, init);
      } catch (error) {
        throw new Error(`${method} ${url} failed: ${error.cause?.message ?? error.message}`);
      }
      const text = await response.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, text, json, url };
    });
  }

  /** GET /v1/recommendations; resolves to the response, or undefined for an unknown context. */
  async recommendations(parameters) {
    this.counts.recommendations += 1;
    const answer = await this.send('GET', `/v1/recommendations?${new URLSearchParams(parameters)}`);
    if (answer.status === 404 && answer.json?.code === 'context_not_found') {
      return undefined;
    }
    if (answer.status !== 200 || !Array.isArray(answer.json?.assets)) {
      throw new SimulationHttpError('GET', answer.url, answer.status, answer.text);
    }
    return answer.json;
  }

  /** GET /v1/assets/{id}; resolves to the asset card, or undefined when it is not shown. */
  async asset(id) {
    this.counts.assets += 1;
    const answer = await this.send('GET', `/v1/assets/${encodeURIComponent(id)}`);
    if (answer.status === 404) {
      return undefined;
    }
    if (answer.status !== 200) {
      throw new SimulationHttpError('GET', answer.url, answer.status, answer.text);
    }
    return answer.json;
  }

  /** POST /v1/events with one batch. */
  async postEvents(events) {
    this.counts.event_batches += 1;
    const answer = await this.send('POST', '/v1/events', { events });
    if (answer.status !== 202) {
      throw new SimulationHttpError('POST', answer.url, answer.status, answer.text);
    }
  }
}

/** Collects events and posts them in batches of at most EVENTS_PER_BATCH. */
class EventSink {
  constructor(client) {
    this.client = client;
    this.buffer = [];
    this.pending = [];
    this.byKind = { impression: 0, click: 0, dwell: 0 };
  }

  push(event) {
    this.byKind[event.type] += 1;
    this.buffer.push(event);
    if (this.buffer.length >= EVENTS_PER_BATCH) {
      this.pending.push(this.client.postEvents(this.buffer.splice(0, EVENTS_PER_BATCH)));
    }
  }

  /** Posts what is left and waits for every batch. */
  async flush() {
    while (this.buffer.length > 0) {
      this.pending.push(this.client.postEvents(this.buffer.splice(0, EVENTS_PER_BATCH)));
    }
    await Promise.all(this.pending);
  }
}

// ---------------------------------------------------------------------------------------------
// Catalog discovery

/** Caches asset keywords read through GET /v1/assets/{id}; one request per asset. */
class KeywordCache {
  constructor(client) {
    this.client = client;
    this.entries = new Map();
  }

  /** Resolves to the asset's lower-case keywords (empty when the asset is not shown). */
  keywords(id) {
    if (!this.entries.has(id)) {
      this.entries.set(
        id,
        this.client.asset(id).then((card) => (card?.keywords ?? []).map((keyword) => keyword.toLowerCase())),
      );
    }
    return this.entries.get(id);
  }
}

/** Normalises `asset:ID`, `gallery:ID` or a bare id (an asset when it starts with `I`). */
function normaliseContext(value) {
  const text = String(value).trim();
  if (text.includes(':')) {
    return text;
  }
  return text.startsWith('G') ? `gallery:${text}` : `asset:${text}`;
}

/**
 * Walks recommendations from the seed contexts, breadth first, and returns up to `maxContexts`
 * contexts from the worker's catalog, each `{ context, kind, id, keywords }`. The assets and
 * galleries a response lists count as found without a request of their own, because the
 * worker only lists items it may show, and that keeps discovery to a few requests.
 */
async function discoverContexts(client, keywordCache, seeds, { maxContexts, maxRequests }) {
  const found = new Map();
  const queue = seeds.map(normaliseContext);
  const queued = new Set(queue);
  let requests = 0;
  const addFound = (context) => {
    if (!found.has(context)) {
      const [kind, id] = context.split(':');
      found.set(context, { context, kind, id, keywords: [] });
    }
  };

  while (queue.length > 0 && found.size < maxContexts && requests < maxRequests) {
    const batch = queue.splice(0, 4);
    requests += batch.length;
    const answers = await Promise.all(
      batch.map((context) =>
        client.recommendations({ context, count: '12', galleries: '4', placement: 'sim-discovery', channel: 'web' }),
      ),
    );

    for (const [index, answer] of answers.entries()) {
      if (!answer) {
        continue;
      }
      addFound(batch[index]);
      const next = [
        ...answer.assets.map((asset) => `asset:${asset.id}`),
        ...answer.galleries.map((gallery) => `gallery:${gallery.id}`),
      ];
      for (const candidate of next) {
        addFound(candidate);
        if (!queued.has(candidate)) {
          queued.add(candidate);
          queue.push(candidate);
        }
      }
    }
  }

  const contexts = [...found.values()].slice(0, maxContexts);
  await Promise.all(
    contexts
      .filter((entry) => entry.kind === 'asset')
      .map(async (entry) => {
        entry.keywords = await keywordCache.keywords(entry.id);
      }),
  );
  return contexts;
}

/** Lists the keywords of at least `minimum` contexts, most common first. */
function commonKeywords(contexts, minimum) {
  const counts = new Map();
  for (const entry of contexts) {
    for (const keyword of new Set(entry.keywords)) {
      counts.set(keyword, (counts.get(keyword) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .filter(([, count]) => count >= minimum)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([keyword]) => keyword);
}

// ---------------------------------------------------------------------------------------------
// Visitors and schedules

/** Returns a day's share of the themes' rise: 0 over the first half, growing to 1 on the last day. */
function themeRamp(dayIndex, days) {
  if (days <= 1) {
    return 1;
  }
  const position = dayIndex / (days - 1);
  return Math.max(0, (position - 0.5) / 0.5);
}

/** Returns the UTC midnight `offset` days before `now`'s UTC day. */
function utcDayStart(now, offset) {
  const today = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate());
  return today - offset * DAY_MS;
}

/** Builds visitor `index`: interests, consent, visit days and habits. */
function createVisitor(random, index, { seed, days, consentRate, keywords, themes, dayStarts }) {
  const theme = themes.length > 0 && random.chance(0.2) ? random.pick(themes) : undefined;
  const interests = new Set(random.sample(keywords.slice(0, 40), random.int(2, 3)));
  if (theme) {
    interests.add(theme);
  }

  const roll = random.next();
  let dayCount = 1;
  if (roll >= 0.92) {
    dayCount = random.int(4, 8);
  } else if (roll >= 0.7) {
    dayCount = random.int(2, 3);
  }
  const dayWeights = dayStarts.map((start, dayIndex) => {
    const weekday = new Date(start).getUTCDay();
    const rise = theme ? 1 + 2 * themeRamp(dayIndex, days) : 1;
    return WEEKDAY_WEIGHTS[weekday] * rise;
  });
  const visitDays = new Set();
  while (visitDays.size < Math.min(dayCount, days)) {
    visitDays.add(random.weightedIndex(dayWeights));
  }

  return {
    index,
    visitorId: random.chance(consentRate) ? `sim-v${seed}-${String(index).padStart(5, '0')}` : undefined,
    interests: [...interests],
    themes: theme ? [theme] : [],
    days: [...visitDays].sort((a, b) => a - b),
    depth: random.int(1, 4),
    clickiness: 0.6 + random.next(),
    scrolls: random.chance(0.5),
  };
}

/**
 * Chooses a session's first page: the visitor's interests pull towards matching assets, and
 * the visitor's rising themes pull harder as `ramp` grows.
 */
function chooseEntry(random, contexts, visitor, ramp) {
  const weights = contexts.map((entry) => {
    if (entry.kind === 'gallery') {
      return 0.6;
    }
    const matches = entry.keywords.filter((keyword) => visitor.interests.includes(keyword)).length;
    const themed = entry.keywords.some((keyword) => visitor.themes.includes(keyword));
    return (1 + 2 * matches) * (themed ? 1 + 3 * ramp : 1);
  });
  return contexts[random.weightedIndex(weights)];
}

// ---------------------------------------------------------------------------------------------
// One visitor's sessions

/** Returns the probability that the visitor clicks the asset at `position` with these keywords. */
function clickProbability(visitor, position, keywords, ramp) {
  const matches = keywords.some((keyword) => visitor.interests.includes(keyword));
  const themed = keywords.some((keyword) => visitor.themes.includes(keyword));
  const probability =
    0.05 * Math.pow(0.78, position) * (matches ? 3.5 : 1) * (themed ? 1 + 3 * ramp : 1) * visitor.clickiness;
  return Math.min(0.65, probability);
}

/** Plays every session of one visitor and pushes the events into `sink`. */
async function playVisitor(visitor, random, { client, sink, keywordCache, contexts, dayStarts, days, now, stats }) {
  for (const dayIndex of visitor.days) {
    const ramp = themeRamp(dayIndex, days);
    const hour = random.weightedIndex(HOUR_WEIGHTS);
    // Sessions start by `now - 2 h` at the latest (they last under an hour), so no event lies in the future.
    let time = Math.min(dayStarts[dayIndex] + hour * HOUR_MS + random.int(0, HOUR_MS - 1), now - 2 * HOUR_MS - random.int(0, HOUR_MS));
    let page = chooseEntry(random, contexts, visitor, ramp);
    const pages = random.int(1, visitor.depth);
    stats.sessions += 1;

    for (let view = 0; view < pages && page; view += 1) {
      stats.pageViews += 1;
      const pageId = `sim-p${random.next().toString(36).slice(2, 12)}`;
      const placement = page.kind === 'asset' ? 'article-related' : 'gallery-related';
      const parameters = {
        context: page.context,
        count: String(WIDGET_ASSET_COUNT),
        galleries: page.kind === 'gallery' ? String(WIDGET_GALLERY_COUNT) : '0',
        placement,
        page: pageId,
        channel: 'web',
      };
      if (visitor.visitorId) {
        parameters.visitor = visitor.visitorId;
      }
      const response = await client.recommendations(parameters);
      if (!response) {
        break;
      }

      const base = {
        request_id: response.request_id,
        context: page.context,
        placement,
        page_id: pageId,
        ...(visitor.visitorId ? { visitor_id: visitor.visitorId } : {}),
      };
      time += random.int(5_000, 40_000);
      const seenAssets = response.assets.slice(0, visitor.scrolls ? response.assets.length : Math.min(4, response.assets.length));
      for (const [position, asset] of seenAssets.entries()) {
        sink.push({ type: 'impression', ...base, asset_id: asset.id, position, occurred_at: time + position * 150 });
      }
      const seenGalleries = visitor.scrolls ? response.galleries : [];
      for (const [position, gallery] of seenGalleries.entries()) {
        sink.push({ type: 'impression', ...base, gallery_id: gallery.id, position, occurred_at: time + 2_000 + position * 150 });
      }

      const keywordLists = await Promise.all(seenAssets.map((asset) => keywordCache.keywords(asset.id)));
      let next;
      for (const [position, asset] of seenAssets.entries()) {
        if (random.chance(clickProbability(visitor, position, keywordLists[position], ramp))) {
          next = { kind: 'asset', id: asset.id, context: `asset:${asset.id}`, keywords: keywordLists[position], position };
          break;
        }
      }
      if (!next) {
        for (const [position, gallery] of seenGalleries.entries()) {
          if (random.chance(0.03 * Math.pow(0.8, position) * visitor.clickiness)) {
            next = { kind: 'gallery', id: gallery.id, context: `gallery:${gallery.id}`, keywords: [], position };
            break;
          }
        }
      }

      if (next) {
        const item = next.kind === 'asset' ? { asset_id: next.id } : { gallery_id: next.id };
        const clickAt = time + random.int(3_000, 40_000);
        sink.push({ type: 'click', ...base, ...item, position: next.position, occurred_at: clickAt });
        const interested = next.keywords.some((keyword) => visitor.interests.includes(keyword));
        // Most clicks report a dwell time; some visitors leave before the destination reports it.
        if (random.chance(0.85)) {
          const dwellMs = Math.min(600_000, Math.round(Math.exp(Math.log(20_000) + 0.9 * random.normal()) * (interested ? 1.7 : 1)));
          sink.push({ type: 'dwell', ...base, ...item, position: next.position, dwell_ms: dwellMs, occurred_at: clickAt + dwellMs });
          time = clickAt + dwellMs;
        } else {
          time = clickAt + random.int(5_000, 30_000);
        }
        page = next;
      } else if (random.chance(0.35)) {
        // No click: the visitor may still open another page through the site's own navigation.
        page = chooseEntry(random, contexts, visitor, ramp);
        time += random.int(20_000, 120_000);
      } else {
        page = undefined;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Plays SIMULATED visitors against the worker at `baseUrl` and resolves to a summary:
 * `{ simulated: true, seed, from, to, visitors, requests, events, themes, ... }`.
 *
 * Options, with defaults in brackets: `seed` (7), `visitors` (300), `days` (28), `now` (ms,
 * Date.now()) and `consentRate`, the share of visitors with a visitor id (0.6). `contexts`
 * lists seed contexts such as `asset:I000000000A00001` (DEMO_CONTEXTS). `maxContexts` caps
 * discovery (40), `concurrency` caps HTTP requests in flight (6), and `log` receives progress
 * lines (null for none).
 */
export async function simulate({
  baseUrl,
  seed = 7,
  visitors = 300,
  days = 28,
  now = Date.now(),
  consentRate = 0.6,
  contexts: seedContexts = DEMO_CONTEXTS,
  maxContexts = 40,
  concurrency = 6,
  log = null,
} = {}) {
  if (!baseUrl) {
    throw new Error('simulate: `baseUrl` is missing; pass the worker URL, such as http://127.0.0.1:8787');
  }
  for (const [name, value, min, max] of [
    ['visitors', visitors, 1, 100_000],
    ['days', days, 1, 365],
    ['concurrency', concurrency, 1, 64],
  ]) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`simulate: \`${name}\` must be a whole number from ${min} to ${max}, not ${value}`);
    }
  }
  if (!(consentRate >= 0 && consentRate <= 1)) {
    throw new Error(`simulate: \`consentRate\` must be from 0 to 1, not ${consentRate}`);
  }

  const startedAt = Date.now();
  const client = new WorkerClient(baseUrl, concurrency);
  const keywordCache = new KeywordCache(client);
  const sink = new EventSink(client);
  const root = new Random(seed);

  const contexts = await discoverContexts(client, keywordCache, seedContexts, {
    maxContexts,
    maxRequests: maxContexts * 2,
  });
  if (contexts.length === 0) {
    throw new Error(
      `simulate: none of the seed contexts is in the worker's catalog (${seedContexts.join(', ')}); ` +
        'pass contexts that exist, such as asset:<media id> of a synced asset',
    );
  }
  log?.(`[simulated] discovered ${contexts.length} contexts through /v1/recommendations`);

  const keywords = commonKeywords(contexts, 2);
  const fallbackKeywords = keywords.length > 0 ? keywords : commonKeywords(contexts, 1);
  // Themes are keywords of at most a quarter of the asset contexts: lifting a keyword that
  // most assets carry would lift all traffic instead of one theme.
  const assetContexts = contexts.filter((entry) => entry.kind === 'asset');
  const narrowKeywords = fallbackKeywords.filter(
    (keyword) => assetContexts.filter((entry) => entry.keywords.includes(keyword)).length <= Math.max(2, assetContexts.length / 4),
  );
  const themeCandidates = (narrowKeywords.length > 0 ? narrowKeywords : fallbackKeywords).slice(0, 15);
  const themes = root.stream(1_000_000).sample(themeCandidates, themeCandidates.length >= 8 ? 2 : 1);
  const dayStarts = Array.from({ length: days }, (_, index) => utcDayStart(now, days - 1 - index));

  const people = Array.from({ length: visitors }, (_, index) =>
    createVisitor(root.stream(index), index, {
      seed,
      days,
      consentRate,
      keywords: fallbackKeywords,
      themes,
      dayStarts,
    }),
  );

  const stats = { sessions: 0, pageViews: 0 };
  const shared = { client, sink, keywordCache, contexts, dayStarts, days, now, stats };
  // Visitors play in parallel lanes; the HTTP limiter caps the requests in flight.
  let nextVisitor = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (nextVisitor < people.length) {
      const visitor = people[nextVisitor];
      nextVisitor += 1;
      // The session stream is separate from the profile stream of the same index.
      await playVisitor(visitor, root.stream(visitors + visitor.index), shared);
    }
  });
  await Promise.all(lanes);
  await sink.flush();

  const summary = {
    simulated: true,
    seed,
    base_url: client.baseUrl,
    from: new Date(dayStarts[0]).toISOString().slice(0, 10),
    to: new Date(now).toISOString().slice(0, 10),
    visitors,
    consenting_visitors: people.filter((visitor) => visitor.visitorId).length,
    returning_visitors: people.filter((visitor) => visitor.days.length > 1).length,
    sessions: stats.sessions,
    page_views: stats.pageViews,
    contexts: contexts.length,
    themes,
    requests: { ...client.counts },
    events: { ...sink.byKind, total: sink.byKind.impression + sink.byKind.click + sink.byKind.dwell },
    duration_ms: Date.now() - startedAt,
  };
  return summary;
}

/** Formats a summary as a few lines, every one marked as simulated. */
export function formatSummary(summary) {
  return [
    `[simulated] SIMULATED traffic, seed ${summary.seed}, ${summary.from} to ${summary.to}, against ${summary.base_url}`,
    `[simulated] visitors: ${summary.visitors} (${summary.consenting_visitors} with a visitor id, ${summary.returning_visitors} returning); sessions: ${summary.sessions}; page views: ${summary.page_views}`,
    `[simulated] requests: ${summary.requests.recommendations} recommendations, ${summary.requests.assets} asset cards, ${summary.requests.event_batches} event batches`,
    `[simulated] events: ${summary.events.impression} impressions, ${summary.events.click} clicks, ${summary.events.dwell} dwell (${summary.events.total} in all)`,
    `[simulated] rising themes: ${summary.themes.map((theme) => JSON.stringify(theme)).join(', ') || 'none'}; took ${(summary.duration_ms / 1000).toFixed(1)} s`,
  ].join('\n');
}

const HELP = `Usage: node tests/support/simulate.mjs [options]

Sends SIMULATED browsing sessions (recommendation requests and widget events) to a running
loci-photoshelter worker. Every visitor and page-view id it creates starts with "sim-".

Options:
  --base-url URL        worker base URL (default: $LOCI_BASE_URL, else http://127.0.0.1:8787)
  --visitors N          simulated visitors (default 300)
  --days N              days of history to spread events over, ending today (default 28)
  --seed N              PRNG seed; the same seed yields the same visitors (default 7)
  --consent-rate X      share of visitors with a visitor id, from 0 to 1 (default 0.6)
  --contexts LIST       comma-separated seed contexts, asset:<media id> or gallery:<gallery id>
                        (default: the contexts linked from the demo front page)
  --concurrency N       HTTP requests in flight at once (default 6)
  --json                print the summary as JSON instead of text
  -h, --help            print this help`;

/** Parses a whole-number option, or exits with a message naming it. */
function wholeNumber(name, text) {
  const value = Number(text);
  if (!Number.isInteger(value)) {
    console.error(`simulate: --${name} must be a whole number, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'base-url': { type: 'string' },
        visitors: { type: 'string', default: '300' },
        days: { type: 'string', default: '28' },
        seed: { type: 'string', default: '7' },
        'consent-rate': { type: 'string', default: '0.6' },
        contexts: { type: 'string' },
        concurrency: { type: 'string', default: '6' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    console.error(`simulate: ${error.message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    return;
  }

  const options = {
    baseUrl: values['base-url'] ?? process.env.LOCI_BASE_URL ?? 'http://127.0.0.1:8787',
    visitors: wholeNumber('visitors', values.visitors),
    days: wholeNumber('days', values.days),
    seed: wholeNumber('seed', values.seed),
    consentRate: Number(values['consent-rate']),
    concurrency: wholeNumber('concurrency', values.concurrency),
    log: values.json ? null : (line) => console.log(line),
  };
  if (values.contexts) {
    options.contexts = values.contexts.split(',').filter(Boolean);
  }

  console.error(`[simulated] sending SIMULATED sessions to ${options.baseUrl} (not real visitor data)`);
  const summary = await simulate(options);
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`simulate: ${error.message}`);
    process.exit(1);
  });
}
