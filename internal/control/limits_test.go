package control

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
)

// tickHistory sends an event every tick to each follower.
type tickHistory struct {
	fakeAPI
	tick time.Duration
}

func (h *tickHistory) Events(context.Context, EventsRequest) ([]Event, error) { return nil, nil }
func (h *tickHistory) Why(context.Context, netip.Addr) (WhyReply, error)      { return WhyReply{}, nil }
func (h *tickHistory) Follow(ctx context.Context, _ EventsRequest, send func(Event) error) error {
	t := time.NewTicker(h.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := send(Event{Event: event.Event{Kind: event.BanAdded, Jail: "sshd"}}); err != nil {
				return err
			}
		}
	}
}

// A follower outlives the read timeout: the request was read whole, so the
// read deadline must not end the stream.
func TestFollowOutlivesReadTimeout(t *testing.T) {
	h := &tickHistory{tick: 50 * time.Millisecond}
	s := newTestServer(h)
	s.Limits = Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
	sock := serve(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	n := 0
	err := NewClient(sock).Follow(ctx, EventsRequest{}, func(Event) error { n++; return nil })
	if ctx.Err() == nil {
		t.Fatalf("the stream ended after %d events before the client stopped: %v", n, err)
	}
	if n < 15 {
		t.Errorf("%d events in 1.5 s at one per 50 ms", n)
	}
}

// bigAPI answers banned with a reply of several megabytes.
type bigAPI struct{ fakeAPI }

func (b *bigAPI) Banned(context.Context) ([]BannedEntry, error) {
	out := make([]BannedEntry, 100000)
	for i := range out {
		out[i] = BannedEntry{Jail: "sshd", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)}
	}
	return out, nil
}

// A client that asks and never reads is cut off after the write timeout
// instead of holding the handler and its reply forever.
func TestStalledReaderDropped(t *testing.T) {
	s := newTestServer(&bigAPI{})
	s.Limits = Limits{WriteTimeout: 300 * time.Millisecond}
	sock := serve(t, s)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /v1/banned HTTP/1.1\r\nHost: rampart\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the server's writes block; its deadline passes
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Logf("cut off before the response head: %v", err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the whole %d-byte reply arrived: the stalled write was not cut off", len(body))
	}
	t.Logf("cut off after %d bytes: %v", len(body), err)
}

func TestHeaderTooLarge(t *testing.T) {
	sock := serve(t, newTestServer(&fakeAPI{}))
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/ping HTTP/1.1\r\nHost: rampart\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 64<<10))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

// A peer of the read-only group holds at most MaxReaderConns connections;
// an admin is never capped.
func TestReaderConnectionCap(t *testing.T) {
	s := newTestServer(&fakeAPI{})
	s.AllowedUIDs = []uint32{uint32(os.Getuid()) + 1} // this process is not an admin ...
	s.ReadGroup = os.Getgid()                         // ... but in the read-only group
	s.SocketMode = 0o600
	sock := serve(t, s)
	dial := func() (net.Conn, bool) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, "GET /v1/ping HTTP/1.1\r\nHost: rampart\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return c, false
		}
		resp.Body.Close()
		return c, resp.StatusCode == http.StatusOK
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < MaxReaderConns; i++ {
		c, ok := dial()
		held = append(held, c)
		if !ok {
			t.Fatalf("connection %d refused under the cap", i+1)
		}
	}
	c, ok := dial()
	held = append(held, c)
	if ok {
		t.Fatalf("connection %d served over the cap of %d", MaxReaderConns+1, MaxReaderConns)
	}
	// Closing one frees a place.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, ok := dial()
		held = append(held, c)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not free its place")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The same number and more as an admin: never capped.
	a := newTestServer(&fakeAPI{})
	asock := serve(t, a)
	for i := 0; i < MaxReaderConns+8; i++ {
		c, err := net.Dial("unix", asock)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprint(c, "GET /v1/ping HTTP/1.1\r\nHost: rampart\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("admin connection %d: %v", i+1, err)
		}
		resp.Body.Close()
	}
}
