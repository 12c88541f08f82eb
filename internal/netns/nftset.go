package netns

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// NftSet lists the elements of nftables set inet TABLE SET in the
// namespace, read with `nft -j` (so that tests check the kernel, not
// rampart's own view of it).
func (ns *NS) NftSet(table, set string) (map[netip.Prefix]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := ns.Exec(ctx, "nft", "-j", "list", "set", "inet", table, set)
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
			p, err := nftElem(raw)
			if err != nil {
				return nil, fmt.Errorf("nft -j list set %s: %w", set, err)
			}
			got[p] = true
		}
	}
	return got, nil
}

// nftElem reads one element of nft's JSON: "192.0.2.1", {"prefix":
// {"addr": ..., "len": n}}, or either wrapped as {"elem": {"val": ...}}.
func nftElem(raw json.RawMessage) (netip.Prefix, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
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
		return nftElem(o.Elem.Val)
	case o.Prefix != nil:
		return netip.ParsePrefix(fmt.Sprintf("%s/%d", o.Prefix.Addr, o.Prefix.Len))
	}
	return netip.Prefix{}, fmt.Errorf("unknown element %s", raw)
}
