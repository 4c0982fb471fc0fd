-- Assets already shown on one page view, so several widgets on a page never repeat an asset.
-- A request claims its assets with INSERT OR IGNORE; the primary key makes concurrent
-- requests of one page settle on disjoint sets. Rows older than a day are deleted by the cron
-- trigger.
CREATE TABLE page_served (
    page_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    served_at INTEGER NOT NULL,
    PRIMARY KEY (page_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX page_served_by_time ON page_served (served_at);
