-- Typed ban origins: why a ban exists, as "kind name" (origin.Origin's
-- text form): "jail sshd", "manual root", "fleet web-1", "blocklist drop",
-- "kernel limit api". The old source column ("filter" or "manual") is kept
-- and now holds the origin's kind.
ALTER TABLE bans ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE history ADD COLUMN origin TEXT NOT NULL DEFAULT '';
UPDATE bans SET origin = CASE source WHEN 'manual' THEN 'manual' ELSE 'jail ' || jail END,
	source = CASE source WHEN 'manual' THEN 'manual' ELSE 'jail' END;
UPDATE history SET origin = CASE source WHEN 'manual' THEN 'manual' ELSE 'jail ' || jail END,
	source = CASE source WHEN 'manual' THEN 'manual' ELSE 'jail' END;
