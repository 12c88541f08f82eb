package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeAPI answers with canned data and records what it was asked.
type fakeAPI struct {
	mu      sync.Mutex
	bans    []BanRequest
	unbans  []UnbanRequest
	reloads int
}

var fixedTime = time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)

func (f *fakeAPI) Status(_ context.Context, jail string) (StatusReply, error) {
	if jail != "" && jail != "sshd" {
		return StatusReply{}, fmt.Errorf("jail %q: %w", jail, ErrNotFound)
	}
	return StatusReply{Jails: []JailStatus{{
		Name: "sshd", Filter: "sshd", Sources: []string{"/var/log/auth.log"},
		FailuresNow: 2, FailuresTotal: 40, BannedNow: 1, BannedTotal: 7,
		Banned: []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")},
	}}}, nil
}

func (f *fakeAPI) Ban(_ context.Context, req BanRequest) (BanReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bans = append(f.bans, req)
	if req.Prefix == netip.MustParsePrefix("198.51.100.9/32") && !req.Force {
		return BanReply{}, fmt.Errorf("ban %s: in jail sshd's ignoreip (use --force): %w", req.Prefix, ErrRefused)
	}
	return BanReply{Jail: "manual", Prefix: req.Prefix, Until: fixedTime.Add(time.Hour)}, nil
}

