DROP INDEX submissions_flagged_idx;
DROP TABLE filed_figures;
DROP TABLE village_figures;
