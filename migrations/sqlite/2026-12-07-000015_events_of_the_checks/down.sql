DELETE FROM submission_events WHERE actor_id IS NULL;
CREATE TABLE submission_events_old (
    id INTEGER PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    at TIMESTAMP NOT NULL,
    actor_id BIGINT NOT NULL REFERENCES users (id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT,
    comment TEXT
);
INSERT INTO submission_events_old (id, submission_id, at, actor_id, action, from_status, to_status, comment)
    SELECT id, submission_id, at, actor_id, action, from_status, to_status, comment FROM submission_events;
DROP TABLE submission_events;
ALTER TABLE submission_events_old RENAME TO submission_events;
CREATE INDEX submission_events_submission_idx ON submission_events (submission_id, id);
