package fleet

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestMessageRoundTrip(t *testing.T) {
	since := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, m := range []Message{
		{Op: OpBan, Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.7/32"), Origin: "jail sshd", Since: since, Until: since.Add(time.Hour), Count: 2},
		{Op: OpUnban, Jail: "manual", Prefix: netip.MustParsePrefix("2001:db8::/48"), Origin: "manual root", Since: since},
	} {
		body, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(body)
		if err != nil {
			t.Fatalf("Decode(%s): %v", body, err)
		}
		if got.Op != m.Op || got.Jail != m.Jail || got.Prefix != m.Prefix || !got.Since.Equal(m.Since) || !got.Until.Equal(m.Until) || got.Count != m.Count {
			t.Errorf("round trip: got %+v, want %+v", got, m)
		}
		subj := Subject("web-1", m.Prefix)
		if strings.Count(subj, ".") != 3 {
			t.Errorf("subject %q: want four tokens", subj)
		}
		if n, err := NodeOf(subj); err != nil || n != "web-1" {
			t.Errorf("NodeOf(%q) = %q, %v", subj, n, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, body := range []string{
		``, `{}`, `[]`, `{"op":"ban"}`,
		`{"op":"nuke","jail":"sshd","prefix":"192.0.2.1/32","since":"2026-01-01T00:00:00Z"}`,
		`{"op":"ban","jail":"a.b","prefix":"192.0.2.1/32","since":"2026-01-01T00:00:00Z"}`,
		`{"op":"ban","jail":"sshd","prefix":"fe80::1%eth0/128","since":"2026-01-01T00:00:00Z"}`,
		`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32"}`,
		`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32","since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`,
		`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32","since":"2026-01-01T00:00:00Z","origin":"martian x"}`,
		`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32","since":"2026-01-01T00:00:00Z","count":-1}`,
		`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32","since":"2026-01-01T00:00:00Z"` + strings.Repeat(" ", maxMessageBytes) + `}`,
	} {
		if m, err := Decode([]byte(body)); err == nil {
			t.Errorf("Decode(%.80q) = %+v, want an error", body, m)
		}
	}
	for _, s := range []string{"rampart.bans", "rampart.bans.", "other.bans.a.b", "rampart.bans..x"} {
		if _, err := NodeOf(s); err == nil {
			t.Errorf("NodeOf(%q): want an error", s)
		}
	}
}

// FuzzDecode feeds another node's message body (untrusted): Decode either
// refuses it or returns a message that encodes and decodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"op":"ban","jail":"sshd","prefix":"192.0.2.1/32","origin":"jail sshd","since":"2026-01-01T00:00:00Z","until":"2026-01-01T01:00:00Z","count":1}`))
	f.Add([]byte(`{"op":"unban","jail":"manual","prefix":"2001:db8::/32","since":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"op":"ban","jail":"x","prefix":"192.0.2.1/24","since":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		if m.Prefix != m.Prefix.Masked() {
			t.Fatalf("prefix %s not masked", m.Prefix)
		}
		body, err := m.Encode()
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v (%+v)", err, m)
		}
		again, err := Decode(body)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", body, err)
		}
		if again.Prefix != m.Prefix || again.Op != m.Op || again.Jail != m.Jail || !again.Since.Equal(m.Since) || !again.Until.Equal(m.Until) {
			t.Fatalf("round trip changed %+v into %+v", m, again)
		}
	})
}
