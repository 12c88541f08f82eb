-- The fleet's cursor: per JetStream stream, the last sequence this node
-- applied (catch-up resumes after it) and the start time of the last local
-- ban the stream acknowledged (bans after it are published again at start).
CREATE TABLE fleet_cursor (
	stream    TEXT PRIMARY KEY,
	seq       INTEGER NOT NULL DEFAULT 0,
	published INTEGER NOT NULL DEFAULT 0
);
