package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Events is the [events] table: how long the event history is kept.
type Events struct {
	// Keep is how long events are kept.
	Keep time.Duration
	// MaxSize bounds the state database's used size in bytes; the oldest
	// events go first.
	MaxSize int64
}

// eventsSection is [events]: the event history's retention.
type eventsSection struct{}

func (eventsSection) name() string { return "events" }

func (eventsSection) decode(d *decoder, t *node, c *Config) {
	c.Events = defaults(eventsKeys())
	if t != nil {
		decodeTable(d, t, eventsKeys(), &c.Events, nil)
	}
}

func (eventsSection) show(c *Config) any { return showTable(eventsKeys(), &c.Events) }

// eventsKeys declares the keys of [events].
func eventsKeys() []key[Events] {
	return []key[Events]{
		{
			name: "keep", typ: "duration", def: "90d",
			doc: "how long the event history (findings with their log lines, bans, unbans, reloads, source errors) is kept; at least `1h`. Purged at start and hourly",
			decode: func(d *decoder, n *node, v *Events) {
				t, ok := d.duration(n)
				if !ok {
					return
				}
				if t == Permanent || t < time.Hour {
					d.fail(n, "must be at least 1h (and not permanent: use max_size to bound the history by size)")
					return
				}
				v.Keep = t
			},
			show: func(v *Events) any { return FormatDuration(v.Keep) },
		},
		{
			name: "max_size", typ: "size", def: "1GB",
			doc: "the most the state database may hold (`500MB`, `1GB`, `2GiB`; at least `10MB`); past it the oldest events are deleted first. Bans and their history are never deleted for size",
			decode: func(d *decoder, n *node, v *Events) {
				s, ok := d.str(n)
				if !ok {
					return
				}
				b, err := ParseSize(s)
				if err == nil && b < 10<<20 {
					err = fmt.Errorf("must be at least 10MB")
				}
				if err != nil {
					d.fail(n, "%q: %v", s, err)
					return
				}
				v.MaxSize = b
			},
			show: func(v *Events) any { return FormatSize(v.MaxSize) },
		},
	}
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// ParseSize reads a size such as "1GB", "500MB", "2GiB" or "1048576".
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size (write e.g. 500MB, 1GB or 2GiB)")
	}
	return n * mult, nil
}

// FormatSize writes a size as ParseSize reads it, in the largest unit that
// divides it.
func FormatSize(b int64) string {
	for _, u := range sizeUnits {
		if b >= u.mult && b%u.mult == 0 {
			return strconv.FormatInt(b/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10) + "B"
}
