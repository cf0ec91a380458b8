-- Who opened each upload session ("user:<name>" for authenticated callers,
-- "addr:<address or IPv6 /64>" for anonymous ones), so open sessions can be
-- counted per client across replicas. Sessions from before this column have
-- no owner and count against nobody.
ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX uploads_owner ON uploads (owner, updated_at);
