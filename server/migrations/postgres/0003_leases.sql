-- Leases for background jobs (upload purge, GC): with several replicas, at
-- most one holder runs a job at a time; an expired lease may be taken over.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
