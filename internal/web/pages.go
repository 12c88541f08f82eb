package web

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/event"
)

// pageNames are the pages; each is templates/NAME.html over layout.html.
var pageNames = []string{"overview", "bans", "why", "events", "changes", "fleet", "error"}

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"prefix": prefixText,
		"clock":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"until": func(t time.Time) string {
			if t.IsZero() {
				return "permanent"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"left": func(now, t time.Time) string {
			if t.IsZero() {
				return "never ends"
			}
			return t.Sub(now).Round(time.Second).String() + " left"
		},
		"duration": func(sec int64) string {
			if sec < 0 {
				return "permanent"
			}
			return (time.Duration(sec) * time.Second).String()
		},
		"addr":    func(p netip.Prefix) string { return p.Addr().String() },
		"summary": eventSummary,
		"path":    displayPath,
		"ckind":   changeKindName,
		"join":    strings.Join,
		"list":    func(v ...string) []string { return v },
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := map[string]any{}
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// page is what every page's template gets.
type page struct {
	Title string
	Nav   string
	CSRF  string
	Now   time.Time
	Data  any
}

// render writes a page, or a 500 when its template fails (nothing half
// written: it renders into a buffer first).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	var b bytes.Buffer
	p := page{Title: title, Nav: name, CSRF: sessionOf(r).csrf, Now: s.cfg.Now(), Data: data}
	if err := s.pages[name].Execute(&b, p); err != nil {
		s.log.Error("web page failed", "page", name, "err", err)
		http.Error(w, "500 the page failed to render; see the daemon's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail writes an error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), msg)
}

// failErr writes err from the backend: a daemon error is a 502, a bad
// request a 400.
func (s *Server) failErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, control.ErrInvalid):
		s.fail(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, control.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, err.Error())
	default:
		s.log.Error("web request failed", "path", r.URL.Path, "err", err)
		s.fail(w, r, http.StatusBadGateway, "the daemon did not answer: "+err.Error())
	}
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "the overview takes no parameters")
		return
	}
	ov, err := computeOverview(r.Context(), s.be, s.day.get())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", "Overview", ov)
}

// bansPage is the bans page's data.
type bansPage struct {
	Query     bansQuery
	Bans      []control.BannedEntry
	Total     int // active bans
	Matching  int
	Pages     int
	Jails     []string
	Prev      string // queries of the neighbouring pages; "" at an end
	Next      string
	SortLinks map[string]string
	Self      string // this page's query
}

func (s *Server) bans(w http.ResponseWriter, r *http.Request) {
	bq, err := parseBansQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	all, err := s.be.Banned(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p := bansPage{Query: bq, Total: len(all), SortLinks: map[string]string{}, Self: bq.values(nil)}
	jails := map[string]bool{}
	// Sort pointers: moving 10,000 entries around costs more than the
	// comparisons.
	var sel []*control.BannedEntry
	for i := range all {
		jails[all[i].Jail] = true
		if bq.match(all[i]) {
			sel = append(sel, &all[i])
		}
	}
	for j := range jails {
		p.Jails = append(p.Jails, j)
	}
	slices.Sort(p.Jails)
	by := banSorts[bq.Sort]
	slices.SortFunc(sel, func(a, b *control.BannedEntry) int {
		c := by(*a, *b)
		if c == 0 { // a total order: the same page every time
			c = a.Prefix.Addr().Compare(b.Prefix.Addr())
		}
		if c == 0 {
			c = cmp.Or(cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()), cmp.Compare(a.Jail, b.Jail))
		}
		if bq.Desc {
			return -c
		}
		return c
	})
	p.Matching = len(sel)
	p.Pages = max(1, (len(sel)+bq.Per-1)/bq.Per)
	lo := min((bq.Page-1)*bq.Per, len(sel))
	for _, b := range sel[lo:min(lo+bq.Per, len(sel))] {
		p.Bans = append(p.Bans, *b)
	}
	if bq.Page > 1 {
		p.Prev = bq.values(func(q *bansQuery) { q.Page = min(q.Page-1, p.Pages) })
	}
	if bq.Page < p.Pages {
		p.Next = bq.values(func(q *bansQuery) { q.Page++ })
	}
	for k := range banSorts {
		p.SortLinks[k] = bq.values(func(q *bansQuery) {
			q.Desc = q.Sort == k && !q.Desc
			q.Sort, q.Page = k, 1
		})
	}
	s.render(w, r, http.StatusOK, "bans", "Bans", p)
}

// whyPage is an address's page.
type whyPage struct {
	control.WhyReply
	Return string
}

