package store

import (
	"context"
	"database/sql"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/origin"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// prefixes lets go-cmp compare netip values.
func prefixes() cmp.Option { return cmpopts.EquateComparable(netip.Prefix{}) }

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "rampart.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	s, path := openTemp(t)
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCursor(context.Background(), "k", "v"); err != nil { // creates the WAL
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700 | os.ModeDir, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", p, fi.Mode(), want)
		}
	}
	var mode, sync string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
		t.Errorf("synchronous = %q, %v; want 2 (FULL)", sync, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	ban := Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("192.0.2.1/32"), Since: t0, Count: 1, Origin: origin.OfJail("sshd")}
	if err := s.AddBans(ctx, []Ban{ban}); err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	got, err := s2.ActiveBans(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ban{ban}, got, prefixes()); diff != "" {
		t.Errorf("bans after reopen (-want +got):\n%s", diff)
	}
	var v int
	ms, _ := listMigrations()
	if err := s2.db.QueryRow("SELECT version FROM schema_version").Scan(&v); err != nil || v != len(ms) {
		t.Errorf("schema version = %d, %v; want %d", v, err, len(ms))
	}
	var rows int
	if err := s2.db.QueryRow("SELECT count(*) FROM schema_version").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("schema_version rows = %d, %v; want 1", rows, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.Exec("UPDATE schema_version SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "schema version 99 is newer") {
		t.Errorf("Open() error = %v, want newer schema refused", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(notDir, "x.db"), garbage} {
		if s, err := Open(p); err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", p)
		} else if !strings.HasPrefix(err.Error(), "store") {
			t.Errorf("Open(%s) error %q does not start with store", p, err)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				bans := make([]Ban, 10)
				for k := range bans {
					bans[k] = Ban{Jail: "j", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(g), byte(i*10 + k)}), 32),
						Since: t0, Count: 1, Origin: origin.OfJail("sshd")}
				}
				if err := s.AddBans(ctx, bans); err != nil {
					errs <- err
					return
				}
				if _, err := s.ActiveBans(ctx, t0); err != nil {
					errs <- err
					return
				}
				if err := s.SavePositions(ctx, []Position{{Key: strconv.Itoa(g), Offset: int64(i)}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, err := s.ActiveBans(ctx, t0); err != nil || len(got) != 1000 {
		t.Errorf("ActiveBans = %d bans, %v; want 1000", len(got), err)
	}
}

func TestListMigrations(t *testing.T) {
	ms, err := listMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Errorf("listMigrations() = %+v", ms)
	}
}

// TestMigrateOrigins upgrades a database written by the first schema (bans
// with an untyped source) and checks every ban gets its typed origin.
func TestMigrateOrigins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(v1),
		"CREATE TABLE schema_version (version INTEGER NOT NULL)", "INSERT INTO schema_version VALUES (1)",
		"INSERT INTO bans VALUES ('sshd', '192.0.2.1/32', 1, NULL, 1, 'filter')",
		"INSERT INTO bans VALUES ('manual', '192.0.2.2/32', 1, NULL, 1, 'manual')",
		"INSERT INTO history (jail, prefix, at, until, count, source) VALUES ('sshd', '192.0.2.1/32', 1, NULL, 1, 'filter')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.ActiveBans(context.Background(), time.Unix(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]origin.Origin{"192.0.2.1/32": origin.OfJail("sshd"), "192.0.2.2/32": {Kind: origin.Manual}}
	if len(got) != len(want) {
		t.Fatalf("ActiveBans = %v, want %d bans", got, len(want))
	}
	for _, b := range got {
		if b.Origin != want[b.Prefix.String()] {
			t.Errorf("ban %s: origin %v, want %v", b.Prefix, b.Origin, want[b.Prefix.String()])
		}
	}
	hist, err := s.History(context.Background(), HistoryQuery{})
	if err != nil || len(hist) != 1 || hist[0].Origin != origin.OfJail("sshd") {
		t.Errorf("History = %v, %v; want one ban of origin jail sshd", hist, err)
	}
}
