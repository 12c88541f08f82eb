package config

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Blocklist is one [blocklists.NAME] table: a list of addresses and
// networks, fetched from a URL or read from a file, enforced as a set of
// ranges in the kernel.
type Blocklist struct {
	Name string
	// URL is where the list is fetched (http:// or https://); File a local
	// file instead. Exactly one is set.
	URL  string
	File string
	// Every is how often the list is fetched or the file re-read.
	Every time.Duration
	// Format is "auto", "lines", "json" or "ndjson" (internal/blocklist).
	Format string
	// MaxEntries bounds the entries read from the list.
	MaxEntries int
}

// blocklistsSection is [blocklists]: one [blocklists.NAME] table per list.
type blocklistsSection struct{}

func (blocklistsSection) name() string { return "blocklists" }

func (blocklistsSection) decode(d *decoder, t *node, c *Config) {
	if t == nil {
		return
	}
	for _, n := range t.sortedKids() {
		b := defaults(blocklistKeys())
		b.Name = n.path[len(n.path)-1]
		if n.kids == nil {
			d.fail(n, "must be a table: [blocklists.%s]", b.Name)
			continue
		}
		if !validListName(b.Name) {
			d.fail(n, "list name %q: use 1-32 letters, digits, '_' or '-' (it names the list's kernel sets)", b.Name)
			continue
		}
		decodeTable(d, n, blocklistKeys(), &b, nil)
		_, hasURL := n.kids["url"]
		_, hasFile := n.kids["file"]
		switch {
		case hasURL && hasFile:
			d.fail(n, "set url or file, not both")
		case !hasURL && !hasFile:
			d.fail(n, "url (http:// or https://) or file (an absolute path) is missing")
		}
		c.Blocklists = append(c.Blocklists, b)
	}
	slices.SortFunc(c.Blocklists, func(a, b Blocklist) int { return strings.Compare(a.Name, b.Name) })
}

// validListName accepts what fits in a kernel set name beside its prefix
// and suffix ("list-NAME-v6").
func validListName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (blocklistsSection) show(c *Config) any {
	if len(c.Blocklists) == 0 {
		return nil
	}
	out := make(map[string]any, len(c.Blocklists))
	for i := range c.Blocklists {
		out[c.Blocklists[i].Name] = showTable(blocklistKeys(), &c.Blocklists[i])
	}
	return out
}

// blocklistKeys declares the keys of [blocklists.NAME].
func blocklistKeys() []key[Blocklist] {
	return []key[Blocklist]{
		{
			name: "url", typ: "string", defDoc: "-",
			doc: "where the list is fetched (`http://` or `https://`), with ETag and If-Modified-Since; the last good copy is kept in the state directory",
			decode: func(d *decoder, n *node, v *Blocklist) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				u, err := url.Parse(s)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					d.fail(n, "%q is not an http:// or https:// URL", s)
					return
				}
				v.URL = s
			},
			show: func(v *Blocklist) any { return v.URL }, omitEmpty: true,
		},
		{
			name: "file", typ: "path", defDoc: "-",
			doc:    "a local list instead of `url`, re-read when it changes",
			decode: func(d *decoder, n *node, v *Blocklist) { v.File, _ = d.absPath(n) },
			show:   func(v *Blocklist) any { return v.File }, omitEmpty: true,
		},
		{
			name: "every", typ: "duration", def: "12h",
			doc: "how often the list is fetched or the file re-read; at least `1m`",
			decode: func(d *decoder, n *node, v *Blocklist) {
				t, ok := d.duration(n)
				if ok && t < time.Minute {
					d.fail(n, "must be at least 1m (lists are fetched from someone else's server)")
					return
				}
				if ok {
					v.Every = t
				}
			},
			show: func(v *Blocklist) any { return FormatDuration(v.Every) },
		},
		{
			name: "format", typ: "string", def: "auto",
			doc:    "`auto`, `lines` (addresses or CIDRs, one a line, `#` and `;` comments: plain lists, FireHOL netsets, Spamhaus DROP), `json` (an array of strings) or `ndjson` (objects with a `cidr` or `ip` field)",
			decode: func(d *decoder, n *node, v *Blocklist) { v.Format, _ = d.oneOf(n, "auto", "lines", "json", "ndjson") },
			show:   func(v *Blocklist) any { return v.Format },
		},
		{
			name: "max_entries", typ: "integer", def: int64(2_000_000),
			doc: "a list with more entries is refused (the last good copy stays in force)",
			decode: func(d *decoder, n *node, v *Blocklist) {
				if i, ok := d.integer(n, 1, 10_000_000); ok {
					v.MaxEntries = int(i)
				}
			},
			show: func(v *Blocklist) any { return int64(v.MaxEntries) },
		},
	}
}
