package blocklist

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// A list server on loopback: the first fetch reads the body, the next is
// conditional (304, the saved copy), a broken body or a 500 leaves the
// saved copy in force.
func TestFetchConditionalAndKeepsGoodCopy(t *testing.T) {
	var body atomic.Value
	body.Store("192.0.2.0/24 ; SBL1\n198.51.100.7\n")
	var status atomic.Int32
	status.Store(200)
	var conditional atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := status.Load(); s != 200 {
			w.WriteHeader(int(s))
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` && body.Load().(string) == "192.0.2.0/24 ; SBL1\n198.51.100.7\n" {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	dir := t.TempDir()
	s := &Source{Name: "drop", URL: srv.URL, Dir: dir}
	ctx := context.Background()
	f, err := s.Fetch(ctx)
	if err != nil || !f.Changed || f.From != "server" || f.Len() != 2 {
		t.Fatalf("first fetch: %+v, %v", f, err)
	}
	f, err = s.Fetch(ctx)
	if err != nil || f.Changed || f.From != "cache" || f.Len() != 2 || conditional.Load() != 1 {
		t.Fatalf("second fetch: %+v, %v (conditional answers %d)", f, err, conditional.Load())
	}
	body.Store("[not json")
	if _, err := s.Fetch(ctx); err == nil {
		t.Fatal("a body that does not parse was accepted")
	}
	status.Store(500)
	if _, err := s.Fetch(ctx); err == nil {
		t.Fatal("a 500 was accepted")
	}
	r, err := s.Cached()
	if err != nil || r.Len() != 2 {
		t.Fatalf("the saved copy after failed fetches: %+v, %v", r, err)
	}
	// A restart without the network still has the list.
	s2 := &Source{Name: "drop", URL: "http://127.0.0.1:1/", Dir: dir}
	if r, err := s2.Cached(); err != nil || r.Len() != 2 {
		t.Fatalf("cached after restart: %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "drop.list")); err != nil {
		t.Fatal(err)
	}
}

func TestFetchFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.txt")
	os.WriteFile(file, []byte("203.0.113.0/24\n"), 0o600)
	s := &Source{Name: "mine", File: file, Dir: dir}
	f, err := s.Fetch(context.Background())
	if err != nil || !f.Changed || f.Len() != 1 {
		t.Fatalf("%+v, %v", f, err)
	}
	if f, _ := s.Fetch(context.Background()); f.Changed {
		t.Error("unchanged file reported as changed")
	}
	os.WriteFile(file, []byte("203.0.113.0/24\n192.0.2.1\n"), 0o600)
	if f, _ := s.Fetch(context.Background()); !f.Changed || f.Len() != 2 {
		t.Errorf("changed file: %+v", f)
	}
}
