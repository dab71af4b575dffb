DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE user_areas;
DROP TABLE users;
DROP TABLE households;
DROP TABLE sync_counters;
DROP TABLE areas;
