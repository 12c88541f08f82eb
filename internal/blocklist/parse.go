// Package blocklist reads published lists of hostile addresses — plain
// address lists, CIDR lists, FireHOL netsets, Spamhaus DROP (text and
// JSON), JSON arrays — and merges them into the fewest prefixes for an
// nftables interval set. It is pure: fetching and enforcing are elsewhere.
package blocklist

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Format names a list's layout.
type Format string

// The formats Parse reads.
const (
	// Auto picks JSON for a body starting with '[' or '{', else Lines.
	Auto Format = "auto"
	// Lines is one address or CIDR per line, with '#' or ';' comments:
	// plain lists, CIDR lists, FireHOL netsets and Spamhaus DROP text
	// ("192.0.2.0/24 ; SBL123") are all this.
	Lines Format = "lines"
	// JSONArray is ["192.0.2.1", "198.51.100.0/24", …].
	JSONArray Format = "json"
	// NDJSON is one JSON object per line with a "cidr" (or "ip") field,
	// as Spamhaus publishes drop_v4.json; objects without one (its
	// metadata line) are skipped.
	NDJSON Format = "ndjson"
)

// Limits bound what Parse accepts from a list (untrusted input).
const (
	MaxLineBytes = 4096
	// DefaultMaxEntries bounds a list's entries (FireHOL's largest sets
	// hold a few hundred thousand).
	DefaultMaxEntries = 2_000_000
	// maxReported bounds the line errors kept in a Result.
	maxReported = 10
)

// LineError is an entry that is not an address or network.
type LineError struct {
	Line int
	Text string
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %q: %s", e.Line, e.Text, e.Err) }

// Result is what Parse read.
type Result struct {
	// Entries are the list's networks (single addresses as /32 or /128),
	// held compactly; Len counts them, Prefixes lists them.
	Entries
	Format  Format      // the format read (Auto resolved)
	Skipped int         // entries that did not parse
	Errors  []LineError // the first of them
}

// Parse reads a list in format f with at most maxEntries entries (0:
// DefaultMaxEntries). Entries that do not parse are skipped, counted and
// the first few reported; a list over the limit, a line longer than
// MaxLineBytes or a body that is not the format is an error.
func Parse(r io.Reader, f Format, maxEntries int) (Result, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if f == "" || f == Auto {
		f = Lines
		head, _ := br.Peek(512)
		switch t := bytes.TrimLeft(head, " \t\r\n\ufeff"); {
		case len(t) > 0 && t[0] == '[':
			f = JSONArray
		case len(t) > 0 && t[0] == '{':
			f = NDJSON
		}
	}
	res := Result{Format: f}
	add := func(line int, s string) error {
		p, err := parseEntry(s)
		if err != nil {
			res.Skipped++
			if len(res.Errors) < maxReported {
				res.Errors = append(res.Errors, LineError{Line: line, Text: truncate(s), Err: err.Error()})
			}
			return nil
		}
		if res.Len() >= maxEntries {
			return fmt.Errorf("blocklist: more than %d entries (line %d)", maxEntries, line)
		}
		res.Add(p)
		return nil
	}
	switch f {
	case JSONArray:
		// Element by element: the array is never held whole.
		dec := json.NewDecoder(io.LimitReader(br, int64(maxEntries)*(MaxLineBytes+4)))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			if err == nil {
				err = fmt.Errorf("starts with %v", tok)
			}
			return Result{}, fmt.Errorf("blocklist: not a JSON array of strings: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return Result{}, fmt.Errorf("blocklist: not a JSON array of strings: %w", err)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				res.Skipped++
				if len(res.Errors) < maxReported {
					res.Errors = append(res.Errors, LineError{Line: i + 1, Text: truncate(string(raw)), Err: "not a string"})
				}
				continue
			}
			if err := add(i+1, s); err != nil {
				return Result{}, err
			}
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			if err == nil {
				err = fmt.Errorf("ends with %v", tok)
			}
			return Result{}, fmt.Errorf("blocklist: not a JSON array of strings: %w", err)
		}
		return res, nil
	case Lines, NDJSON:
		return res, eachLine(br, func(n int, line string) error {
			if f == NDJSON {
				line = strings.TrimSpace(line)
				if line == "" {
					return nil
				}
				var o struct {
					CIDR string `json:"cidr"`
					IP   string `json:"ip"`
				}
				if err := json.Unmarshal([]byte(line), &o); err != nil {
					res.Skipped++
					if len(res.Errors) < maxReported {
						res.Errors = append(res.Errors, LineError{Line: n, Text: truncate(line), Err: "not a JSON object"})
					}
					return nil
				}
				if o.CIDR == "" {
					o.CIDR = o.IP
				}
				if o.CIDR == "" {
					return nil // metadata
				}
				return add(n, o.CIDR)
			}
			if i := strings.IndexAny(line, "#;"); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				return nil
			}
			return add(n, fields[0])
		})
	}
	return Result{}, fmt.Errorf("blocklist: unknown format %q (use auto, lines, json or ndjson)", f)
}

// eachLine calls fn for each line, numbered from 1.
func eachLine(br *bufio.Reader, fn func(n int, line string) error) error {
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		n++
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxLineBytes {
			return fmt.Errorf("blocklist: line %d is longer than %d bytes", n, MaxLineBytes)
		}
		if len(line) > 0 {
			if e := fn(n, strings.TrimRight(string(line), "\r\n")); e != nil {
				return e
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blocklist: reading line %d: %w", n, err)
		}
	}
}

// parseEntry reads an address or a CIDR; non-canonical CIDRs are masked.
func parseEntry(s string) (netip.Prefix, error) {
	s = strings.TrimPrefix(s, "\ufeff")
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR")
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, errors.New("has a zone")
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, errors.New("IPv4-mapped IPv6: write the IPv4 network")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an address or CIDR")
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("has a zone")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
