-- Tags the pull-through proxy cached from an upstream registry, and when the
-- upstream was last asked where the tag points (Unix milliseconds). A tag
-- without a row here was pushed to this gateway and is never re-checked.
CREATE TABLE upstream_tags (
    repository  TEXT NOT NULL,
    name        TEXT NOT NULL,
    upstream    TEXT NOT NULL,
    checked_at  BIGINT NOT NULL,
    PRIMARY KEY (repository, name)
);
