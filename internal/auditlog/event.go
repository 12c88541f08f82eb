package auditlog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is the records of one audit event, joined by serial.
type Event struct {
	Time    time.Time
	Serial  uint64
	Records []Record
	// Partial is true when the event was flushed before its end record.
	Partial bool
}

// Find returns the first record of type t.
func (e *Event) Find(t string) *Record {
	for i := range e.Records {
		if e.Records[i].Type == t {
			return &e.Records[i]
		}
	}
	return nil
}

// Assembler joins records into events. An event is complete at its EOE or
// PROCTITLE record (the last of a syscall event), at once for a
// record type that stands alone, or when it is older than Timeout next to
// the newest record seen (auditd writes an event's records together; this
// bounds the wait when an end record never comes). At most MaxPending
// events are held; the oldest is flushed beyond.
type Assembler struct {
	Timeout    time.Duration
	MaxPending int

	pending map[uint64]*Event
	order   []uint64
	newest  time.Time
}

// NewAssembler returns an assembler with a 2 s timeout (auditd's own
// end_of_event_timeout) and 1024 pending events.
func NewAssembler() *Assembler {
	return &Assembler{Timeout: 2 * time.Second, MaxPending: 1024, pending: map[uint64]*Event{}}
}

// syscallParts are the record types that belong to a SYSCALL event and
// may come before its PROCTITLE.
var syscallParts = []string{"SYSCALL", "PATH", "CWD", "EXECVE", "SOCKADDR", "BPRM_FCAPS", "MMAP", "FD_PAIR", "OBJ_PID", "IPC", "CAPSET", "KERN_MODULE", "NETFILTER_CFG", "URINGOP", "OPENAT2"}

// Add takes one record and returns the events it completed (in order).
func (a *Assembler) Add(r Record) []Event {
	if r.Time.After(a.newest) {
		a.newest = r.Time
	}
	var out []Event
	ev, ok := a.pending[r.Serial]
	if !ok {
		if !slices.Contains(syscallParts, r.Type) && r.Type != "PROCTITLE" && r.Type != "EOE" {
			// A record that stands alone (USER_LOGIN, ADD_USER, DAEMON_START…).
			return append(a.expire(), Event{Time: r.Time, Serial: r.Serial, Records: []Record{r}})
		}
		ev = &Event{Time: r.Time, Serial: r.Serial}
		a.pending[r.Serial] = ev
		a.order = append(a.order, r.Serial)
	}
	if r.Type != "EOE" {
		ev.Records = append(ev.Records, r)
	}
	if r.Type == "EOE" || r.Type == "PROCTITLE" {
		out = append(out, a.take(r.Serial, false))
	}
	for len(a.order) > a.MaxPending {
		out = append(out, a.take(a.order[0], true))
	}
	return append(out, a.expire()...)
}

// expire flushes events older than Timeout next to the newest record.
func (a *Assembler) expire() []Event {
	var out []Event
	for len(a.order) > 0 {
		ev := a.pending[a.order[0]]
		if a.newest.Sub(ev.Time) < a.Timeout {
			break
		}
		out = append(out, a.take(a.order[0], true))
	}
	return out
}

// Flush returns every pending event (at the end of input, or after a quiet
// spell: now is compared with their time).
func (a *Assembler) Flush(now time.Time) []Event {
	var out []Event
	for len(a.order) > 0 {
		ev := a.pending[a.order[0]]
		if !now.IsZero() && now.Sub(ev.Time) < a.Timeout {
			break
		}
		out = append(out, a.take(a.order[0], true))
	}
	return out
}

// Pending is how many events are waiting for their end.
func (a *Assembler) Pending() int { return len(a.order) }

func (a *Assembler) take(serial uint64, partial bool) Event {
	ev := a.pending[serial]
	delete(a.pending, serial)
	if i := slices.Index(a.order, serial); i >= 0 {
		a.order = slices.Delete(a.order, i, i+1)
	}
	ev.Partial = partial
	return *ev
}

// Access is what a watched-file event says: which key matched, which
// file, which syscall, who.
type Access struct {
	Time    time.Time
	Serial  uint64
	Keys    []string
	Syscall string
	Success string
	Exe     string
	Comm    string
	// AUID is the login uid (-1 when unset), UID the real uid; AUIDName and
	// UIDName are ENRICHED's names when the log has them.
	AUID, UID         int64
	AUIDName, UIDName string
	PID               int
	// Paths are the PATH records' names (made absolute with CWD) and
	// nametypes (NORMAL, CREATE, DELETE, PARENT…).
	Paths     []PathItem
	CWD       string
	Proctitle string
}

