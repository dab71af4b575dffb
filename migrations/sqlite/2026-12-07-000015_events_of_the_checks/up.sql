-- An event may be the photo checks' own, with no user behind it: a repeat
-- found after the submission's own check (its earlier photo was checked
-- later). SQLite cannot drop NOT NULL in place: the table is copied.
CREATE TABLE submission_events_new (
    id INTEGER PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    comment TEXT
);
INSERT INTO submission_events_new (id, submission_id, at, actor_id, action, from_status, to_status, comment)
    SELECT id, submission_id, at, actor_id, action, from_status, to_status, comment FROM submission_events;
DROP TABLE submission_events;
ALTER TABLE submission_events_new RENAME TO submission_events;
CREATE INDEX submission_events_submission_idx ON submission_events (submission_id, id);
