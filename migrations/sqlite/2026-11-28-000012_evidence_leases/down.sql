DROP TABLE photo_intents;
DROP TABLE evidence_leases;
