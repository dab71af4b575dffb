-- Places: an area tree of any depth, with a materialised path ('/1/5/23/') so that
-- a subtree is one index range scan.
CREATE TABLE areas (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune', 'village')),
    parent_id BIGINT REFERENCES areas (id),
    path TEXT COLLATE "C" NOT NULL,
    depth INTEGER NOT NULL,
    boundary TEXT,
    centroid_lat DOUBLE PRECISION,
    centroid_lon DOUBLE PRECISION,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX areas_path_idx ON areas (path);
CREATE INDEX areas_parent_idx ON areas (parent_id);
CREATE INDEX areas_level_path_idx ON areas (level, path);

-- One row per named counter; bumping it inside a write transaction orders changes
-- for delta sync in commit order (the row lock serialises writers).
CREATE TABLE sync_counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO sync_counters (name, value) VALUES ('households', 0);

CREATE TABLE households (
    id BIGSERIAL PRIMARY KEY,
    village_id BIGINT NOT NULL REFERENCES areas (id),
    code TEXT NOT NULL,
    head_name TEXT NOT NULL,
    address TEXT NOT NULL,
    member_count INTEGER NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    categories TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sync_seq BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (village_id, code)
);
CREATE INDEX households_sync_idx ON households (village_id, sync_seq, id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('surveyor', 'officer', 'viewer', 'admin')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE user_areas (
    user_id BIGINT NOT NULL REFERENCES users (id),
    area_id BIGINT NOT NULL REFERENCES areas (id),
    PRIMARY KEY (user_id, area_id)
);
CREATE INDEX user_areas_area_idx ON user_areas (area_id);

-- One row per login; every refresh token of that login belongs to it, so that a
-- replayed (spent) refresh token can revoke the whole login.
CREATE TABLE auth_sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES auth_sessions (id),
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
