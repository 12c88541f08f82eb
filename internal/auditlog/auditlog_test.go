package auditlog

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func readEvents(t *testing.T, text string) []Event {
	t.Helper()
	a := NewAssembler()
	var out []Event
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		r, err := Parse(sc.Bytes())
		if err != nil {
			t.Fatalf("Parse(%q): %v", sc.Text(), err)
		}
		out = append(out, a.Add(r)...)
	}
	return append(out, a.Flush(timeZero)...)
}

// TestRealEnrichedLog: lines auditd 3.0.9 wrote here (log_format
// ENRICHED) for `sh -c 'echo >> …/w/passwd'` under a watch with key
// identity, then netfilter events of another program, then its stop.
func TestRealEnrichedLog(t *testing.T) {
	data, err := os.ReadFile("testdata/enriched.log")
	if err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, string(data))
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4 (daemon start, the write, a netfilter change, daemon end)", len(evs))
	}
	if evs[0].Records[0].Type != "DAEMON_START" || evs[3].Records[0].Type != "DAEMON_END" {
		t.Errorf("first/last: %s %s", evs[0].Records[0].Type, evs[3].Records[0].Type)
	}
	a, ok := Describe(evs[1])
	if !ok {
		t.Fatal("the write is not a syscall event")
	}
	if evs[1].Partial || len(evs[1].Records) != 4 {
		t.Errorf("write event: partial %v, %d records", evs[1].Partial, len(evs[1].Records))
	}
	if a.Serial != 2 || a.Syscall != "openat" || a.Exe != "/usr/bin/dash" || a.Comm != "sh" || a.AUID != -1 || a.UID != 0 ||
		a.File() != "/tmp/fh-audit/w/passwd" || a.CWD != "/tmp/fh-audit" || a.Success != "yes" || a.UIDName != "root" ||
		strings.Join(a.Keys, ",") != "identity" || a.Proctitle != "sh -c echo >> /tmp/fh-audit/w/passwd" {
		t.Errorf("access %+v", a)
	}
	if a.Time.Unix() != 1796341237 || a.Time.Nanosecond() != 324_000_000 {
		t.Errorf("time %v", a.Time)
	}
	if w := a.Who(); w != "auid unset uid 0 (root)" {
		t.Errorf("Who = %q", w)
	}
	nf, _ := Describe(evs[2])
	if evs[2].Records[0].Type != "NETFILTER_CFG" || nf.Syscall != "sendmsg" || len(nf.Keys) != 0 {
		t.Errorf("netfilter event: %+v %+v", evs[2].Records, nf)
	}
}

// TestRawHexAndRelative: the RAW format (no enriched part; syscall names
// from the table), hex-encoded names with spaces, a relative name made
// absolute with CWD, several keys, a rename's PARENT records, records of
// two events interleaved.
func TestRawHexAndRelative(t *testing.T) {
	// name=2F6574632F6D7920706173737764 is "/etc/my passwd"; key joins
	// "identity" and "custom" with 0x01 (hex, as auditd writes it).
	text := `type=SYSCALL msg=audit(1700000000.5:100): arch=c000003e syscall=82 success=yes exit=0 items=4 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 comm="vi" exe="/usr/bin/vim.basic" key=6964656E7469747901637573746F6D
type=SYSCALL msg=audit(1700000000.6:101): arch=c000003e syscall=257 success=no exit=-13 items=1 ppid=1 pid=77 auid=1001 uid=1001 comm=6D7920636F6D6D exe="/usr/bin/cat" key=(null)
type=CWD msg=audit(1700000000.5:100): cwd="/etc"
type=PATH msg=audit(1700000000.5:100): item=0 name="/etc" inode=2 nametype=PARENT
type=PATH msg=audit(1700000000.5:100): item=1 name="/etc" inode=2 nametype=PARENT
type=PATH msg=audit(1700000000.5:100): item=2 name=2F6574632F6D7920706173737764 inode=5 nametype=DELETE
type=PATH msg=audit(1700000000.5:100): item=3 name="passwd" inode=6 nametype=CREATE
type=PROCTITLE msg=audit(1700000000.5:100): proctitle="vi"
type=CWD msg=audit(1700000000.6:101): cwd=2F746D702F612062
type=PATH msg=audit(1700000000.6:101): item=0 name="x" nametype=NORMAL
type=PROCTITLE msg=audit(1700000000.6:101): proctitle=636174007800
`
	evs := readEvents(t, text)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	a, _ := Describe(evs[0])
	if a.Syscall != "rename" || a.AUID != 1000 || a.Exe != "/usr/bin/vim.basic" || strings.Join(a.Keys, ",") != "identity,custom" {
		t.Errorf("rename: %+v", a)
	}
	if len(a.Paths) != 4 || a.Paths[2].Name != "/etc/my passwd" || a.Paths[3].Name != "/etc/passwd" || a.File() != "/etc/my passwd" {
		t.Errorf("paths %+v, file %q", a.Paths, a.File())
	}
	b, _ := Describe(evs[1])
	if b.Comm != "my comm" || b.CWD != "/tmp/a b" || b.File() != "/tmp/a b/x" || b.Keys != nil || b.Success != "no" || b.Proctitle != "cat x" || b.Syscall != "openat" {
		t.Errorf("second: %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	for _, l := range []string{
		"", "hello", "type=SYSCALL", "type=SYSCALL msg=audit(:1):", "type=SYSCALL msg=audit(1.2:x):",
		`type=SYSCALL msg=audit(1.2:3): comm="unterminated`, "type= msg=audit(1.2:3):",
	} {
		if _, err := Parse([]byte(l)); err == nil {
			t.Errorf("Parse(%q) accepted", l)
		}
	}
	// A syslog prefix (audisp-syslog) is skipped.
	r, err := Parse([]byte(`Dec  3 23:00:00 host audisp-syslog: type=USER_LOGIN msg=audit(1700000000.000:7): pid=1 uid=0 auid=1000 res=success`))
	if err != nil || r.Type != "USER_LOGIN" || r.Serial != 7 {
		t.Errorf("prefixed: %+v %v", r, err)
	}
}

// TestAssemblerBounds: an event whose end never comes is flushed, partial,
// once records 2 s newer arrive, or beyond MaxPending.
func TestAssemblerBounds(t *testing.T) {
	a := NewAssembler()
	a.MaxPending = 2
	add := func(l string) []Event {
		r, err := Parse([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		return a.Add(r)
	}
	if evs := add(`type=SYSCALL msg=audit(100.000:1): syscall=2 key="k"`); len(evs) != 0 {
		t.Fatal(evs)
	}
	evs := add(`type=SYSCALL msg=audit(103.000:2): syscall=2`)
	if len(evs) != 1 || evs[0].Serial != 1 || !evs[0].Partial {
		t.Fatalf("timeout: %+v", evs)
	}
	add(`type=SYSCALL msg=audit(103.100:3): syscall=2`)
	evs = add(`type=SYSCALL msg=audit(103.200:4): syscall=2`)
	if len(evs) != 1 || evs[0].Serial != 2 || a.Pending() != 2 {
		t.Fatalf("max pending: %+v, %d pending", evs, a.Pending())
	}
}
