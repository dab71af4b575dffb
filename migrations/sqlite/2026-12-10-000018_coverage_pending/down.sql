DROP TABLE coverage_pending;
