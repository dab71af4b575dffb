-- Phones set up for ODK Collect: each holds a secret token in its server URL
-- (only its sha-256 is kept), bound to one user and revocable.
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The token is an HMAC of this nonce under a key derived from the server's
    -- signing secret: the database alone never yields a working token, and the
    -- server can still show the setup QR code again.
    token_nonce TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX devices_by_user ON devices (user_id);
