package store

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/origin"
)

// A state database damaged between runs is refused with a message that
// says how to go on, never read as empty.
func TestDamagedDatabase(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(path string) error
	}{
		{"page overwritten", func(p string) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 8192), 8192)
			return err
		}},
		{"not a database", func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("garbage ", 1000)), 0o600) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "rampart.db")
			s, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			var bans []Ban
			for i := range 3000 {
				a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
				bans = append(bans, Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Since: time.Now(), Count: 1, Origin: origin.OfJail("sshd")})
			}
			if err := s.AddBans(context.Background(), bans); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if err := c.damage(p); err != nil {
				t.Fatal(err)
			}
			s, err = Open(p)
			if err == nil {
				defer s.Close()
				_, err = s.ActiveBans(context.Background(), time.Now())
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "mv "+p) || !strings.Contains(err.Error(), ".recover") {
				t.Errorf("reading a damaged database: %v; want a CorruptError saying how to go on", err)
			}
		})
	}
}
