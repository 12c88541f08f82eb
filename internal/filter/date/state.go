package date

import "time"

// State is the per-stream state of a Detector: Fail2ban's adaptive template
// order. The template that matched last is tried first (at the same place in
// the line), and templates that keep matching move to the front. The zero
// value is ready to use; a State must not be used by two goroutines at once.
type State struct {
	det   *Detector
	order []slot
	// last winner: index into order, whole-match span and the bytes around it
	// (-1 when out of the line).
	lastIdx              int
	lastPos, lastEnd     int
	lastPrev, lastAt     int
	lastEndPrev, lastNxt int
	firstUnused          int

	clock clock
	sc    scratch
	f     fields
	cand  result
	ctx   findCtx
}

// slot is one template in the stream's order, with its statistics.
type slot struct {
	t        int // index in Detector.templates
	hits     int // times it won
	matches  int // times its regex matched (Fail2ban's template.hits)
	lastUsed int64
	distance int // start of its last winning match
}

// unusedTime is how long (ns) a template may go unused before a template
// with fewer hits may take its place.
const unusedTime = int64(300 * time.Second)

func (st *State) bind(d *Detector) {
	if st.det == d && len(st.order) == len(d.templates) {
		return
	}
	st.det = d
	st.order = make([]slot, len(d.templates))
	for i := range st.order {
		st.order[i] = slot{t: i, distance: 0x7fffffff}
	}
	st.lastIdx = 0x7fffffff
	st.lastPos, st.lastEnd = 1, 0x7fffffff
	st.lastPrev, st.lastAt, st.lastEndPrev, st.lastNxt = -2, -2, -2, -2
	st.firstUnused = 0
}

func (s *slot) weight(d *Detector) float64 {
	dist := s.distance
	if dist < 1 {
		dist = 1
	}
	return float64(s.hits) * d.templates[s.t].weight / float64(dist)
}

// byteAt returns line[i] or -1 outside the line.
func byteAt(line []byte, i int) int {
	if i < 0 || i >= len(line) {
		return -1
	}
	return int(line[i])
}

func isAlnum(c int) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// search runs Fail2ban's matchTime: the last template first, then all of
// them, keeping a match found far from where dates usually are in this
// stream only if nothing better turns up.
func (st *State) search(c *findCtx, out *result) (int, bool) {
	d := st.det
	n := len(st.order)
	line := c.line
	var (
		match    result
		matched  bool
		found    result
		foundOK  bool
		foundIdx = -1
		ignore   = -1
		i        = st.lastIdx
	)
	if i < n {
		sl := &st.order[i]
		t := d.templates[sl.t]
		if t.anchored() {
			matched = t.match(c, 0, len(line), &match)
			ignore = i
		} else {
			dist, end := st.lastPos, st.lastEnd
			if (byteAt(line, dist-1) == st.lastPrev || (byteAt(line, dist) == st.lastAt && !isAlnum(st.lastAt))) &&
				(byteAt(line, end) == st.lastNxt || (byteAt(line, end-1) == st.lastEndPrev && !isAlnum(st.lastEndPrev))) &&
				dist <= len(line) {
				to := min(end, len(line))
				if dist <= to {
					matched = t.match(c, dist, to, &match)
				}
			} else {
				matched = t.match(c, 0, len(line), &match)
				ignore = i
			}
		}
		if matched {
			sl.matches++
			if !(n == 1 || t.anchored() || (match.m0 == st.lastPos && match.m1 == st.lastEnd)) {
				found, foundOK, foundIdx = match, true, i
				matched = false
			}
		}
	}
	if !matched {
		for j := 0; j < n; j++ {
			if j == ignore {
				continue
			}
			sl := &st.order[j]
			t := d.templates[sl.t]
			m := &st.cand
			if !t.match(c, 0, len(line), m) {
				continue
			}
			sl.matches++
			i, match, matched = j, *m, true
			if j+1 >= n || t.anchored() {
				break
			}
			if m.m0 == 0 && sl.hits > 0 && st.order[j+1].matches == 0 {
				break
			}
			if m.m0 > sl.distance || m.m0 > st.lastPos {
				if !foundOK || m.m0 < found.m0 {
					found, foundOK, foundIdx = *m, true, j
				}
				matched = false
				continue
			}
			break
		}
		if !matched && foundOK {
			match, matched, i = found, true, foundIdx
		}
	}
	if !matched {
		return 0, false
	}
	sl := &st.order[i]
	sl.hits++
	sl.lastUsed = c.now.UnixNano()
	sl.distance = match.m0
	if st.firstUnused == i {
		st.firstUnused++
	}
	st.lastPos, st.lastPrev, st.lastAt = match.m0, byteAt(line, match.m0-1), byteAt(line, match.m0)
	st.lastEnd, st.lastEndPrev, st.lastNxt = match.m1, byteAt(line, match.m1-1), byteAt(line, match.m1)
	tmpl := sl.t
	if i != 0 && i != st.lastIdx {
		i = st.reorder(i)
	}
	st.lastIdx = i
	*out = match
	return tmpl, true
}

// reorder moves the template at num towards the front if it won often
// enough (Fail2ban's _reorderTemplate) and returns its new index.
func (st *State) reorder(num int) int {
	d := st.det
	sl := st.order[num]
	untime := sl.lastUsed - unusedTime
	weight := sl.weight(d)
	pos := num / 2
	if st.firstUnused < num {
		pos = st.firstUnused
	}
	movable := func() bool {
		p := &st.order[pos]
		return weight > p.weight(d) || untime > p.lastUsed
	}
	if !movable() {
		if pos == num-1 {
			return num
		}
		pos = num - 1
		if !movable() {
			return num
		}
	}
	copy(st.order[pos+1:num+1], st.order[pos:num])
	st.order[pos] = sl
	for st.firstUnused < len(st.order) && st.order[st.firstUnused].hits > 0 {
		st.firstUnused++
	}
	return pos
}
