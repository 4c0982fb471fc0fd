-- What each recommendation response served, click verification, and precomputed neighbour
-- lists.

-- One row per recommendation response. `asset_ids` is the JSON array of the assets it
-- returned, in order. A click counts as a co-view only when its asset is in the list of its
-- `request_id` and its context matches, so a client cannot forge co-views for assets it was
-- never shown. `variant` is the A/B test variant, filled by the experiment code when it
-- assigns one (NULL otherwise). The cron trigger deletes rows older than seven days.
CREATE TABLE served_requests (
    request_id TEXT PRIMARY KEY,
    served_at INTEGER NOT NULL,
    placement TEXT NOT NULL,
    context TEXT NOT NULL,
    visitor_id TEXT,
    page_id TEXT,
    segment TEXT,
    variant TEXT,
    engine TEXT NOT NULL,
    asset_ids TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX served_requests_by_time ON served_requests (served_at);

-- 1 when the event's asset was in the served list of its request (and the context matches),
-- 0 when not, NULL for gallery-only events and for events stored before this migration.
ALTER TABLE events ADD COLUMN verified INTEGER;

-- Top-k neighbours of each asset, computed off the request path. `kind` is `content`
-- (IDF-weighted term cosine) or `co_interaction` (assets clicked from the same pages, with
-- time decay). `neighbours` is a JSON array of [media id, score] pairs, best first. Rows
-- belong to a catalog generation, so a new catalog never reads lists of an old one.
CREATE TABLE asset_neighbours (
    generation INTEGER NOT NULL,
    kind TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    neighbours TEXT NOT NULL,
    PRIMARY KEY (generation, asset_id, kind)
) WITHOUT ROWID;

-- Progress of the neighbour computation, one row per kind: the generation it works on, the
-- offset of the next asset (in id order) to compute, and when the run started and finished.
CREATE TABLE neighbour_runs (
    kind TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
) WITHOUT ROWID;
