DELETE FROM submission_events WHERE actor_id IS NULL;
ALTER TABLE submission_events ALTER COLUMN actor_id SET NOT NULL;
