package web

import (
	"cmp"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/origin"
)

// Limits of the pages' queries.
const (
	maxParam      = 256 // bytes of one parameter's value
	defaultPer    = 50  // bans per page
	maxPer        = 500
	defaultEvents = 100 // events per page
	maxEvents     = 1000
)

// bansQuery is the query of the bans page.
type bansQuery struct {
	Search string      // substring of the prefix, jail or origin
	Jail   string      // exactly this jail
	Origin origin.Kind // exactly this kind of origin
	Sort   string      // a key of banSorts
	Desc   bool
	Page   int // from 1
	Per    int
}

// banSorts are the orders the bans page offers.
var banSorts = map[string]func(a, b control.BannedEntry) int{
	"since":  func(a, b control.BannedEntry) int { return a.Since.Compare(b.Since) },
	"until":  func(a, b control.BannedEntry) int { return anyTime(a).Compare(anyTime(b)) },
	"prefix": func(a, b control.BannedEntry) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) },
	"jail":   func(a, b control.BannedEntry) int { return cmp.Compare(a.Jail, b.Jail) },
	"count":  func(a, b control.BannedEntry) int { return cmp.Compare(a.Count, b.Count) },
	"origin": func(a, b control.BannedEntry) int { return cmp.Compare(a.Origin.String(), b.Origin.String()) },
}

// anyTime is a ban's end for sorting: permanent after every time.
type anyTime control.BannedEntry

func (a anyTime) Compare(b anyTime) int {
	switch az, bz := a.Until.IsZero(), b.Until.IsZero(); {
	case az && bz:
		return 0
	case az:
		return 1
	case bz:
		return -1
	}
	return a.Until.Compare(b.Until)
}

