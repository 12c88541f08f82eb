package date

import (
	"regexp"
	"testing"
)

// noWordBoundEndRef is noWordBoundEnd as a regex over every suffix: the
// definition the hand-written test must agree with.
func noWordBoundEndRef(regex string) bool {
	tail := regexp.MustCompile(`^(?:\$\)?|\\b|\\s|\*\*\)*)$`)
	for i := len(regex) - 1; i >= 0; i-- {
		if tail.MatchString(regex[i:]) && (i == 0 || regex[i-1] != '\\') {
			return true
		}
	}
	return false
}

var boundEndCases = []string{
	"", "$", `\$`, "a$", "a$)", `a\$)`, `a\b`, `a\\b`, `\s`, "a**", "a**)", "a**)))", `a\**))`,
	"**", "*", "a*)", ")", "$))", `\\s`, "x(?:$)", `(?P<x>\d+)**`,
}

func TestNoWordBoundEnd(t *testing.T) {
	cases := append([]string(nil), boundEndCases...)
	for _, dt := range defaultPatterns() {
		cases = append(cases, dt.pattern)
	}
	for _, c := range cases {
		if got, want := noWordBoundEnd(c), noWordBoundEndRef(c); got != want {
			t.Errorf("noWordBoundEnd(%q) = %v, want %v", c, got, want)
		}
	}
}
