-- Trusted publishers: an OIDC issuer and claim rules (a CI workflow) bound
-- to a repository pattern and actions. Tokens exchanged for one are owned
-- by the robot user `publisher-<id>`, created and removed with the row.
--
-- `claims` is a JSON object of claim name to expected value; `audience`
-- NULL means the gateway's `service`.
CREATE TABLE trusted_publishers (
    id          TEXT PRIMARY KEY NOT NULL,
    issuer      TEXT NOT NULL,
    provider    TEXT NOT NULL,
    audience    TEXT,
    claims      TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    actions     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX trusted_publishers_issuer ON trusted_publishers (issuer);
