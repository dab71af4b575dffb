DROP TABLE evidence_leases;
