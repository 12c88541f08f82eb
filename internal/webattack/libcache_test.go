package webattack

import (
	"fmt"
	"strings"
	"testing"

	libinjection "github.com/corazawaf/libinjection-go"
)

// TestLibCache: remembered verdicts are libinjection's, the first time and
// again, across the cache emptying itself when full.
func TestLibCache(t *testing.T) {
	var c libCache
	values := []string{"1' UNION SELECT password FROM users--", "<script>alert(1)</script>", "o'reilly & sons", "1 or 1=1", "plain"}
	for i := 0; i < 3*maxLibCache; i++ {
		values = append(values, fmt.Sprintf("x%d' or '%d'='%d", i, i, i))
	}
	for round := 0; round < 2; round++ {
		for i, v := range values {
			if i%7 == 0 && round == 0 {
				// XSS first for some: each verdict is remembered on its own
				if got, want := c.isXSS([]byte(v)), libinjection.IsXSS(v); got != want {
					t.Fatalf("isXSS(%q) = %v, want %v", v, got, want)
				}
			}
			ok, fp := c.isSQLi([]byte(v))
			wok, wfp := libinjection.IsSQLi(v)
			if ok != wok || fp != wfp {
				t.Fatalf("round %d: isSQLi(%q) = %v %q, want %v %q", round, v, ok, fp, wok, wfp)
			}
			if got, want := c.isXSS([]byte(v)), libinjection.IsXSS(v); got != want {
				t.Fatalf("round %d: isXSS(%q) = %v, want %v", round, v, got, want)
			}
			if len(c.m) > maxLibCache {
				t.Fatalf("cache holds %d values, more than %d", len(c.m), maxLibCache)
			}
		}
	}
	// a long value is checked, not remembered
	long := "1' or '1'='1' -- " + strings.Repeat("x", maxLibCacheValue)
	before := len(c.m)
	if ok, _ := c.isSQLi([]byte(long)); !ok || len(c.m) > before {
		t.Errorf("a %d-byte injection: verdict %v, cache %d -> %d values", len(long), ok, before, len(c.m))
	}
	// the keys are copies, also when a second verdict is added to a value
	// (Go stores the key again on assignment): a caller's buffer changing
	// leaves them alone
	var d libCache
	buf := []byte("1' or '1'='1")
	d.isSQLi(buf)
	d.isXSS(buf)
	copy(buf, "hello world!")
	if ok, _ := d.isSQLi([]byte("1' or '1'='1")); !ok {
		t.Errorf("after the caller's buffer changed, the injection is no longer remembered as one")
	}
	if ok, _ := d.isSQLi(buf); ok {
		t.Errorf("%q is remembered as an injection", buf)
	}
}

// TestLibCacheReusedBuffer is how the detector calls it: one buffer, a
// new request's value written over the last. A remembered key must not
// follow the buffer (it did when a second verdict was stored under the
// caller's bytes: a benign value then found an attack's verdict, rarely,
// depending on the map's hash seed).
func TestLibCacheReusedBuffer(t *testing.T) {
	for i := 0; i < 3000; i++ {
		var c libCache
		attack := fmt.Sprintf("<svg onload=alert(%06d)>", i)
		benign := fmt.Sprintf("dw29A0ttNoIaAANNwr%06d", i)
		benign += strings.Repeat("x", len(attack)-len(benign))
		buf := []byte(attack)
		c.isSQLi(buf)
		if !c.isXSS(buf) {
			t.Fatalf("%q is not XSS to libinjection", attack)
		}
		copy(buf, benign)
		if c.isXSS(buf) {
			t.Fatalf("pair %d: %q found the verdict of %q", i, benign, attack)
		}
	}
}
