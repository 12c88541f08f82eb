package date

import "sync"

// Cache shares compiled detectors between filters with the same
// datepattern (a daemon with ten jails compiles the usual patterns once).
// Detectors are immutable, so sharing them is safe. A nil *Cache compiles
// every time.
type Cache struct {
	mu sync.Mutex
	m  map[string]*Detector
}

// Compile returns the detector for datepattern, compiling it once.
func (c *Cache) Compile(datepattern string) (*Detector, error) {
	if c == nil {
		return Compile(datepattern)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[datepattern]; ok {
		return d, nil
	}
	d, err := Compile(datepattern)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*Detector{}
	}
	c.m[datepattern] = d
	return d, nil
}
