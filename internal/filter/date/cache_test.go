package date

import "testing"

func TestCacheSharesDetectors(t *testing.T) {
	var c Cache
	a, err := c.Compile("{^LN-BEG}")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Compile("{^LN-BEG}")
	if a != b {
		t.Error("Compile twice gave two detectors for one pattern")
	}
	if _, err := c.Compile("%Q-not-a-code%"); err == nil {
		t.Error("bad pattern: want an error")
	}
	var nilCache *Cache
	if d, err := nilCache.Compile("{^LN-BEG}"); err != nil || d == nil {
		t.Errorf("nil cache: %v, %v", d, err)
	}
}
