package hostwatch

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// TestSocketsInANamespace reads the real /proc/net of a namespace this test
// creates, with socat listening there: a new TCP listener and a bound UDP
// socket are new items naming socat and root; when socat stops they are
// removed.
func TestSocketsInANamespace(t *testing.T) {
	netns.SkipUnlessRoot(t)
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("skipping: socat is not installed; run scripts/deps.sh")
	}
	ns := netns.New(t, "hostsock")
	// A process that stays in the namespace: its /proc/PID/net is the namespace's.
	anchor := ns.Command(context.Background(), "sleep", "60")
	if err := anchor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { anchor.Process.Kill(); anchor.Wait() })
	// `ip netns exec` enters the namespace, then execs sleep: wait for that.
	self, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		cur, _ := os.Readlink("/proc/" + strconv.Itoa(anchor.Process.Pid) + "/ns/net")
		if cur != "" && cur != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the anchor process never entered the namespace")
		}
	}
	env := Env{ProcNet: "/proc/" + strconv.Itoa(anchor.Process.Pid) + "/net"}
	c := socketsCollector()
	collect := func() map[string]string {
		items, err := c.Collect(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, it := range items {
			m[it.Key] = it.Value
		}
		return m
	}
	waitFor := func(what string, ok func(map[string]string) bool) map[string]string {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if m := collect(); ok(m) {
				return m
			}
		}
		t.Fatalf("%s: sockets now %v", what, collect())
		return nil
	}
	before := collect()
	if len(before) != 0 {
		t.Fatalf("a new namespace listens already: %v", before)
	}
	socat := ns.Command(context.Background(), "socat", "-u", "TCP4-LISTEN:8443,bind=127.0.0.1,fork,reuseaddr", "OPEN:/dev/null")
	socatUDP := ns.Command(context.Background(), "socat", "-u", "UDP4-RECV:514", "OPEN:/dev/null")
	stopped := false
	for _, c := range []*exec.Cmd{socat, socatUDP} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if !stopped {
				c.Process.Kill()
				c.Wait()
			}
		})
	}
	m := waitFor("socat's sockets", func(m map[string]string) bool { return len(m) == 3 })
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(socat.Process.Pid) + "/exe")
	want := "user root process socat (" + exe + ")"
	if _, ok := m["user root listens"]; m["tcp 127.0.0.1:8443"] != want || m["udp 0.0.0.0:514"] != want || !ok {
		t.Fatalf("sockets %v, want tcp 127.0.0.1:8443 and udp 0.0.0.0:514 held by %q, and root listening", m, want)
	}
	ch := Diff(c, nil, itemsOf(m))
	if len(ch) != 3 || ch[0].Kind != New || ch[0].Severity != "high" {
		t.Fatalf("diff from an empty baseline: %+v", ch)
	}
	for _, c := range []*exec.Cmd{socat, socatUDP} {
		c.Process.Kill()
		c.Wait()
	}
	stopped = true
	after := waitFor("socat gone", func(m map[string]string) bool { return len(m) == 0 })
	ch = Diff(c, itemsOf(m), itemsOf(after))
	if len(ch) != 3 || ch[0].Kind != Removed || !strings.HasPrefix(ch[0].Key, "tcp ") {
		t.Fatalf("diff after socat stopped: %+v", ch)
	}
	// A service account that never listened opens a port: critical.
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("skipping the service-user part: setpriv (util-linux) is not installed")
	}
	shell := ns.Command(context.Background(), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"socat", "-u", "TCP4-LISTEN:8080,bind=127.0.0.1", "OPEN:/dev/null")
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shell.Process.Kill(); shell.Wait() })
	now := waitFor("nobody's socket", func(m map[string]string) bool { return len(m) == 2 })
	users := userNames(Env{})
	ch = Diff(c, itemsOf(m), itemsOf(now))
	var crit []string
	for _, x := range ch {
		if x.Severity == "critical" {
			crit = append(crit, x.Key)
		}
	}
	if want := "user " + users[65534] + " listens"; len(crit) != 1 || crit[0] != want || users[65534] == "" {
		t.Fatalf("critical changes %q, want only %q; all: %+v", crit, want, ch)
	}
}

func itemsOf(m map[string]string) []Item {
	var out []Item
	for k, v := range m {
		out = append(out, Item{Key: k, Value: v})
	}
	sortItems(out)
	return out
}
