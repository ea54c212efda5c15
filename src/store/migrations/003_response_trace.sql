-- The trace id (x-moveworks-root-uuid) of the request that asked, so the worker's log lines join the request's.
ALTER TABLE responses ADD COLUMN trace_id text;
