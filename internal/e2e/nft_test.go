package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// kernelSet returns the addresses and networks in set of table inet
// rampart in ns, read with `nft -j list set` (the nft tool, inside the
// namespace only).
func kernelSet(ns *netns.NS, set string) (map[netip.Prefix]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := ns.Exec(ctx, "nft", "-j", "list", "set", "inet", "rampart", set)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("nft -j list set %s: %w", set, err)
	}
	got := map[netip.Prefix]bool{}
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, raw := range o.Set.Elem {
			p, err := parseElem(raw)
			if err != nil {
				return nil, fmt.Errorf("nft -j list set %s: %w", set, err)
			}
			got[p] = true
		}
	}
	return got, nil
}

// parseElem reads one element of nft's JSON: "192.0.2.1", {"prefix":
// {"addr": ..., "len": n}}, or either wrapped as {"elem": {"val": ...}}.
func parseElem(raw json.RawMessage) (netip.Prefix, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return single(a), nil
	}
	var o struct {
		Elem *struct {
			Val json.RawMessage `json:"val"`
		} `json:"elem"`
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return netip.Prefix{}, err
	}
	switch {
	case o.Elem != nil:
		return parseElem(o.Elem.Val)
	case o.Prefix != nil:
		return netip.ParsePrefix(fmt.Sprintf("%s/%d", o.Prefix.Addr, o.Prefix.Len))
	}
	return netip.Prefix{}, fmt.Errorf("unknown element %s", raw)
}

// sshdLine is an auth.log line in Debian 12's rsyslog format (RFC 3339)
// for a failed password login of root from a.
func sshdLine(now time.Time, a netip.Addr, port int) string {
	return fmt.Sprintf("%s vm sshd[%d]: Failed password for root from %s port %d ssh2\n",
		now.Format("2006-01-02T15:04:05.000000-07:00"), 1000+port%30000, a, port)
}

// appendFile appends data to path, creating it.
func appendFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// failures returns n failure lines for a.
func failures(a netip.Addr, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(sshdLine(time.Now(), a, 40000+i))
	}
	return b.String()
}
