-- Catalog cache, sync runs and interaction events.
--
-- Catalog tables carry a `generation`: a sync writes a new generation beside the active one
-- and switches `catalog_state.active_generation` only when it is complete, so readers never
-- see a half-written catalog. Old generations are deleted after the switch.

CREATE TABLE catalog_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    active_generation INTEGER NOT NULL,
    activated_at INTEGER NOT NULL,
    asset_count INTEGER NOT NULL
);

CREATE TABLE collections (
    generation INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (generation, id)
) WITHOUT ROWID;

CREATE TABLE galleries (
    generation INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    collection_id TEXT,
    mode TEXT NOT NULL,
    is_listed INTEGER NOT NULL,
    key_image_id TEXT,
    asset_count INTEGER NOT NULL DEFAULT 0,
    modified_at INTEGER,
    PRIMARY KEY (generation, id)
) WITHOUT ROWID;

-- One row per asset. `keywords`, `galleries` and `collections` are JSON arrays; `rights` is
-- the normalised rights (loci_shared::rights::Rights) as JSON, raw source values included;
-- `licence_end` copies the parsed licence end (milliseconds) for licence alerts.
CREATE TABLE assets (
    generation INTEGER NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    creator TEXT,
    caption TEXT,
    credit TEXT,
    copyright TEXT,
    width INTEGER,
    height INTEGER,
    keywords TEXT NOT NULL,
    galleries TEXT NOT NULL,
    collections TEXT NOT NULL,
    rights TEXT NOT NULL,
    licence_end INTEGER,
    modified_at INTEGER,
    PRIMARY KEY (generation, id)
) WITHOUT ROWID;
CREATE INDEX assets_by_licence_end ON assets (generation, licence_end) WHERE licence_end IS NOT NULL;

CREATE TABLE gallery_assets (
    generation INTEGER NOT NULL,
    gallery_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (generation, gallery_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX gallery_assets_by_asset ON gallery_assets (generation, asset_id);
CREATE INDEX gallery_assets_by_position ON gallery_assets (generation, gallery_id, position);

-- The inverted index for content similarity: one row per (term, asset). Terms are prefixed
-- by kind: `kw:` keyword, `cat:` category, `by:` creator, `gal:` gallery, `col:` collection.
CREATE TABLE asset_terms (
    generation INTEGER NOT NULL,
    term TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    PRIMARY KEY (generation, term, asset_id)
) WITHOUT ROWID;
CREATE INDEX asset_terms_by_asset ON asset_terms (generation, asset_id);

-- Document frequency of each term, computed when a generation is finished.
CREATE TABLE term_stats (
    generation INTEGER NOT NULL,
    term TEXT NOT NULL,
    asset_count INTEGER NOT NULL,
    PRIMARY KEY (generation, term)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    generation INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    phase TEXT NOT NULL,
    page INTEGER NOT NULL DEFAULT 1,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    collections INTEGER NOT NULL DEFAULT 0,
    galleries INTEGER NOT NULL DEFAULT 0,
    assets INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    total_assets INTEGER,
    skipped_reasons TEXT NOT NULL DEFAULT '[]',
    error TEXT
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    request_id TEXT NOT NULL,
    asset_id TEXT,
    gallery_id TEXT,
    position INTEGER,
    context TEXT NOT NULL,
    placement TEXT NOT NULL,
    page_id TEXT,
    visitor_id TEXT,
    dwell_ms INTEGER
);
CREATE INDEX events_by_request ON events (request_id);
CREATE INDEX events_by_visitor ON events (visitor_id, occurred_at);

-- Clicks from a context's page to an asset: the co-view signal.
CREATE TABLE co_views (
    context TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    clicks INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (context, asset_id)
) WITHOUT ROWID;
