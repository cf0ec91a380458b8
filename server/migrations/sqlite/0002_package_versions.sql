-- Wasm package versions: one row per (repository, semver tag) ever published.
-- The layer digest pins the version's content forever; a deleted version
-- keeps its row as a tombstone (deleted = 1) so it can only come back with
-- the same content.
CREATE TABLE package_versions (
    repository       TEXT NOT NULL,
    version          TEXT NOT NULL,
    layer_digest     TEXT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    deleted          BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (repository, version)
);
CREATE INDEX package_versions_manifest ON package_versions (repository, manifest_digest);