// PathItem is one PATH record.
type PathItem struct {
	Name     string
	Nametype string
}

// Keys splits an audit key field: several keys are joined by 0x01.
func Keys(v string) []string {
	if v == "" || v == "(null)" {
		return nil
	}
	return strings.Split(v, "\x01")
}

// Describe reads a SYSCALL event as an Access; ok is false for an event
// without a SYSCALL record.
func Describe(e Event) (Access, bool) {
	sc := e.Find("SYSCALL")
	if sc == nil {
		return Access{}, false
	}
	a := Access{Time: e.Time, Serial: e.Serial, AUID: -1, UID: -1}
	k, _ := sc.Get("key")
	a.Keys = Keys(k)
	if n, ok := sc.GetEnriched("SYSCALL"); ok {
		a.Syscall = n
	} else if n, ok := sc.Get("syscall"); ok {
		arch, _ := sc.Get("arch")
		a.Syscall = syscallName(arch, n)
	}
	a.Success, _ = sc.Get("success")
	a.Exe, _ = sc.Get("exe")
	a.Comm, _ = sc.Get("comm")
	a.AUID = idField(sc, "auid")
	a.UID = idField(sc, "uid")
	a.AUIDName, _ = sc.GetEnriched("AUID")
	a.UIDName, _ = sc.GetEnriched("UID")
	if p, ok := sc.Get("pid"); ok {
		a.PID, _ = strconv.Atoi(p)
	}
	if c := e.Find("CWD"); c != nil {
		a.CWD, _ = c.Get("cwd")
	}
	if p := e.Find("PROCTITLE"); p != nil {
		a.Proctitle, _ = p.Get("proctitle")
	}
	for _, r := range e.Records {
		if r.Type != "PATH" {
			continue
		}
		name, _ := r.Get("name")
		if name == "(null)" {
			name = ""
		}
		if name != "" && !strings.HasPrefix(name, "/") && a.CWD != "" {
			name = strings.TrimSuffix(a.CWD, "/") + "/" + name
		}
		nt, _ := r.Get("nametype")
		a.Paths = append(a.Paths, PathItem{Name: name, Nametype: nt})
	}
	return a, true
}

// File is the path the access is about: the first PATH that is not the
// parent directory, else the first.
func (a *Access) File() string {
	for _, p := range a.Paths {
		if p.Nametype != "PARENT" && p.Name != "" {
			return p.Name
		}
	}
	if len(a.Paths) > 0 {
		return a.Paths[0].Name
	}
	return ""
}

func idField(r *Record, key string) int64 {
	v, ok := r.Get(key)
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 4294967295 || n < 0 {
		return -1
	}
	return n
}

// Who renders auid and uid with names when known: "auid 1000 (alice) uid 0 (root)".
func (a *Access) Who() string {
	id := func(label string, n int64, name string) string {
		if n < 0 {
			return label + " unset"
		}
		s := fmt.Sprintf("%s %d", label, n)
		if name != "" && name != "unset" {
			s += " (" + name + ")"
		}
		return s
	}
	return id("auid", a.AUID, a.AUIDName) + " " + id("uid", a.UID, a.UIDName)
}

// syscallName names the syscalls file watches produce, for logs without
// ENRICHED names (x86_64 and aarch64).
func syscallName(arch, nr string) string {
	tables := map[string]map[string]string{
		"c000003e": {"2": "open", "257": "openat", "437": "openat2", "82": "rename", "264": "renameat", "316": "renameat2",
			"87": "unlink", "263": "unlinkat", "90": "chmod", "91": "fchmod", "268": "fchmodat", "92": "chown", "93": "fchown",
			"94": "lchown", "260": "fchownat", "76": "truncate", "77": "ftruncate", "86": "link", "265": "linkat", "88": "symlink",
			"266": "symlinkat", "188": "setxattr", "189": "lsetxattr", "190": "fsetxattr", "197": "removexattr", "1": "write",
			"85": "creat", "83": "mkdir", "258": "mkdirat", "84": "rmdir", "59": "execve", "322": "execveat", "280": "utimensat"},
		"c00000b7": {"56": "openat", "437": "openat2", "38": "renameat", "276": "renameat2", "35": "unlinkat", "52": "fchmod",
			"53": "fchmodat", "54": "fchownat", "55": "fchown", "45": "truncate", "46": "ftruncate", "37": "linkat", "36": "symlinkat",
			"5": "setxattr", "6": "lsetxattr", "7": "fsetxattr", "34": "mkdirat", "221": "execve", "281": "execveat", "88": "utimensat"},
	}
	if n, ok := tables[arch][nr]; ok {
		return n
	}
	return "syscall " + nr
}
