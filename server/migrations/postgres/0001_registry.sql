-- Core OCI registry metadata (PostgreSQL). Timestamps are Unix milliseconds.
-- Names that are listed in order use the "C" collation: lexical byte order,
-- as in SQLite and as the OCI spec asks for tags.

CREATE TABLE repositories (
    name        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One row per stored blob object (content-addressed, shared by all repositories).
CREATE TABLE blobs (
    digest      TEXT PRIMARY KEY NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Which repository may serve which blob.
CREATE TABLE repository_blobs (
    repository  TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);

CREATE TABLE manifests (
    repository     TEXT NOT NULL,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    subject        TEXT,
    annotations    TEXT,
    size           BIGINT NOT NULL,
    content        BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX manifests_subject ON manifests (repository, subject);

-- Blobs and child manifests a manifest refers to (integrity checks and GC).
CREATE TABLE manifest_references (
    repository       TEXT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    child_digest     TEXT NOT NULL,
    child_kind       TEXT NOT NULL,
    PRIMARY KEY (repository, manifest_digest, child_digest)
);

CREATE TABLE tags (
    repository  TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (repository, name)
);
CREATE INDEX tags_digest ON tags (repository, digest);

-- Resumable upload sessions: `committed` bytes are durably staged in chunks.
CREATE TABLE uploads (
    id          TEXT PRIMARY KEY NOT NULL,
    repository  TEXT NOT NULL,
    committed   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX uploads_updated_at ON uploads (updated_at);

CREATE TABLE upload_chunks (
    upload_id     TEXT NOT NULL,
    start_offset  BIGINT NOT NULL,
    length        BIGINT NOT NULL,
    chunk_id      TEXT NOT NULL,
    PRIMARY KEY (upload_id, start_offset)
);
