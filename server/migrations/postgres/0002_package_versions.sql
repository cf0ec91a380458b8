-- Wasm package versions: one row per (repository, semver tag) ever published
-- with Wasm content. The layer digest pins the version's content forever; a
-- deleted version keeps its row as a tombstone (deleted = 1) so it can only
-- come back with the same content. The other columns are the index: what the
-- package API serves and searches.
CREATE TABLE package_versions (
    repository       TEXT NOT NULL,
    version          TEXT NOT NULL,
    layer_digest     TEXT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    deleted          BIGINT NOT NULL DEFAULT 0,
    yanked           BIGINT NOT NULL DEFAULT 0,
    -- `ns` and `name` of `ns:name`, when the repository maps to a package name.
    namespace        TEXT COLLATE "C",
    name             TEXT COLLATE "C",
    -- "component", "module" or "wit".
    kind             TEXT NOT NULL,
    size             BIGINT NOT NULL,
    annotations      TEXT,
    metadata         TEXT,
    wit_package      TEXT,
    worlds           TEXT,
    interfaces       TEXT,
    imports          TEXT,
    exports          TEXT,
    wit_text         TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (repository, version)
);
CREATE INDEX package_versions_manifest ON package_versions (repository, manifest_digest);
CREATE INDEX package_versions_name ON package_versions (namespace, name);
