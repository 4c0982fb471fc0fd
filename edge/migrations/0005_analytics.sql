-- Analytics: daily engagement aggregates, visitor segments and per-segment popularity.
--
-- All three are derived from `events` and the active catalog, and can be rebuilt from them.
-- The aggregation (cron and `POST /v1/admin/analytics/refresh`) rewrites whole days, so a late
-- event only means its day is recomputed.

-- One row per (dimension, day, key, placement, segment). `dimension` is one of asset, gallery,
-- collection, keyword and placement; for `placement` the key is the placement itself, so
-- summing that dimension over keys gives each day's totals. `day` is the UTC date of the
-- event's `occurred_at`; `segment` is the visitor's segment when the day was aggregated, or
-- `anonymous` for events without a visitor id.
CREATE TABLE engagement_daily (
    dimension TEXT NOT NULL,
    day TEXT NOT NULL,
    key TEXT NOT NULL,
    placement TEXT NOT NULL,
    segment TEXT NOT NULL,
    impressions INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    dwell_events INTEGER NOT NULL,
    dwell_ms INTEGER NOT NULL,
    PRIMARY KEY (dimension, day, key, placement, segment)
) WITHOUT ROWID;

-- The segment each consenting visitor belongs to, with the behaviour it was chosen from.
-- `top_keywords` is a JSON array of the visitor's most clicked keywords.
CREATE TABLE visitor_segments (
    visitor_id TEXT PRIMARY KEY,
    segment TEXT NOT NULL,
    clicks INTEGER NOT NULL,
    impressions INTEGER NOT NULL,
    dwell_ms INTEGER NOT NULL,
    active_days INTEGER NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    top_keywords TEXT NOT NULL,
    assigned_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visitor_segments_by_segment ON visitor_segments (segment, visitor_id);

-- Assets most clicked by each segment's members, time-decayed: the segment-popular signal.
CREATE TABLE segment_popularity (
    segment TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (segment, asset_id)
) WITHOUT ROWID;
CREATE INDEX segment_popularity_by_score ON segment_popularity (segment, score DESC);

-- Progress of the aggregation: `last_event_id` is the highest event id already counted.
CREATE TABLE analytics_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX events_by_occurred ON events (occurred_at);
