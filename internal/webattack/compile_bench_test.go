package webattack_test

import (
	"testing"

	"github.com/rampart-ids/rampart/internal/webattack"
)

// BenchmarkCompile is the start-up cost: load and compile the built-in rules.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rules, err := webattack.BuiltinRules()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := webattack.Compile(rules); err != nil {
			b.Fatal(err)
		}
	}
}
