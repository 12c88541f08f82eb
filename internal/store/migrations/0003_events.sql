-- The event history: every event of the daemon's bus (findings with the
-- log line that caused them, bans, unbans, expiries, reloads, source
-- errors…). Times are Unix nanoseconds; prefix is '' for events about no
-- address; detail holds the kind's other fields as JSON.
CREATE TABLE events (
	id       INTEGER PRIMARY KEY,
	at       INTEGER NOT NULL,
	kind     TEXT    NOT NULL,
	jail     TEXT    NOT NULL DEFAULT '',
	prefix   TEXT    NOT NULL DEFAULT '',
	origin   TEXT    NOT NULL DEFAULT '',
	rule     TEXT    NOT NULL DEFAULT '',
	severity TEXT    NOT NULL DEFAULT '',
	source   TEXT    NOT NULL DEFAULT '',
	evidence TEXT    NOT NULL DEFAULT '',
	detail   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_prefix ON events (prefix, at);
CREATE INDEX events_kind ON events (kind, at);
CREATE INDEX events_jail ON events (jail, at);
