// Package corpus holds rampart's own web-attack test corpus, written for
// rampart (attack requests by category, and the pages, searches and agents
// of ordinary visitors) and a generator that turns it into an nginx access
// log: one address per attack request, and benign clients that browse.
// Addresses come from the documentation and benchmark ranges only.
//
// Attack files (testdata/attacks/CATEGORY.txt) have one request per line:
//
//	/raw/target?as=sent           the request target, used verbatim
//	q  PREFIX PAYLOAD             PREFIX + PAYLOAD URL-encoded as a client would
//	ua TARGET PAYLOAD             PAYLOAD as the User-Agent
//	ref TARGET PAYLOAD            PAYLOAD as the Referer
//
// Lines starting with # are comments.
package corpus

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed testdata/attacks/*.txt testdata/benign/*.txt
var files embed.FS

// Attack is one attack request of the corpus.
type Attack struct {
	Category string
	Target   string // request target as sent
	Agent    string // User-Agent ("" for a browser one)
	Referer  string
	Source   string // file:line
}

// Attacks returns the attack corpus, each q-line encoded in one of the ways
// clients send it (form encoding, %20, or only spaces escaped), chosen by
// its position so the corpus is the same on every run.
func Attacks() ([]Attack, error) {
	names, err := files.ReadDir("testdata/attacks")
	if err != nil {
		return nil, err
	}
	var out []Attack
	n := 0
	for _, e := range names {
		cat := strings.TrimSuffix(e.Name(), ".txt")
		lines, err := readLines("testdata/attacks/" + e.Name())
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			a := Attack{Category: cat, Source: fmt.Sprintf("%s:%d", e.Name(), l.n)}
			kind, rest, _ := strings.Cut(l.text, " ")
			switch {
			case strings.HasPrefix(l.text, "/"):
				a.Target = l.text
			case kind == "q":
				prefix, payload, ok := strings.Cut(rest, " ")
				if !ok {
					return nil, fmt.Errorf("corpus: %s: want q PREFIX PAYLOAD", a.Source)
				}
				a.Target = prefix + encode(payload, n%3)
				n++
			case kind == "ua" || kind == "ref":
				target, payload, ok := strings.Cut(rest, " ")
				if !ok {
					return nil, fmt.Errorf("corpus: %s: want %s TARGET PAYLOAD", a.Source, kind)
				}
				a.Target = target
				if kind == "ua" {
					a.Agent = payload
				} else {
					a.Referer = payload
				}
			default:
				return nil, fmt.Errorf("corpus: %s: line starts with neither /, q, ua nor ref", a.Source)
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// encode escapes a payload: mode 0 as a form (spaces as +), mode 1 with
// %20 and every reserved byte escaped, mode 2 escaping only spaces and #
// (what a hand-written curl command sends).
func encode(s string, mode int) string {
	switch mode {
	case 0:
		return url.QueryEscape(s)
	case 1:
		return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
	}
	return strings.NewReplacer(" ", "%20", "#", "%23").Replace(s)
}

type line struct {
	n    int
	text string
}

func readLines(name string) ([]line, error) {
	f, err := files.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []line
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimRight(sc.Text(), " \t")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, line{n, t})
	}
	return out, sc.Err()
}

// Benign is the material benign requests are made of.
type Benign struct {
	Paths, Searches, Agents []string
}

// LoadBenign reads the benign word lists.
func LoadBenign() (Benign, error) {
	var b Benign
	for _, x := range []struct {
		name string
		dst  *[]string
	}{{"paths", &b.Paths}, {"searches", &b.Searches}, {"agents", &b.Agents}} {
		lines, err := readLines("testdata/benign/" + x.name + ".txt")
		if err != nil {
			return b, err
		}
		for _, l := range lines {
			*x.dst = append(*x.dst, l.text)
		}
	}
	return b, nil
}

// Options shape a generated log.
type Options struct {
	Seed          uint64
	BenignClients int // 200 by default
	// BenignLines is the number of benign requests, spread over the
	// clients (default 30 per client).
	BenignLines int
	// AttackLines is the number of attack requests; the corpus is cycled
	// if it is larger than the corpus (default: each attack once; a
	// negative number for none).
	AttackLines int
}

// Entry is the truth about one generated line.
type Entry struct {
	Addr     netip.Addr
	Category string // "" for benign
	Source   string // corpus file:line for attacks
}

// Generate writes an nginx combined access log and returns, line by line,
// who sent each request.
func Generate(w io.Writer, opt Options) ([]Entry, error) {
	attacks, err := Attacks()
	if err != nil {
		return nil, err
	}
	ben, err := LoadBenign()
	if err != nil {
		return nil, err
	}
	if opt.BenignClients == 0 {
		opt.BenignClients = 200
	}
	if opt.BenignClients > 254*2 {
		return nil, fmt.Errorf("corpus: at most 508 benign clients")
	}
	if opt.BenignLines == 0 {
		opt.BenignLines = opt.BenignClients * 30
	}
	switch {
	case opt.AttackLines == 0:
		opt.AttackLines = len(attacks)
	case opt.AttackLines < 0:
		opt.AttackLines = 0 // benign only
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7a6d))
	type req struct {
		e                       Entry
		method, target, ref, ua string
		status                  int
	}
	reqs := make([]req, 0, opt.BenignLines+opt.AttackLines)
	clients := make([]netip.Addr, opt.BenignClients)
	agents := make([]string, opt.BenignClients)
	for i := range clients {
		// 192.0.2.0/24 first, then 2001:db8::/32 (documentation ranges).
		if i < 254 {
			clients[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		} else {
			clients[i] = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i))
		}
		agents[i] = ben.Agents[rng.IntN(len(ben.Agents))]
	}
	for i := 0; i < opt.BenignLines; i++ {
		c := rng.IntN(len(clients))
		m, t, ref, st := benignRequest(rng, ben)
		reqs = append(reqs, req{Entry{Addr: clients[c]}, m, t, ref, agents[c], st})
	}
	for i := 0; i < opt.AttackLines; i++ {
		a := attacks[i%len(attacks)]
		// One address per attack request, from 198.18.0.0/15 (benchmarking).
		addr := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
		ua := a.Agent
		if ua == "" {
			ua = ben.Agents[i%7]
		}
		ref := a.Referer
		if ref == "" {
			ref = "-"
		}
		st := []int{200, 200, 404, 403, 500, 400}[i%6]
		reqs = append(reqs, req{Entry{Addr: addr, Category: a.Category, Source: a.Source}, "GET", a.Target, ref, ua, st})
	}
	rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	t := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	bw := bufio.NewWriterSize(w, 64<<10)
	out := make([]Entry, len(reqs))
	for i, r := range reqs {
		t = t.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		fmt.Fprintf(bw, "%s - - [%s] \"%s %s HTTP/1.1\" %d %d \"%s\" \"%s\"\n",
			r.e.Addr, t.Format("02/Jan/2006:15:04:05 -0700"), r.method, nginxEscape(r.target), r.status,
			200+rng.IntN(40000), nginxEscape(r.ref), nginxEscape(r.ua))
		out[i] = r.e
	}
	return out, bw.Flush()
}

// nginxEscape writes a field as nginx's default log escaping does: ", \
// and bytes outside printable ASCII as \xHH.
func nginxEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c > 0x7e {
			fmt.Fprintf(&b, "\\x%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var campaigns = []string{"winter_sale_2026", "black-friday", "newsletter-48", "spring launch", "retargeting_q4"}

// benignRequest makes one request an ordinary visitor sends.
func benignRequest(rng *rand.Rand, ben Benign) (method, target, referer string, status int) {
	method, status, referer = "GET", 200, "-"
	if rng.IntN(3) == 0 {
		referer = "https://www.example.com" + ben.Paths[rng.IntN(len(ben.Paths))]
	}
	p := ben.Paths[rng.IntN(len(ben.Paths))]
	switch k := rng.IntN(100); {
	case k < 40:
		target = p
		if rng.IntN(20) == 0 {
			status = 404
		} else if rng.IntN(10) == 0 {
			status = 304
		}
	case k < 58:
		q := ben.Searches[rng.IntN(len(ben.Searches))]
		target = "/search?q=" + url.QueryEscape(q)
		switch rng.IntN(4) {
		case 0:
			target += fmt.Sprintf("&page=%d", 2+rng.IntN(5))
		case 1:
			target += "&sort=relevance&in=" + url.QueryEscape([]string{"all", "kitchen & dining", "books", "men's shoes"}[rng.IntN(4)])
		}
		if rng.IntN(3) == 0 {
			referer = "https://www.bing.com/search?q=" + url.QueryEscape(ben.Searches[rng.IntN(len(ben.Searches))])
		}
	case k < 68:
		v := url.Values{}
		v.Set("utm_source", []string{"newsletter", "facebook", "google", "partner.example"}[rng.IntN(4)])
		v.Set("utm_medium", []string{"email", "cpc", "social", "referral"}[rng.IntN(4)])
		v.Set("utm_campaign", campaigns[rng.IntN(len(campaigns))])
		if rng.IntN(2) == 0 {
			v.Set("utm_content", "hero banner – "+[]string{"don't miss out", "50% off & free shipping", "\"limited\" edition"}[rng.IntN(3)])
		}
		if rng.IntN(2) == 0 {
			v.Set("fbclid", randToken(rng, 60, "-_"))
		}
		if rng.IntN(3) == 0 {
			// A link carrying another encoded link, as redirectors do.
			inner := "https://www.example.com/checkout?step=2&coupon=" + url.QueryEscape("WINTER SALE")
			v.Set("redirect", inner)
		}
		target = p + "?" + v.Encode()
		if strings.Contains(p, "?") {
			target = p + "&" + v.Encode()
		}
	case k < 76:
		tok := randToken(rng, 24+rng.IntN(40), "+/")
		if rng.IntN(2) == 0 {
			tok += "=="
		}
		switch rng.IntN(3) {
		case 0:
			target = "/account/verify?token=" + url.QueryEscape(tok)
		case 1:
			target = "/password/reset?t=" + tok // sent raw: + / = are legal in a query
		default:
			target = "/api/v1/session?jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + randToken(rng, 40, "-_") + "." + randToken(rng, 43, "-_")
		}
	case k < 84:
		v := url.Values{}
		v.Set("color", []string{"red", "navy blue", "black/white", "off-white"}[rng.IntN(4)])
		v.Set("size", []string{"s", "m", "l", "xl", "42", "10 1/2"}[rng.IntN(6)])
		v.Set("price_min", fmt.Sprint(rng.IntN(50)))
		v.Set("price_max", fmt.Sprint(50+rng.IntN(200)))
		v.Set("sort", []string{"price_asc", "price_desc", "newest", "rating"}[rng.IntN(4)])
		target = "/products/category/" + []string{"kitchen", "garden-tools", "shoes/running"}[rng.IntN(3)] + "?" + v.Encode()
	case k < 90:
		target = fmt.Sprintf("/api/v1/products?ids=%d,%d,%d&fields=name,price,stock", rng.IntN(999), rng.IntN(999), rng.IntN(999))
		if rng.IntN(3) == 0 {
			method, target = "POST", "/api/v1/cart"
		}
	case k < 96:
		target = path.Join("/static/img/products", fmt.Sprintf("item-%d-%s.jpg", rng.IntN(500), []string{"front", "side", "zoom"}[rng.IntN(3)]))
		if rng.IntN(2) == 0 {
			target += fmt.Sprintf("?v=%x", rng.Uint32())
		}
	default:
		method = "POST"
		target = []string{"/login", "/checkout/payment", "/register", "/newsletter/subscribe", "/account/addresses"}[rng.IntN(5)]
		status = []int{200, 302, 302}[rng.IntN(3)]
	}
	return method, target, referer, status
}

func randToken(rng *rand.Rand, n int, extra string) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	set := alnum + extra
	b := make([]byte, n)
	for i := range b {
		b[i] = set[rng.IntN(len(set))]
	}
	return string(b)
}

// Categories returns the attack categories of the corpus, sorted.
func Categories(attacks []Attack) []string {
	seen := map[string]bool{}
	for _, a := range attacks {
		seen[a.Category] = true
	}
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
