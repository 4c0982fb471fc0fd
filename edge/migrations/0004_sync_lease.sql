-- A lease on the running sync run, so that overlapping invocations (the cron trigger and the
-- admin endpoint, or several admin calls) never work on the same run at once.
ALTER TABLE sync_runs ADD COLUMN lease_token TEXT;
ALTER TABLE sync_runs ADD COLUMN lease_until INTEGER;
