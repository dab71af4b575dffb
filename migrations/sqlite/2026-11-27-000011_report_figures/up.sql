-- What a report counts of one village for one campaign, kept live like
-- coverage_counts (a JSON document: the counts per target, households by
-- category, meetings held, relatives abroad and returnees of the latest
-- approved surveys), with the moment it was last recounted.
CREATE TABLE village_figures (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    village_id BIGINT NOT NULL REFERENCES areas (id),
    village_path TEXT NOT NULL,
    figures TEXT NOT NULL,
    recounted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, village_id)
);
CREATE INDEX village_figures_path_idx ON village_figures (campaign_id, village_path);

-- A report's figures of one village as of a due moment (a daily report's
-- 14:00, a monthly report's 15th, a campaign's end), written once and read
-- from then on: a report that is filed does not change.
CREATE TABLE filed_figures (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    as_of TIMESTAMP NOT NULL,
    village_id BIGINT NOT NULL REFERENCES areas (id),
    village_path TEXT NOT NULL,
    figures TEXT NOT NULL,
    filed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, as_of, village_id)
);
CREATE INDEX filed_figures_path_idx ON filed_figures (campaign_id, as_of, village_path);

-- The flagged submissions still waiting for review, which a report counts.
CREATE INDEX submissions_flagged_idx ON submissions (area_path, received_at)
    WHERE status = 'received' AND risk > 0;
