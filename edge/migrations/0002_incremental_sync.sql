-- Incremental sync and connector state.

-- `full` runs re-read everything; `incremental` runs copy the active generation, re-read
-- containers, read only media modified since `since` (milliseconds), and drop media that
-- PhotoShelter no longer lists.
ALTER TABLE sync_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sync_runs ADD COLUMN since INTEGER;
ALTER TABLE sync_runs ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;

-- Media ids PhotoShelter still lists, collected by an incremental run's `prune` phase.
CREATE TABLE sync_seen (
    run_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;

-- Values the connector must keep between invocations, such as a rotated OAuth refresh token.
CREATE TABLE connector_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
