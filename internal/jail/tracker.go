package jail

// table is the compact per-prefix failure state of one jail, built for
// floods: a map from a 16-byte key (no pointers, so the garbage collector
// never scans it) to an index of a fixed-size entry, the last maxretry
// failure times of every entry in a flat []uint32 arena, and an intrusive
// least-recently-used list threaded through the entries by index. Entries
// and times live in chunks of chunkSize that are never copied or moved, so
// growing under a flood leaves no garbage behind and no slack beyond one
// chunk. Freed slots are reused through a free list. With maxretry 5 a
// tracked prefix costs about 100 bytes (entry 40, times 20, map slot 20 and
// the map's free space).
//
// Times are seconds on the jail's own clock (see Jail.clock); 0 means none.
type table struct {
	ring    int // slots per entry: maxretry
	index   map[[16]byte]int32
	entries [][]entry  // entry i is entries[i/chunkSize][i%chunkSize]
	times   [][]uint32 // entry i owns ring slots at the same chunk position
	used    int32      // slots handed out so far
	head    int32      // most recently touched, or none
	tail    int32      // least recently touched, or none
	free    int32      // first free slot, chained through next, or none
	live    int
}

// chunkSize is the number of entries allocated at once.
const chunkSize = 1024

// none marks the end of a list.
const none int32 = -1

// entry is the state of one tracked prefix.
type entry struct {
	key        [16]byte
	prev, next int32
	newest     uint32 // latest failure time
	lastBan    uint32 // the prefix's last ban before tracking began, 0 if none
	head       uint16 // next ring slot to write
	n          uint16 // valid ring slots
	weight     uint16 // how much one failure counts
}

func newTable(ring int) *table {
	return &table{ring: ring, index: make(map[[16]byte]int32), head: none, tail: none, free: none}
}

// at returns entry i.
func (t *table) at(i int32) *entry {
	return &t.entries[i/chunkSize][i%chunkSize]
}

// slots returns entry i's ring of failure times.
func (t *table) slots(i int32) []uint32 {
	off := int(i%chunkSize) * t.ring
	return t.times[i/chunkSize][off : off+t.ring : off+t.ring]
}

// capacity is the number of entries allocated.
func (t *table) capacity() int { return len(t.entries) * chunkSize }

// insert adds a fresh entry for key at the head of the list.
func (t *table) insert(key [16]byte) int32 {
	var i int32
	if t.free != none {
		i = t.free
		t.free = t.at(i).next
		clear(t.slots(i))
	} else {
		i = t.used
		t.used++
		if int(i) == t.capacity() {
			t.entries = append(t.entries, make([]entry, chunkSize))
			t.times = append(t.times, make([]uint32, chunkSize*t.ring))
		}
	}
	*t.at(i) = entry{key: key, prev: none, next: none, weight: 1}
	t.index[key] = i
	t.pushFront(i)
	t.live++
	return i
}

// remove drops entry i and puts its slot on the free list.
func (t *table) remove(i int32) {
	t.unlink(i)
	delete(t.index, t.at(i).key)
	*t.at(i) = entry{next: t.free, prev: none}
	t.free = i
	t.live--
}

// touch moves entry i to the head of the list.
func (t *table) touch(i int32) {
	if t.head == i {
		return
	}
	t.unlink(i)
	t.pushFront(i)
}

func (t *table) pushFront(i int32) {
	e := t.at(i)
	e.prev, e.next = none, t.head
	if t.head != none {
		t.at(t.head).prev = i
	}
	t.head = i
	if t.tail == none {
		t.tail = i
	}
}

func (t *table) unlink(i int32) {
	e := t.at(i)
	if e.prev != none {
		t.at(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next != none {
		t.at(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = none, none
}

// record writes w copies of the failure time now into entry i's ring (at
// most a full ring) and returns how many ring times lie within window
// seconds of the newest one, and the oldest of those.
func (t *table) record(i int32, now uint32, w int, window uint32) (count int, oldest uint32) {
	e := t.at(i)
	ring := t.slots(i)
	w = min(w, t.ring)
	for range w {
		ring[e.head] = now
		e.head++
		if int(e.head) == t.ring {
			e.head = 0
		}
	}
	e.n = uint16(min(int(e.n)+w, t.ring))
	e.newest = max(e.newest, now)
	oldest = e.newest
	for _, ts := range ring {
		if ts != 0 && uint64(ts)+uint64(window) >= uint64(e.newest) {
			count++
			oldest = min(oldest, ts)
		}
	}
	return count, oldest
}

// compact rebuilds the map and the chunks at their live size, in list
// order, so memory taken during a flood is given back; Go maps never shrink.
func (t *table) compact() {
	old := *t
	*t = *newTable(t.ring)
	t.index = make(map[[16]byte]int32, old.live)
	for i := old.tail; i != none; i = old.at(i).prev {
		e := old.at(i)
		j := t.insert(e.key)
		ne := t.at(j)
		ne.newest, ne.lastBan, ne.head, ne.n, ne.weight = e.newest, e.lastBan, e.head, e.n, e.weight
		copy(t.slots(j), old.slots(i))
	}
}
