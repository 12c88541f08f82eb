package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format names an output format.
type Format string

// Output formats.
const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatSARIF Format = "sarif"
	FormatHTML  Format = "html"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatSARIF, FormatHTML:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want text, json, sarif or html", s)
}

// Render writes the report in format f. Colour applies to text only.
func Render(w io.Writer, r *Report, f Format, colour bool) error {
	switch f {
	case FormatJSON:
		return renderJSON(w, r)
	case FormatSARIF:
		return renderSARIF(w, r, Checks())
	case FormatHTML:
		return renderHTML(w, r)
	}
	return renderText(w, r, colour)
}

func renderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// palette holds the ANSI sequences, empty when colour is off.
type palette struct{ reset, bold, dim, red, yellow, green, blue string }

func newPalette(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{"\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[34m"}
}

func (p palette) status(s Status) string {
	c := ""
	switch s {
	case Pass:
		c = p.green
	case Fail, Error:
		c = p.red
	case Warn:
		c = p.yellow
	case Skip:
		c = p.dim
	}
	return fmt.Sprintf("%s%-5s%s", c, strings.ToUpper(string(s)), p.reset)
}

func renderText(w io.Writer, r *Report, colour bool) error {
	p := newPalette(colour)
	var b strings.Builder
	fmt.Fprintf(&b, "%srampart audit%s of %s", p.bold, p.reset, r.Host)
	if r.Root != "" {
		fmt.Fprintf(&b, " (--root %s)", r.Root)
	}
	fmt.Fprintf(&b, ", %s\n\n", r.Time.Format("2006-01-02 15:04:05 MST"))
	sc := p.green
	switch {
	case r.Score < 50:
		sc = p.red
	case r.Score < 80:
		sc = p.yellow
	}
	c := r.Counts()
	fmt.Fprintf(&b, "Hardening score: %s%s%d/100%s   %d checks: %d pass, %d fail, %d warn, %d skip, %d error\n\n",
		p.bold, sc, r.Score, p.reset, len(r.Checks), c[Pass], c[Fail], c[Warn], c[Skip], c[Error])
	fmt.Fprintf(&b, "%-42s %5s  %4s %4s %4s %4s %5s\n", "AREA", "SCORE", "PASS", "FAIL", "WARN", "SKIP", "ERROR")
	for _, a := range r.Areas {
		score := "-"
		if a.Score >= 0 {
			score = fmt.Sprint(a.Score)
		}
		fmt.Fprintf(&b, "%-42s %5s  %4d %4d %4d %4d %5d\n", a.Title, score, a.Pass, a.Fail, a.Warn, a.Skip, a.Error)
	}
	for _, sec := range []struct {
		title string
		st    []Status
	}{
		{"Findings", []Status{Fail}},
		{"Warnings", []Status{Warn}},
		{"Could not check", []Status{Error}},
	} {
		var fs []Finding
		for _, sev := range []Severity{High, Medium, Low} {
			for _, f := range r.Checks {
				if f.Severity == sev && hasStatus(sec.st, f.Status) {
					fs = append(fs, f)
				}
			}
		}
		if len(fs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s%s (%d)%s\n", p.bold, sec.title, len(fs), p.reset)
		for _, f := range fs {
			fmt.Fprintf(&b, "\n%s %-6s %s%s%s  %s\n", p.status(f.Status), f.Severity, p.bold, f.ID, p.reset, f.Title)
			fmt.Fprintf(&b, "      evidence: %s\n", indent(f.Evidence, "                "))
			if f.Remediation != "" {
				fmt.Fprintf(&b, "      fix:      %s%s%s\n", p.blue, indent(f.Remediation, "                "), p.reset)
			}
		}
	}
	var passed, skipped []string
	for _, f := range r.Checks {
		switch f.Status {
		case Pass:
			passed = append(passed, f.ID)
		case Skip:
			skipped = append(skipped, fmt.Sprintf("  %s%s: %s%s", p.dim, f.ID, f.Evidence, p.reset))
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\n%sSkipped (%d)%s\n%s\n", p.bold, len(skipped), p.reset, strings.Join(skipped, "\n"))
	}
	if len(passed) > 0 {
		fmt.Fprintf(&b, "\n%sPassed (%d)%s\n%s\n", p.bold, len(passed), p.reset, wrap(passed, 100, "  "))
	}
	fmt.Fprintf(&b, "\nExplain a check: rampart audit --explain ID\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func hasStatus(list []Status, s Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func indent(s, pad string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

func wrap(words []string, width int, pad string) string {
	var b strings.Builder
	line := pad
	for i, w := range words {
		sep := ", "
		if i == len(words)-1 {
			sep = ""
		}
		if len(line)+len(w)+len(sep) > width && line != pad {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = pad
		}
		line += w + sep
	}
	b.WriteString(line)
	return b.String()
}

// Explain writes what a check reads, why it matters and its remediation.
func Explain(w io.Writer, c Check) error {
	_, err := fmt.Fprintf(w, "%s  (%s, severity %s)\n%s\n\nReads:\n  %s\n\nWhy it matters:\n  %s\n\nRemediation:\n  %s\n",
		c.ID, c.Area.Title(), c.Severity, c.Title, c.Reads, c.Why, indent(c.Remediation, "  "))
	return err
}
