-- An event may be the photo checks' own, with no user behind it: a repeat
-- found after the submission's own check (its earlier photo was checked
-- later).
ALTER TABLE submission_events ALTER COLUMN actor_id DROP NOT NULL;
