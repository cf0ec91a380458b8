-- Garbage collection marks a blob that no repository links before deleting
-- it; linking the blob again clears the mark. Only blobs still unlinked and
-- marked for longer than the grace period are deleted.
ALTER TABLE blobs ADD COLUMN gc_marked_at BIGINT;
