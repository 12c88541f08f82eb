-- Active bans: one row per jail and banned prefix. Times are Unix
-- nanoseconds; until is NULL for a permanent ban.
CREATE TABLE bans (
	jail   TEXT    NOT NULL,
	prefix TEXT    NOT NULL,
	since  INTEGER NOT NULL,
	until  INTEGER,
	count  INTEGER NOT NULL,
	source TEXT    NOT NULL,
	PRIMARY KEY (jail, prefix)
) WITHOUT ROWID;
CREATE INDEX bans_until ON bans (until) WHERE until IS NOT NULL;
CREATE INDEX bans_prefix ON bans (prefix);

-- Every ban ever made, for bantime.increment counts and the recidive jail.
CREATE TABLE history (
	id     INTEGER PRIMARY KEY,
	jail   TEXT    NOT NULL,
	prefix TEXT    NOT NULL,
	at     INTEGER NOT NULL,
	until  INTEGER,
	count  INTEGER NOT NULL,
	source TEXT    NOT NULL
);
CREATE INDEX history_prefix ON history (prefix, jail, at);
CREATE INDEX history_at ON history (at);

-- Read positions of followed files (and journals).
CREATE TABLE positions (
	key             TEXT    PRIMARY KEY,
	dev             INTEGER NOT NULL,
	inode           INTEGER NOT NULL,
	offset          INTEGER NOT NULL,
	fingerprint     TEXT    NOT NULL,
	fingerprint_len INTEGER NOT NULL,
	cursor          TEXT    NOT NULL,
	updated         INTEGER NOT NULL
) WITHOUT ROWID;

-- journald cursors, per jail or source.
CREATE TABLE cursors (
	key     TEXT    PRIMARY KEY,
	cursor  TEXT    NOT NULL,
	updated INTEGER NOT NULL
) WITHOUT ROWID;