func (f *fakeAPI) Unban(_ context.Context, req UnbanRequest) (UnbanReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unbans = append(f.unbans, req)
	return UnbanReply{Removed: []BannedEntry{{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32"), Since: fixedTime}}}, nil
}

func (f *fakeAPI) Banned(context.Context) ([]BannedEntry, error) {
	return []BannedEntry{
		{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32"), Since: fixedTime, Until: fixedTime.Add(10 * time.Minute), Count: 2},
		{Jail: "manual", Prefix: netip.MustParsePrefix("2001:db8::/64"), Since: fixedTime},
	}, nil
}

func (f *fakeAPI) Reload(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reloads++
	return nil
}

// shortDir returns a temporary directory with a path short enough for a
// unix socket.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serve starts s on a new socket and returns its path; the server stops
// when the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	sock := filepath.Join(shortDir(t), "run", "rampart.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, sock) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	for {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		select {
		case err := <-done:
			t.Fatalf("Serve returned early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func newTestServer(api API) *Server {
	s := NewServer(api, nil)
	s.AllowedUIDs = []uint32{uint32(os.Getuid())}
	s.Version = "test"
	return s
}

func TestClientServer(t *testing.T) {
	api := &fakeAPI{}
	s := newTestServer(api)
	listening := make(chan struct{})
	s.OnListen = func() { close(listening) }
	sock := serve(t, s)
	<-listening
	c := NewClient(sock)
	ctx := context.Background()

	ping, err := c.Ping(ctx)
	if err != nil || ping.Version != "test" || ping.PID != os.Getpid() {
		t.Errorf("Ping = %+v, %v; want version test, pid %d", ping, err, os.Getpid())
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, %v; want a socket with mode 0600", fi.Mode(), err)
	}

	st, err := c.Status(ctx, "")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	want, _ := api.Status(ctx, "")
	if diff := cmp.Diff(want, st, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Status mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Status(ctx, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `jail "nope"`) {
		t.Errorf("Status(nope) error = %v, want ErrNotFound naming the jail", err)
	}

	req := BanRequest{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Jail: "sshd", DurationSeconds: 3600,
		Protect: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	ban, err := c.Ban(ctx, req)
	if err != nil || ban.Until != fixedTime.Add(time.Hour) || ban.Prefix != req.Prefix {
		t.Errorf("Ban = %+v, %v", ban, err)
	}
	if _, err := c.Ban(ctx, BanRequest{Prefix: netip.MustParsePrefix("198.51.100.9/32")}); !errors.Is(err, ErrRefused) {
		t.Errorf("Ban(ignored) error = %v, want ErrRefused", err)
	}

	un, err := c.Unban(ctx, UnbanRequest{All: true})
	if err != nil || len(un.Removed) != 1 {
		t.Errorf("Unban(all) = %+v, %v", un, err)
	}
	bans, err := c.Banned(ctx)
	wantBans, _ := api.Banned(ctx)
	if diff := cmp.Diff(wantBans, bans, cmpopts.EquateComparable(netip.Prefix{})); diff != "" || err != nil {
		t.Errorf("Banned mismatch (err %v) (-want +got):\n%s", err, diff)
	}
	if err := c.Reload(ctx); err != nil {
		t.Errorf("Reload: %v", err)
	}

	api.mu.Lock()
	defer api.mu.Unlock()
	if diff := cmp.Diff([]BanRequest{req, {Prefix: netip.MustParsePrefix("198.51.100.9/32")}}, api.bans, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
		t.Errorf("API saw bans (-want +got):\n%s", diff)
	}
	if api.reloads != 1 {
		t.Errorf("API saw %d reloads, want 1", api.reloads)
	}
}

// rawRequest sends body to the server on sock and returns status and body.
func rawRequest(t *testing.T, sock, method, path, body string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, err := http.NewRequest(method, "http://rampart"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestServerRejects(t *testing.T) {
	api := &fakeAPI{}
	sock := serve(t, newTestServer(api))
	tests := []struct {
		name, method, path, body string
		status                   int
		errPart                  string
	}{
		{"unknown field", "POST", "/v1/ban", `{"prefix":"192.0.2.1/32","forse":true}`, 400, `unknown field \"forse\"`},
		{"trailing data", "POST", "/v1/ban", `{"prefix":"192.0.2.1/32"} {}`, 400, "unexpected data"},
		{"not json", "POST", "/v1/ban", `prefix=1`, 400, "bad request body"},
		{"bad prefix", "POST", "/v1/ban", `{"prefix":"192.0.2.1"}`, 400, "bad request body"},
		{"no prefix", "POST", "/v1/ban", `{}`, 400, "no address given"},
		{"host bits", "POST", "/v1/ban", `{"prefix":"192.0.2.1/24"}`, 400, "did you mean 192.0.2.0/24?"},
		{"too big", "POST", "/v1/ban", `{"prefix":"` + strings.Repeat("1", MaxRequestBytes) + `"}`, 413, "over 65536 bytes"},
		{"loopback", "POST", "/v1/ban", `{"prefix":"127.0.0.1/32"}`, 409, "loopback"},
		{"own session", "POST", "/v1/ban", `{"prefix":"192.0.2.0/24","protect":["192.0.2.55"]}`, 409, "192.0.2.55, the address of the SSH session"},
		{"too wide", "POST", "/v1/ban", `{"prefix":"128.0.0.0/1"}`, 409, "wider than /8"},
		{"ignoreip in daemon", "POST", "/v1/ban", `{"prefix":"198.51.100.9/32"}`, 409, "ignoreip"},
		{"unban neither", "POST", "/v1/unban", `{}`, 400, `either \"prefix\" or \"all\"`},
		{"unban both", "POST", "/v1/unban", `{"prefix":"192.0.2.1/32","all":true}`, 400, `either \"prefix\" or \"all\"`},
		{"wrong method", "GET", "/v1/ban", ``, 405, "use POST"},
		{"unknown path", "GET", "/v2/ping", ``, 404, "no such endpoint"},
		{"unknown query", "GET", "/v1/status?jial=sshd", ``, 400, `unexpected query parameter \"jial\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, sock, tt.method, tt.path, tt.body)
			if status != tt.status || !strings.HasPrefix(body, `{"error":"`) || !strings.Contains(body, tt.errPart) {
				t.Errorf("%s %s %.40q = %d %s; want %d and an error containing %q", tt.method, tt.path, tt.body, status, body, tt.status, tt.errPart)
			}
		})
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.bans) != 1 {
		t.Errorf("API saw %d bans, want only the ignoreip one to reach it: %v", len(api.bans), api.bans)
	}
}

func TestCheckBan(t *testing.T) {
	me := netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		prefix string
		force  bool
		want   error
	}{
		{"198.51.100.7/32", false, nil},
		{"2001:db8::/64", false, nil},
		{"127.0.0.1/32", false, ErrRefused},
		{"127.0.0.1/32", true, nil},
		{"::1/128", false, ErrRefused},
		{"0.0.0.0/32", false, ErrRefused},
		{"0.0.0.0/0", false, ErrRefused},
		{"0.0.0.0/0", true, nil},
		{"2000::/3", false, ErrRefused},
		{"203.0.113.0/24", false, ErrRefused},
		{"203.0.113.0/24", true, nil},
		{"203.0.113.8/31", false, ErrRefused},
		{"203.0.113.10/31", false, nil},
		{"::ffff:192.0.2.1/128", false, ErrInvalid},
		{"192.0.2.1/24", true, ErrInvalid},
	}
	for _, tt := range tests {
		err := CheckBan(BanRequest{Prefix: netip.MustParsePrefix(tt.prefix), Force: tt.force, Protect: []netip.Addr{me}})
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckBan(%s, force=%v) = %v, want %v", tt.prefix, tt.force, err, tt.want)
		}
	}
}

func TestPeerNotAllowed(t *testing.T) {
	s := newTestServer(&fakeAPI{})
	s.AllowedUIDs = []uint32{uint32(os.Getuid()) + 4242}
	sock := serve(t, s)
	_, err := NewClient(sock).Ping(context.Background())
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "run the command as root") {
		t.Errorf("Ping from a uid not allowed = %v, want ErrDenied telling to run as root", err)
	}
}

func TestClientNoDaemon(t *testing.T) {
	dir := shortDir(t)
	_, err := NewClient(filepath.Join(dir, "missing.sock")).Ping(context.Background())
	if !errors.Is(err, ErrDown) || !strings.Contains(err.Error(), "is rampart running? start it with `systemctl start rampart` or `rampart run`") {
		t.Errorf("Ping(missing socket) = %v, want ErrDown with advice", err)
	}
	// A socket file nobody listens on.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := NewClient(stale).Ping(context.Background()); !errors.Is(err, ErrDown) {
		t.Errorf("Ping(stale socket) = %v, want ErrDown", err)
	}

	// Serve replaces the stale socket...
	s := newTestServer(&fakeAPI{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, stale) }()
	for {
		if _, err := NewClient(stale).Ping(context.Background()); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// ...but refuses to take over a live one.
	if err := newTestServer(&fakeAPI{}).Serve(context.Background(), stale); err == nil || !strings.Contains(err.Error(), "another rampart is listening") {
		t.Errorf("second Serve on a live socket = %v, want refusal", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("socket still there after shutdown: %v", err)
	}

	// A regular file in the way is not removed.
	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newTestServer(&fakeAPI{}).Serve(context.Background(), file); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Serve over a regular file = %v, want refusal", err)
	}
}
