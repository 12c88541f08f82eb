package store

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPositions(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if _, ok, err := s.Position(ctx, "sshd:/var/log/auth.log"); ok || err != nil {
		t.Fatalf("Position on empty store = %v, %v", ok, err)
	}
	ps := []Position{
		{Key: "sshd:/var/log/auth.log", Dev: 2049, Inode: math.MaxUint64 - 1, Offset: 12345, Fingerprint: "0123456789abcdef", FingerprintLen: 256},
		{Key: "sshd:journald", Cursor: "s=abc;i=1"},
	}
	if err := s.SavePositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	ps[0].Offset = 99999
	if err := s.SavePositions(ctx, ps[:1]); err != nil {
		t.Fatal(err)
	}
	for _, want := range ps {
		got, ok, err := s.Position(ctx, want.Key)
		if err != nil || !ok {
			t.Fatalf("Position(%q) = %v, %v", want.Key, ok, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Position(%q) (-want +got):\n%s", want.Key, diff)
		}
	}
	if err := s.SavePositions(ctx, nil); err != nil {
		t.Errorf("SavePositions(nil) = %v", err)
	}
}

func TestCursors(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if c, ok, err := s.Cursor(ctx, "sshd"); ok || err != nil || c != "" {
		t.Fatalf("Cursor on empty store = %q, %v, %v", c, ok, err)
	}
	for _, c := range []string{"s=1;i=2", "s=1;i=3"} {
		if err := s.SaveCursor(ctx, "sshd", c); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Cursor(ctx, "sshd")
		if err != nil || !ok || got != c {
			t.Errorf("Cursor() = %q, %v, %v; want %q", got, ok, err, c)
		}
	}
}
