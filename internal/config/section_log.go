package config

// Log is the [log] table: where and how the daemon writes its log.
type Log struct {
	// Format is "auto", "journal", "json" or "text".
	Format string
}

// logSection is [log].
type logSection struct{}

func (logSection) name() string { return "log" }

func (logSection) decode(d *decoder, t *node, c *Config) {
	c.Log = defaults(logKeys())
	if t != nil {
		decodeTable(d, t, logKeys(), &c.Log, nil)
	}
}

func (logSection) show(c *Config) any { return showTable(logKeys(), &c.Log) }

// logKeys declares the keys of [log].
func logKeys() []key[Log] {
	return []key[Log]{
		{
			name: "format", typ: "string", def: "auto",
			doc:    "`journal`: structured entries in the systemd journal (`journalctl -u rampart RAMPART_EVENT=ban`); `json`: one JSON object per line on stderr; `text`: `message key=value` lines on stderr; `auto`: the journal when running under systemd with a journal, else text",
			decode: func(d *decoder, n *node, v *Log) { v.Format, _ = d.oneOf(n, "auto", "journal", "json", "text") },
			show:   func(v *Log) any { return v.Format },
		},
	}
}
