package store

import (
	"bufio"
	"context"
	"fmt"
	"github.com/rampart-ids/rampart/internal/origin"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crashEnv names the database a crash-test child writes to, crashBaseEnv
// the number of its first ban.
const (
	crashEnv     = "RAMPART_STORE_CRASH_DB"
	crashBaseEnv = "RAMPART_STORE_CRASH_BASE"
)

// crashBan returns the n-th ban the crash-test child writes.
func crashBan(n int) Ban {
	a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return Ban{
		Jail: "crash", Prefix: netip.PrefixFrom(a, a.BitLen()), Since: t0.Add(time.Duration(n) * time.Second),
		Until: t0.Add(time.Duration(n)*time.Second + time.Hour), Count: 1 + n%3, Origin: origin.OfJail("sshd"),
	}
}

// TestCrashChild is the child half of TestCrash: when run with crashEnv set
// it writes bans in batches of random size forever, printing "N M" after
// the batch of bans N..M-1 has committed, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child of TestCrash only")
	}
	s, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx := context.Background()
	next, err := strconv.Atoi(os.Getenv(crashBaseEnv))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for {
		n := 1 + rand.IntN(300)
		batch := make([]Ban, n)
		for i := range batch {
			batch[i] = crashBan(next + i)
		}
		if err := s.AddBans(ctx, batch); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		if next%7 == 0 { // touch the other tables too
			s.SavePositions(ctx, []Position{{Key: "crash", Offset: int64(next)}})
		}
		fmt.Printf("%d %d\n", next, next+n) // os.Stdout is unbuffered
		next += n
	}
}

// TestCrash kills a process writing bans with SIGKILL at random moments and
// checks that every ban it reported committed is in the reopened database
// and that the database is intact.
func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	const rounds = 6
	committed := map[int]bool{}
	for round := range rounds {
		delay := time.Duration(150+rand.IntN(400)) * time.Millisecond
		got := runCrashChild(t, path, round*10_000_000, delay)
		for _, r := range got {
			for n := r[0]; n < r[1]; n++ {
				committed[n] = true
			}
		}
		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if err := s.Check(context.Background()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		bans, err := s.ActiveBans(context.Background(), t0)
		s.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		have := make(map[netip.Prefix]Ban, len(bans))
		for _, b := range bans {
			have[b.Prefix] = b
		}
		missing := 0
		for n := range committed {
			want := crashBan(n)
			if b, ok := have[want.Prefix]; !ok || !b.Since.Equal(want.Since) || b.Count != want.Count {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d (killed after %v): %d of %d committed bans missing", round, delay, missing, len(committed))
		}
		t.Logf("round %d: killed after %v, %d batches reported, %d bans committed so far, %d in the database",
			round, delay, len(got), len(committed), len(bans))
	}
	if len(committed) == 0 {
		t.Fatal("the child never reported a committed ban")
	}
}

// runCrashChild runs TestCrashChild on path, kills it with SIGKILL after
// delay, and returns the committed ranges it reported.
func runCrashChild(t *testing.T, path string, base int, delay time.Duration) [][2]int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashBaseEnv+"="+strconv.Itoa(base))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan struct{})
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		time.Sleep(delay)
		cmd.Process.Kill() // SIGKILL
		close(killed)
	}()
	var ranges [][2]int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		a, b, ok := strings.Cut(line, " ")
		first, err1 := strconv.Atoi(a)
		end, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("child: %s", line)
		}
		ranges = append(ranges, [2]int{first, end})
	}
	<-killed
	cmd.Wait()
	return ranges
}
