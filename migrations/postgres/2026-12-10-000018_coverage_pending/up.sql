-- The villages whose kept coverage (coverage_counts, village_figures) waits
-- for a recount: an upload marks its village in its own transaction and the
-- recount runs after the commit, once for every upload marked meanwhile, so
-- that an upload does not hold the write lock (SQLite) or the village's row
-- (PostgreSQL) for the recount. `marks` counts the marks: a recount clears
-- the row only if nobody marked it again while it counted. `surveys`: a
-- marked upload was a household survey, so the report's relatives and
-- returnees are counted again too. Reads of the kept coverage recount the
-- marked villages they cover first, so they never see a count behind.
CREATE TABLE coverage_pending (
    village_id BIGINT PRIMARY KEY REFERENCES areas (id),
    marks BIGINT NOT NULL,
    surveys BOOLEAN NOT NULL
);
