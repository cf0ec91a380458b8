-- Revocation that reaches every credential a user's login minted.
--
-- `credential_epoch` is a random value that every JWT and refresh token
-- minted for the user carries; a password change sets a new one, and
-- removing and re-creating a user makes a new row with a new one, so
-- tokens minted before either stop working. Random rather than a counter,
-- so a re-created user cannot land on an old value.
ALTER TABLE users ADD COLUMN credential_epoch TEXT NOT NULL DEFAULT '';
UPDATE users SET credential_epoch = md5(random()::text || clock_timestamp()::text || name);

-- JWTs ended before their expiry (web sign-out), by `jti`, kept until
-- they would have expired anyway.
CREATE TABLE revoked_jwts (
    jti         TEXT PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX revoked_jwts_expires_at ON revoked_jwts (expires_at);
