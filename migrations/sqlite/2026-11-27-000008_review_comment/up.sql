-- The reviewer's comment on a submission's latest decision (the reason of a
-- rejection), shown with the submission; the audit trail keeps every one.
ALTER TABLE submissions ADD COLUMN review_comment TEXT;
UPDATE submissions SET review_comment = (
    SELECT e.comment FROM submission_events e
    WHERE e.submission_id = submissions.id AND e.action = 'reviewed'
    ORDER BY e.id DESC LIMIT 1
);