func (s *Server) why(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		s.fail(w, r, http.StatusBadRequest, "this page takes no parameters")
		return
	}
	a, err := netip.ParseAddr(r.PathValue("addr"))
	if err != nil || a.Zone() != "" {
		s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("%q is not an address", r.PathValue("addr")))
		return
	}
	rep, err := s.be.Why(r.Context(), a.Unmap())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	slices.Reverse(rep.Events) // newest first, like the events page
	s.render(w, r, http.StatusOK, "why", a.Unmap().String(), whyPage{WhyReply: rep, Return: "/ip/" + a.Unmap().String()})
}

// eventsPage is the events page's data.
type eventsPage struct {
	Query  eventsQuery
	Kinds  []string
	Events []control.Event // newest first
	Live   string          // the query of the live stream
	More   bool            // the limit cut older events
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	eq, err := parseEventsQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	evs, err := s.be.Events(r.Context(), eq.EventsRequest)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	slices.Reverse(evs)
	live := eq
	live.Limit = 0
	s.render(w, r, http.StatusOK, "events", "Events", eventsPage{
		Query: eq, Kinds: event.KindNames(), Events: evs, Live: live.values(), More: len(evs) == eq.Limit,
	})
}

func (s *Server) unban(w http.ResponseWriter, r *http.Request) {
	if !s.checkCSRF(w, r) {
		return
	}
	p, err := parseTarget(r.PostFormValue("prefix"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "unban: "+err.Error())
		return
	}
	jail := r.PostFormValue("jail")
	if len(jail) > maxParam {
		s.fail(w, r, http.StatusBadRequest, "unban: jail: too long")
		return
	}
	rep, err := s.be.Unban(r.Context(), control.UnbanRequest{Prefix: p, Jail: jail})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.log.Info("web unban", "prefix", prefixText(p), "jail", jail, "removed", len(rep.Removed), "remote", r.RemoteAddr)
	if r.Header.Get("X-CSRF-Token") != "" { // the page's script: no redirect
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "unbanned %d\n", len(rep.Removed))
		return
	}
	http.Redirect(w, r, safeReturn(r.PostFormValue("return")), http.StatusSeeOther)
}

// safeReturn keeps a form's return address on the dashboard: a path of
// its own, never another host.
func safeReturn(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/bans"
	}
	return u.RequestURI()
}

// eventSummary is an event's one-line description.
func eventSummary(e event.Event) string {
	var b strings.Builder
	switch e.Kind {
	case event.Finding:
		fmt.Fprintf(&b, "%s matched %s", e.Rule, e.Source)
		if e.Severity != "" {
			fmt.Fprintf(&b, " (%s)", e.Severity)
		}
	case event.BanAdded:
		fmt.Fprintf(&b, "banned by %s", e.Origin)
		if e.Until.IsZero() {
			b.WriteString(", permanently")
		} else {
			fmt.Fprintf(&b, " until %s", e.Until.UTC().Format("2006-01-02 15:04:05Z"))
		}
		if e.Count > 1 {
			fmt.Fprintf(&b, " (ban number %d)", e.Count)
		}
	case event.BanRemoved:
		fmt.Fprintf(&b, "unbanned (%s; was %s)", e.Reason, e.Origin)
	case event.BanExpired:
		fmt.Fprintf(&b, "ban ended (was %s)", e.Origin)
	case event.FirewallBatch:
		fmt.Fprintf(&b, "firewall batch: %d added, %d removed in %s", e.Adds, e.Removes, e.Took)
	case event.Reload:
		b.WriteString("configuration reloaded")
	case event.SourceError:
		fmt.Fprintf(&b, "source %s", e.Source)
	case event.FirewallRestored:
		fmt.Fprintf(&b, "firewall restored: %d bans put back in %s", e.Count, e.Took)
		if e.Reason != "" {
			fmt.Fprintf(&b, " (%s)", e.Reason)
		}
	case event.IntegrityChange, event.HostChange:
		fmt.Fprintf(&b, "%s %s: %s", e.Rule, displayPath(e.Path), e.Reason)
		if e.Severity != "" {
			fmt.Fprintf(&b, " (%s)", e.Severity)
		}
	case event.AuditResult:
		if e.Err != "" {
			b.WriteString("audit did not run")
		} else {
			fmt.Fprintf(&b, "audit score %d, %d failing check%s", e.Score, e.Count, plural(e.Count))
		}
	case event.PolicyApplied:
		fmt.Fprintf(&b, "baseline policy %s (%d rules)", e.Reason, e.Count)
	}
	if e.Err != "" {
		fmt.Fprintf(&b, ": %s", e.Err)
	}
	return b.String()
}
