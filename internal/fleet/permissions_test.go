package fleet

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPermissions proves, on a real server with docs/FLEET.md's account
// layout, that a node may publish bans on its own subject and not on
// another node's: the forged message is refused and never stored.
func TestPermissions(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "web-1", "web-2")
	// web-1's link creates the stream.
	startNode(t, s.ClientURL(), dir, "web-1", nil)
	perm := make(chan error, 4)
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("web-2", "pw-web-2"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { perm <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stream jetstream.Stream
	waitUntil(t, 10*time.Second, "the stream exists", func() bool {
		stream, err = js.Stream(ctx, DefaultStream)
		return err == nil
	})
	p := netip.MustParsePrefix("192.0.2.66/32")
	m := Message{Op: OpBan, Jail: "sshd", Prefix: p, Origin: "jail sshd", Since: time.Now(), Until: time.Now().Add(time.Hour)}
	body, _ := m.Encode()

	// Its own subject: stored.
	if _, err := js.Publish(ctx, Subject("web-2", p), body); err != nil {
		t.Fatalf("web-2 publishing on its own subject: %v", err)
	}
	// Another node's: refused by the server.
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	_, err = js.Publish(short, Subject("web-1", p), body)
	cancelShort()
	if err == nil {
		t.Fatal("web-2 published as web-1: the permissions let a node forge another's bans")
	}
	select {
	case e := <-perm:
		if !errors.Is(e, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(e.Error()), "permissions violation") {
			t.Errorf("server error = %v, want a permissions violation", e)
		}
	case <-time.After(5 * time.Second):
		t.Error("no permissions violation reported by the server")
	}
	if _, err := stream.GetLastMsgForSubject(ctx, Subject("web-1", p)); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Errorf("the stream holds a message on web-1's subject from web-2 (err %v)", err)
	}
	if _, err := stream.GetLastMsgForSubject(ctx, Subject("web-2", p)); err != nil {
		t.Errorf("web-2's own message is not in the stream: %v", err)
	}
	// Nor may a node change the stream (drop everyone's bans).
	cfg := StreamConfig(Config{})
	cfg.MaxAge = time.Minute
	upd, cancelUpd := context.WithTimeout(ctx, 2*time.Second)
	defer cancelUpd()
	if _, err := js.UpdateStream(upd, cfg); err == nil {
		t.Error("a node could update the shared stream")
	}
}
