package accesslog

import (
	"bytes"
	"fmt"
)

// Detect picks the format of a log from its first lines: the first
// non-empty line that parses as JSON or combined decides. It fails naming
// the first line when none of them parses, with that line's reason.
func Detect(lines [][]byte) (Format, error) {
	p := NewParser(Auto)
	var r Request
	var firstErr error
	firstN := 0
	for n, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		err := p.Parse(l, &r)
		if err == nil {
			return r.Format, nil
		}
		if firstErr == nil {
			firstErr, firstN = err, n+1
		}
	}
	if firstErr == nil {
		return Auto, fmt.Errorf("accesslog: no lines to detect the format from")
	}
	return Auto, fmt.Errorf("accesslog: unknown format: line %d is neither combined/common (nginx, Apache) nor a JSON access log (nginx, Caddy, Traefik): %v", firstN, firstErr)
}
