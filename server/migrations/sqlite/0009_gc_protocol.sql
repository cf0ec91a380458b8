-- The garbage-collection protocol (see `maintenance::gc`).
--
-- A blob's object is deleted in three steps: a transaction sets
-- `gc_deleting_at` (only if nothing links or claims the blob), the object
-- is deleted from storage, and a second transaction removes the row. A
-- writer that finds the row deleting waits for it to go before writing the
-- object again, and a run that finds rows left deleting (a GC that died)
-- finishes them first.
ALTER TABLE blobs ADD COLUMN gc_deleting_at BIGINT;

-- A writer's claim on a blob while it puts the object in place and links
-- it: GC neither marks nor deletes a claimed blob, so an object written
-- for a link that is not committed yet cannot be deleted under it.
CREATE TABLE blob_claims (
    id          TEXT PRIMARY KEY NOT NULL,
    digest      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX blob_claims_digest ON blob_claims (digest);
