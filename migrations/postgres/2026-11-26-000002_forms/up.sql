-- Forms and their immutable published versions.
CREATE TABLE forms (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('open', 'closing', 'closed')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE form_versions (
    form_id TEXT NOT NULL REFERENCES forms (id),
    version INTEGER NOT NULL CHECK (version > 0),
    content_hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    title_vi TEXT NOT NULL,
    title_en TEXT NOT NULL,
    retired BOOLEAN NOT NULL DEFAULT FALSE,
    published_at TIMESTAMP NOT NULL,
    published_by BIGINT REFERENCES users (id),
    PRIMARY KEY (form_id, version)
);