// param reads one parameter: at most once, at most maxParam bytes, valid
// UTF-8 without control characters.
func param(q url.Values, name string) (string, error) {
	v := q[name]
	switch {
	case len(v) == 0:
		return "", nil
	case len(v) > 1:
		return "", fmt.Errorf("%s: given %d times, give it once", name, len(v))
	case len(v[0]) > maxParam:
		return "", fmt.Errorf("%s: longer than %d bytes", name, maxParam)
	case !utf8.ValidString(v[0]) || strings.ContainsFunc(v[0], func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("%s: not printable text", name)
	}
	return strings.TrimSpace(v[0]), nil
}

// only refuses parameters the page does not take.
func only(q url.Values, names ...string) error {
	for k := range q {
		if !slices.Contains(names, k) {
			return fmt.Errorf("unknown parameter %q (this page takes %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// number reads a whole number in [lo, hi]; def when absent.
func number(q url.Values, name string, lo, hi, def int) (int, error) {
	s, err := param(q, name)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q: want a number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// parseBansQuery reads the bans page's query.
func parseBansQuery(q url.Values) (bansQuery, error) {
	bq := bansQuery{Sort: "since", Desc: true}
	if err := only(q, "q", "jail", "origin", "sort", "page", "per"); err != nil {
		return bq, err
	}
	var err error
	if bq.Search, err = param(q, "q"); err != nil {
		return bq, err
	}
	if bq.Jail, err = param(q, "jail"); err != nil {
		return bq, err
	}
	o, err := param(q, "origin")
	if err != nil {
		return bq, err
	}
	if o != "" {
		k, err := origin.Parse(o)
		if err != nil || k.Name != "" {
			return bq, fmt.Errorf("origin %q: want a kind: jail, manual, fleet, blocklist or kernel", o)
		}
		bq.Origin = k.Kind
	}
	s, err := param(q, "sort")
	if err != nil {
		return bq, err
	}
	if s != "" {
		name, desc := strings.CutPrefix(s, "-")
		if _, ok := banSorts[name]; !ok {
			return bq, fmt.Errorf("sort %q: want since, until, prefix, jail, count or origin (a leading - reverses)", s)
		}
		bq.Sort, bq.Desc = name, desc
	}
	if bq.Page, err = number(q, "page", 1, 1_000_000, 1); err != nil {
		return bq, err
	}
	if bq.Per, err = number(q, "per", 1, maxPer, defaultPer); err != nil {
		return bq, err
	}
	return bq, nil
}

// values writes bq back as a query, with changes applied.
func (bq bansQuery) values(change func(*bansQuery)) string {
	if change != nil {
		change(&bq)
	}
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("q", bq.Search)
	set("jail", bq.Jail)
	set("origin", string(bq.Origin))
	if bq.Sort != "since" || !bq.Desc {
		s := bq.Sort
		if bq.Desc {
			s = "-" + s
		}
		set("sort", s)
	}
	if bq.Page > 1 {
		set("page", strconv.Itoa(bq.Page))
	}
	if bq.Per != defaultPer && bq.Per != 0 {
		set("per", strconv.Itoa(bq.Per))
	}
	return q.Encode()
}

// match reports whether b is one bq selects.
func (bq bansQuery) match(b control.BannedEntry) bool {
	if bq.Jail != "" && b.Jail != bq.Jail {
		return false
	}
	if bq.Origin != "" && b.Origin.Kind != bq.Origin {
		return false
	}
	if bq.Search == "" {
		return true
	}
	s := strings.ToLower(bq.Search)
	if a, err := netip.ParseAddr(bq.Search); err == nil && b.Prefix.Contains(a.Unmap()) {
		return true
	}
	if p, err := netip.ParsePrefix(bq.Search); err == nil {
		return b.Prefix.Bits() >= p.Bits() && p.Contains(b.Prefix.Addr())
	}
	return strings.Contains(prefixText(b.Prefix), s) || strings.Contains(strings.ToLower(b.Jail), s) ||
		strings.Contains(strings.ToLower(b.Origin.String()), s)
}

// eventsQuery is the query of the events page and its live stream.
type eventsQuery struct {
	control.EventsRequest
}

// parseEventsQuery reads the events page's query (kind, jail, ip, limit).
func parseEventsQuery(q url.Values) (eventsQuery, error) {
	var eq eventsQuery
	if err := only(q, "kind", "jail", "ip", "limit"); err != nil {
		return eq, err
	}
	kinds, err := param(q, "kind")
	if err != nil {
		return eq, err
	}
	for _, k := range strings.Split(kinds, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		kind, ok := event.ParseKind(k)
		if !ok {
			return eq, fmt.Errorf("kind %q: want one of %s", k, strings.Join(event.KindNames(), ", "))
		}
		if !slices.Contains(eq.Kinds, kind) {
			eq.Kinds = append(eq.Kinds, kind)
		}
	}
	if eq.Jail, err = param(q, "jail"); err != nil {
		return eq, err
	}
	ip, err := param(q, "ip")
	if err != nil {
		return eq, err
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.Zone() != "" {
			return eq, fmt.Errorf("ip %q: not an address", ip)
		}
		eq.Addr = a.Unmap()
	}
	if eq.Limit, err = number(q, "limit", 1, maxEvents, defaultEvents); err != nil {
		return eq, err
	}
	return eq, nil
}

// values writes eq back as a query (without limit when it is the default).
func (eq eventsQuery) values() string {
	q := url.Values{}
	var kinds []string
	for _, k := range eq.Kinds {
		kinds = append(kinds, k.String())
	}
	if len(kinds) > 0 {
		q.Set("kind", strings.Join(kinds, ","))
	}
	if eq.Jail != "" {
		q.Set("jail", eq.Jail)
	}
	if eq.Addr.IsValid() {
		q.Set("ip", eq.Addr.String())
	}
	if eq.Limit != 0 && eq.Limit != defaultEvents {
		q.Set("limit", strconv.Itoa(eq.Limit))
	}
	return q.Encode()
}

// parseTarget reads the prefix of an unban form: an address or a network
// without host bits.
func parseTarget(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("prefix: missing")
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("prefix %q: not an address or network", s)
	}
	if p.Addr().Is4In6() {
		return p, fmt.Errorf("prefix %q: write IPv4 networks in IPv4 form", s)
	}
	if p != p.Masked() {
		return p, fmt.Errorf("prefix %q: host bits are set (did you mean %s?)", s, p.Masked())
	}
	return p, nil
}

// prefixText writes a single address without /32 or /128.
func prefixText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
