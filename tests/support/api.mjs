// HTTP helpers for the Node tests: the worker under test (LOCI_BASE_URL, ADMIN_KEY) and the
// PhotoShelter stand-in (STANDIN_URL) with its demo credentials. `./x test` sets the three
// variables; to run the tests by hand, point them at a running `./x demo`.

/** Time one HTTP request may take before the test fails, in milliseconds. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The stand-in's demo account and organization. */
export const STANDIN_API_KEY = 'demoApiKey1';
export const STANDIN_EMAIL = 'demo@example.com';
export const STANDIN_PASSWORD = 'demo-password';
export const STANDIN_ORG_ID = 'O0000TateDemo001';
export const STANDIN_API_BASE = '/psapi/v4.0';

/** Returns an environment variable, or throws an error that explains how to set it. */
export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through ./x test, or set LOCI_BASE_URL, ` +
        'STANDIN_URL and ADMIN_KEY to a running ./x demo',
    );
  }
  return value.replace(/\/+$/, '');
}

export const baseUrl = () => requiredEnv('LOCI_BASE_URL');
export const standinUrl = () => requiredEnv('STANDIN_URL');
export const adminKey = () => requiredEnv('ADMIN_KEY');

/**
 * Sends a request and reads the whole response body. `body` may be an object (sent as JSON)
 * or a string (sent as is, with `application/json` unless `headers` sets another type).
 * Resolves to `{ status, headers, text, json }`, where `json` is undefined for a non-JSON body.
 */
export async function request(url, { method = 'GET', headers = {}, body } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }

  const response = await fetch(url, init);
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sends a request to the worker; `path` starts with `/`. */
export function worker(path, options) {
  return request(`${baseUrl()}${path}`, options);
}

/** Headers that authorize a request to the worker's admin endpoints. */
export function adminHeaders() {
  return { authorization: `Bearer ${adminKey()}` };
}

/** Builds `/v1/recommendations?...` from an object of query parameters. */
export function recommendationsPath(parameters) {
  return `/v1/recommendations?${new URLSearchParams(parameters)}`;
}

let standinToken;

/** Logs in to the stand-in once per test process and returns the session token. */
async function standinLogin() {
  if (standinToken) {
    return standinToken;
  }
  const answer = await request(`${standinUrl()}${STANDIN_API_BASE}/authenticate`, {
    method: 'POST',
    headers: { 'x-ps-api-key': STANDIN_API_KEY },
    body: { email: STANDIN_EMAIL, password: STANDIN_PASSWORD, org_id: STANDIN_ORG_ID },
  });
  if (answer.status !== 200 || typeof answer.json?.token !== 'string') {
    throw new Error(`stand-in login failed with HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  standinToken = answer.json.token;
  return standinToken;
}

/**
 * GETs a PhotoShelter API path from the stand-in (`path` is relative to /psapi/v4.0) as the
 * demo user, and returns the parsed JSON. Throws on any status but 200.
 */
export async function standinGet(path) {
  const token = await standinLogin();
  const answer = await request(`${standinUrl()}${STANDIN_API_BASE}${path}`, {
    headers: { 'x-ps-api-key': STANDIN_API_KEY, 'x-ps-auth-token': token },
  });
  if (answer.status !== 200 || answer.json === undefined) {
    throw new Error(`stand-in GET ${path} returned HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return answer.json;
}

/** Returns the stand-in's first `count` media items (`data` of GET /media). */
export async function standinMedia(count = 50) {
  const page = await standinGet(`/media?org_id=${STANDIN_ORG_ID}&per_page=${count}`);
  return page.data;
}

/**
 * Finds a media id whose asset context yields at least `minimum` recommended assets on the
 * web channel, trying the stand-in's first 50 media items in order. Resolves to
 * `{ id, response }` with the recommendation response that qualified.
 */
export async function findAssetContext(minimum = 6) {
  const tried = [];
  for (const item of await standinMedia(50)) {
    const answer = await worker(
      recommendationsPath({ context: `asset:${item.id}`, channel: 'web', count: '8' }),
    );
    tried.push(`${item.id}: HTTP ${answer.status}, ${answer.json?.assets?.length ?? 0} assets`);
    if (answer.status === 200 && (answer.json?.assets?.length ?? 0) >= minimum) {
      return { id: item.id, response: answer.json };
    }
  }
  throw new Error(
    `none of the stand-in's first 50 media items gets ${minimum} recommendations:\n${tried.join('\n')}`,
  );
}

/** Parses a strict `YYYY-MM-DD` calendar date to a UTC timestamp; undefined when invalid. */
export function parseIsoDate(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) {
    return undefined;
  }
  const [year, month, day] = match.slice(1).map(Number);
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  // Date.UTC rolls 2027-02-30 over to March; a real date survives the round trip.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return time;
}

/**
 * Returns the reasons why the stand-in's rights metadata forbid showing a media item on the
 * web at `now`. "Usage Channels" must list `web`. A "License Expiration Date", when present,
 * must be a valid date whose start (00:00 UTC) is after `now`. A "License Start Date", when
 * present, must be a valid date whose start is not after `now`. An empty array means allowed.
 */
export async function webRightsViolations(mediaId, now = Date.now()) {
  const fields = (await standinGet(`/media/${mediaId}/custom-metadata`)).data?.attributes ?? {};
  const violations = [];

  const channels = String(fields['Usage Channels'] ?? '')
    .split(',')
    .map((channel) => channel.trim().toLowerCase());
  if (!channels.includes('web')) {
    violations.push(`Usage Channels is ${JSON.stringify(fields['Usage Channels'])}, without web`);
  }

  const expiration = fields['License Expiration Date'];
  if (expiration !== undefined) {
    const time = parseIsoDate(expiration);
    if (time === undefined) {
      violations.push(`License Expiration Date ${JSON.stringify(expiration)} is not a valid YYYY-MM-DD date`);
    } else if (time <= now) {
      violations.push(`License Expiration Date ${expiration} is not in the future`);
    }
  }

  const start = fields['License Start Date'];
  if (start !== undefined) {
    const time = parseIsoDate(start);
    if (time === undefined) {
      violations.push(`License Start Date ${JSON.stringify(start)} is not a valid YYYY-MM-DD date`);
    } else if (time > now) {
      violations.push(`License Start Date ${start} is in the future`);
    }
  }
  return violations;
}

/** Polls `check` every 250 ms until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(check, { timeoutMs = 10_000, description = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) {
      return last;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
}
