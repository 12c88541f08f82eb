package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/finding"
)

// changesScan is how many of the newest changes the changes page reads
// before filtering them by severity (the history has no severity index):
// the page says so when the scan was cut.
const changesScan = 5000

// changeKinds are the kinds the changes page shows, by the name its kind
// parameter takes.
var changeKinds = map[string][]event.Kind{
	"":          {event.IntegrityChange, event.HostChange},
	"integrity": {event.IntegrityChange},
	"host":      {event.HostChange},
}

// changesQuery is the query of the changes page.
type changesQuery struct {
	Kind     string // "", "integrity" or "host"
	Severity string // the lowest severity shown; "" for all
	Limit    int
}

func parseChangesQuery(q url.Values) (changesQuery, error) {
	var cq changesQuery
	if err := only(q, "kind", "severity", "limit"); err != nil {
		return cq, err
	}
	var err error
	if cq.Kind, err = param(q, "kind"); err != nil {
		return cq, err
	}
	if _, ok := changeKinds[cq.Kind]; !ok {
		return cq, fmt.Errorf("kind %q: want integrity (files: fim, auditd) or host (host collectors)", cq.Kind)
	}
	if cq.Severity, err = param(q, "severity"); err != nil {
		return cq, err
	}
	if _, ok := finding.ParseSeverity(cq.Severity); cq.Severity != "" && !ok {
		return cq, fmt.Errorf("severity %q: want info, low, medium, high or critical (that one and above are shown)", cq.Severity)
	}
	if cq.Limit, err = number(q, "limit", 1, maxEvents, defaultEvents); err != nil {
		return cq, err
	}
	return cq, nil
}

// values writes cq back as a query.
func (cq changesQuery) values() string {
	q := url.Values{}
	if cq.Kind != "" {
		q.Set("kind", cq.Kind)
	}
	if cq.Severity != "" {
		q.Set("severity", cq.Severity)
	}
	if cq.Limit != 0 && cq.Limit != defaultEvents {
		q.Set("limit", strconv.Itoa(cq.Limit))
	}
	return q.Encode()
}

// atLeast reports whether severity sev is min or above; an event without
// a known severity passes only when no minimum is set.
func atLeast(sev, min string) bool {
	if min == "" {
		return true
	}
	m, _ := finding.ParseSeverity(min)
	s, ok := finding.ParseSeverity(sev)
	return ok && s >= m
}

// changesPage is the changes page's data.
type changesPage struct {
	Query      changesQuery
	Severities []string
	Changes    []control.Event // newest first
	Scanned    int             // changes read before the severity filter
	Cut        bool            // the scan reached changesScan
	More       bool            // the limit cut older matching changes
	Live       string          // the query of the live stream
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	cq, err := parseChangesQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	kinds := changeKinds[cq.Kind]
	scan := cq.Limit
	if cq.Severity != "" {
		scan = changesScan
	}
	evs, err := s.be.Events(r.Context(), control.EventsRequest{Kinds: kinds, Limit: scan})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p := changesPage{Query: cq, Severities: []string{"info", "low", "medium", "high", "critical"}, Scanned: len(evs),
		Cut: cq.Severity != "" && len(evs) == changesScan}
	for i := len(evs) - 1; i >= 0; i-- {
		if !atLeast(evs[i].Severity, cq.Severity) {
			continue
		}
		if len(p.Changes) == cq.Limit {
			p.More = true
			break
		}
		p.Changes = append(p.Changes, evs[i])
	}
	if cq.Severity == "" && len(evs) == cq.Limit {
		p.More = true
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.String())
	}
	p.Live = url.Values{"kind": {strings.Join(names, ",")}}.Encode()
	s.render(w, r, http.StatusOK, "changes", "Changes", p)
}

// displayPath writes a path as it can be read: as it is when it is
// printable UTF-8, else quoted with every odd byte escaped (a file name
// may hold newlines, terminal escapes or bytes that are not UTF-8).
func displayPath(p string) string {
	if utf8.ValidString(p) && !strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsGraphic(r) }) {
		return p
	}
	return strconv.QuoteToGraphic(p)
}

// changeKindName is the short name of a change's kind on the page.
func changeKindName(k event.Kind) string {
	switch k {
	case event.IntegrityChange:
		return "integrity"
	case event.HostChange:
		return "host"
	}
	return k.String()
}
