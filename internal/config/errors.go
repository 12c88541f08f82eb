package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a configuration file: where it is, which key, and
// what to do about it.
type Error struct {
	File string // the file the offending value came from
	Line int    // 1-based line of the key; 0 when the problem is the whole file
	Key  string // dotted key, e.g. "jails.sshd.findtime"; empty for syntax errors
	Msg  string // what is wrong and how to fix it
}

// Error formats e as "file:line: key: message".
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found while loading a configuration. Load returns
// all of them at once so that one `rampart config check` shows everything
// to fix.
type Errors []Error

// Error joins the errors, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders errors by file (in the order files were read), then
// line, then key, and drops exact duplicates.
func sortErrors(es Errors, fileOrder map[string]int) Errors {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(fileOrder[a.File], fileOrder[b.File]),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Key, b.Key),
		)
	})
	return slices.Compact(es)
}
