package cli

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/origin"
)

// fakeDaemon is a control.API with canned answers that records requests.
type fakeDaemon struct {
	mu      sync.Mutex
	bans    []control.BanRequest
	unbans  []control.UnbanRequest
	reloads int
}

var t0 = time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)

func (f *fakeDaemon) Status(_ context.Context, jail string) (control.StatusReply, error) {
	all := []control.JailStatus{
		{Name: "nginx-http-auth", Filter: "nginx-http-auth", Sources: []string{"/var/log/nginx/error.log"}},
		{Name: "sshd", Filter: "sshd[mode=aggressive]", Sources: []string{"/var/log/auth.log"},
			FailuresNow: 3, FailuresTotal: 1204, BannedNow: 2, BannedTotal: 57,
			Banned: []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8:1::/64")}},
	}
	if jail == "" {
		return control.StatusReply{Jails: all}, nil
	}
	for _, j := range all {
		if j.Name == jail {
			return control.StatusReply{Jails: []control.JailStatus{j}}, nil
		}
	}
	return control.StatusReply{}, control.Errorf(control.ErrNotFound, "jail %q: no such jail (see 'rampart status')", jail)
}

func (f *fakeDaemon) Ban(_ context.Context, req control.BanRequest) (control.BanReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bans = append(f.bans, req)
	if req.Prefix == netip.MustParsePrefix("198.51.100.9/32") && !req.Force {
		return control.BanReply{}, control.Errorf(control.ErrRefused, "ban 198.51.100.9: in jail sshd's ignoreip (use --force to insist)")
	}
	jail := req.Jail
	if jail == "" {
		jail = "manual"
	}
	r := control.BanReply{Jail: jail, Prefix: req.Prefix}
	if req.DurationSeconds != -1 {
		r.Until = t0.Add(10 * time.Minute)
	}
	return r, nil
}

func (f *fakeDaemon) Unban(_ context.Context, req control.UnbanRequest) (control.UnbanReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unbans = append(f.unbans, req)
	if req.All {
		return control.UnbanReply{Removed: []control.BannedEntry{
			{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32")},
			{Jail: "sshd", Prefix: netip.MustParsePrefix("2001:db8:1::/64")},
		}}, nil
	}
	if req.Prefix == netip.MustParsePrefix("192.0.2.7/32") {
		return control.UnbanReply{Removed: []control.BannedEntry{{Jail: "sshd", Prefix: req.Prefix}}}, nil
	}
	return control.UnbanReply{}, nil
}

func (f *fakeDaemon) Banned(context.Context) ([]control.BannedEntry, error) {
	return []control.BannedEntry{
		{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32"), Since: t0, Until: t0.Add(10 * time.Minute), Count: 3, Origin: origin.OfJail("sshd")},
		{Jail: "sshd", Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Since: t0.Add(time.Minute), Until: t0.Add(time.Hour), Origin: origin.OfJail("sshd")},
		{Jail: "manual", Prefix: netip.MustParsePrefix("203.0.113.0/24"), Since: t0.Add(-time.Hour), Origin: origin.OfManual("root")},
		{Jail: "web", Prefix: netip.MustParsePrefix("198.51.100.9/32"), Since: t0, Origin: origin.Origin{Kind: origin.Fleet, Name: "web-2"}},
	}, nil
}

func (f *fakeDaemon) Reload(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	return nil
}

// startDaemon serves a fakeDaemon on a fresh socket for the test.
func startDaemon(t *testing.T) (*fakeDaemon, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "rpcli")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "rampart.sock")
	api := &fakeDaemon{}
	s := control.NewServer(api, nil)
	s.AllowedUIDs = []uint32{uint32(os.Getuid())}
	s.Version = "v9.9.9"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, sock) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		os.RemoveAll(dir)
	})
	for {
		if _, err := control.NewClient(sock).Ping(context.Background()); err == nil {
			return api, sock
		}
		select {
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// run runs the CLI and returns exit status, stdout and stderr.
func run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// golden compares got with testdata/name, rewriting it when UPDATE_GOLDEN=1.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestDaemonReadCommands(t *testing.T) {
	_, sock := startDaemon(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		golden string // stdout golden file, or "" to check stdoutPart
		part   string // expected in stdout+stderr
	}{
		{"status", []string{"status"}, 0, "status.golden", ""},
		{"status one jail json", []string{"status", "sshd", "--json"}, 0, "status-sshd.json", ""},
		{"status unknown jail", []string{"status", "ftp"}, 1, "", `rampart: jail "ftp": no such jail (see 'rampart status')`},
		{"status two jails", []string{"status", "a", "b"}, 2, "", "accepts at most 1 arg(s)"},
		{"banned", []string{"banned"}, 0, "banned.golden", ""},
		{"banned json", []string{"banned", "--json"}, 0, "banned.json", ""},
		{"ping", []string{"ping"}, 0, "", "rampart v9.9.9 is running (pid "},
		{"reload", []string{"reload"}, 0, "", "configuration reloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(append(tt.args, "--socket", sock)...)
			if code != tt.code {
				t.Errorf("rampart %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), code, tt.code, out, errOut)
			}
			if tt.golden != "" {
				goldenFile(t, tt.golden, out)
			}
			if !strings.Contains(out+errOut, tt.part) {
				t.Errorf("rampart %s: output %q, want it to contain %q", strings.Join(tt.args, " "), out+errOut, tt.part)
			}
		})
	}
}

func TestBanCommand(t *testing.T) {
	api, sock := startDaemon(t)
	session := "192.0.2.55 50222 192.0.2.1 22"
	tests := []struct {
		name    string
		args    []string
		sshConn string
		code    int
		part    string
		want    *control.BanRequest // what the daemon should receive; nil: nothing
	}{
		{"address", []string{"203.0.113.7"}, "", 0, "203.0.113.7 banned in jail manual, until 2026-11-24 15:10:00Z",
			&control.BanRequest{Prefix: netip.MustParsePrefix("203.0.113.7/32")}},
		{"network with jail and duration", []string{"2001:db8:2::/48", "--jail", "sshd", "--for", "1h30m"}, "", 0, "2001:db8:2::/48 banned in jail sshd",
			&control.BanRequest{Prefix: netip.MustParsePrefix("2001:db8:2::/48"), Jail: "sshd", DurationSeconds: 5400}},
		{"permanent", []string{"198.51.100.0/24", "--for", "permanent"}, "", 0, "198.51.100.0/24 banned in jail manual, permanently",
			&control.BanRequest{Prefix: netip.MustParsePrefix("198.51.100.0/24"), DurationSeconds: -1}},
		{"mapped address", []string{"::ffff:203.0.113.8"}, "", 0, "203.0.113.8 banned",
			&control.BanRequest{Prefix: netip.MustParsePrefix("203.0.113.8/32")}},
		{"loopback", []string{"127.0.0.1"}, "", 1, "refusing to ban loopback (use --force to insist)", nil},
		{"own ssh session", []string{"192.0.2.0/24"}, session, 1, "refusing to ban 192.0.2.55, the address of the SSH session running this command", nil},
		{"own ssh session forced", []string{"192.0.2.0/24", "--force"}, session, 0, "192.0.2.0/24 banned",
			&control.BanRequest{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Force: true, Protect: []netip.Addr{netip.MustParseAddr("192.0.2.55")}}},
		{"other address with ssh session", []string{"203.0.113.9"}, session, 0, "203.0.113.9 banned",
			&control.BanRequest{Prefix: netip.MustParsePrefix("203.0.113.9/32"), Protect: []netip.Addr{netip.MustParseAddr("192.0.2.55")}}},
		{"ignoreip refused by the daemon", []string{"198.51.100.9"}, "", 1, "in jail sshd's ignoreip (use --force to insist)",
			&control.BanRequest{Prefix: netip.MustParsePrefix("198.51.100.9/32")}},
		{"host bits", []string{"192.0.2.1/24"}, "", 2, `"192.0.2.1/24" has host bits set (did you mean 192.0.2.0/24?)`, nil},
		{"not an address", []string{"example.org"}, "", 2, `"example.org" is not an address or a network`, nil},
		{"bad duration", []string{"203.0.113.7", "--for", "10x"}, "", 2, `--for "10x": not a duration`, nil},
		{"too wide", []string{"128.0.0.0/1"}, "", 1, "refusing a network wider than /8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SSH_CONNECTION", tt.sshConn)
			t.Setenv("SSH_CLIENT", "")
			api.mu.Lock()
			api.bans = nil
			api.mu.Unlock()
			code, out, errOut := run(append([]string{"ban", "--socket", sock}, tt.args...)...)
			if code != tt.code || !strings.Contains(out+errOut, tt.part) {
				t.Errorf("rampart ban %s: exit %d, output %q; want exit %d and %q", strings.Join(tt.args, " "), code, out+errOut, tt.code, tt.part)
			}
			var want []control.BanRequest
			if tt.want != nil {
				want = []control.BanRequest{*tt.want}
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if diff := cmp.Diff(want, api.bans, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
				t.Errorf("daemon received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnbanCommand(t *testing.T) {
	api, sock := startDaemon(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string
		want *control.UnbanRequest
	}{
		{"address", []string{"192.0.2.7"}, 0, "unbanned 192.0.2.7 in jail sshd\n",
			&control.UnbanRequest{Prefix: netip.MustParsePrefix("192.0.2.7/32")}},
		{"not banned", []string{"192.0.2.8"}, 0, "192.0.2.8 was not banned\n",
			&control.UnbanRequest{Prefix: netip.MustParsePrefix("192.0.2.8/32")}},
		{"all of a jail", []string{"--all", "--jail", "sshd"}, 0, "unbanned 192.0.2.7 in jail sshd\nunbanned 2001:db8:1::/64 in jail sshd\n",
			&control.UnbanRequest{All: true, Jail: "sshd"}},
		{"nothing", nil, 2, "", nil},
		{"both", []string{"192.0.2.7", "--all"}, 2, "", nil},
		{"bad address", []string{"192.0.2.300"}, 2, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.mu.Lock()
			api.unbans = nil
			api.mu.Unlock()
			code, out, errOut := run(append([]string{"unban", "--socket", sock}, tt.args...)...)
			if code != tt.code || out != tt.out {
				t.Errorf("rampart unban %s: exit %d, stdout %q (stderr %q); want exit %d, stdout %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.out)
			}
			var want []control.UnbanRequest
			if tt.want != nil {
				want = []control.UnbanRequest{*tt.want}
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if diff := cmp.Diff(want, api.unbans, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
				t.Errorf("daemon received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDaemonNotRunning(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"ping"}, {"status"}, {"banned"}, {"reload"}, {"unban", "--all"}, {"ban", "203.0.113.7"}} {
		code, _, errOut := run(append(args, "--socket", sock)...)
		if code != 1 || !strings.Contains(errOut, "is rampart running? start it with `systemctl start rampart` or `rampart run`; or point --socket at it") {
			t.Errorf("rampart %s without a daemon: exit %d, stderr %q; want 1 and advice", strings.Join(args, " "), code, errOut)
		}
	}
	t.Setenv("RAMPART_SOCKET", sock)
	if code, _, errOut := run("ping"); code != 1 || !strings.Contains(errOut, sock) {
		t.Errorf("rampart ping with RAMPART_SOCKET: exit %d, stderr %q; want 1 naming %s", code, errOut, sock)
	}
}

func TestSSHClients(t *testing.T) {
	env := map[string]string{"SSH_CONNECTION": "2001:db8::5 40000 2001:db8::1 22", "SSH_CLIENT": "::ffff:192.0.2.9 40000 22"}
	got := sshClients(func(k string) string { return env[k] })
	want := []netip.Addr{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("192.0.2.9")}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("sshClients mismatch (-want +got):\n%s", diff)
	}
	if got := sshClients(func(string) string { return "garbage" }); got != nil {
		t.Errorf("sshClients(garbage) = %v, want nil", got)
	}
}
