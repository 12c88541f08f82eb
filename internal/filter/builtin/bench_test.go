package builtin_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/filter/builtin"
)

// BenchmarkSamples replays each built-in filter's sample log.
func BenchmarkSamples(b *testing.B) {
	for _, name := range builtin.Names() {
		b.Run(name, func(b *testing.B) {
			lines := readSample(b, name)
			f := compileBuiltin(b, name, "")
			m := f.NewMatcher()
			bufs := make([][]byte, len(lines))
			for i, l := range lines {
				bufs[i] = []byte(l.text)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Match(bufs[i%len(bufs)], sampleNow)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// authFlood builds an auth log like ../shared/bench/genflood.py: one sshd
// failure then nine ordinary lines (other daemons, successful logins), in
// rsyslog's RFC 3339 format.
func authFlood(n int) [][]byte {
	rnd := rand.New(rand.NewPCG(42, 42))
	benign := []string{
		"systemd-logind[612]: New session 4 of user deploy.",
		"CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
		"CRON[%d]: pam_unix(cron:session): session closed for user root",
		"sshd[%d]: Accepted publickey for deploy from 198.51.100.7 port %d ssh2: ED25519 SHA256:q2mBr3gSxv0a0E3Lr1jGQ0",
		"sshd[%d]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
		"sudo[%d]:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/apt-get update",
	}
	users := []string{"root", "admin", "oracle", "test", "ubuntu", "git", "postgres"}
	t := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	out := make([][]byte, 0, n)
	for len(out) < n {
		t = t.Add(time.Duration(50+rnd.IntN(450)) * time.Microsecond)
		var msg string
		ip := fmt.Sprintf("198.18.%d.%d", rnd.IntN(40), rnd.IntN(256))
		if rnd.IntN(2) == 0 {
			msg = fmt.Sprintf("sshd[%d]: Failed password for %s from %s port %d ssh2", 1000+rnd.IntN(64000), users[rnd.IntN(len(users))], ip, 1024+rnd.IntN(64000))
		} else {
			msg = fmt.Sprintf("sshd[%d]: Failed password for invalid user %sx from %s port %d ssh2", 1000+rnd.IntN(64000), users[rnd.IntN(len(users))], ip, 1024+rnd.IntN(64000))
		}
		out = append(out, []byte(t.Format("2006-01-02T15:04:05.000000-07:00")+" vm "+msg))
		for j := 0; j < 9; j++ {
			t = t.Add(time.Duration(50+rnd.IntN(450)) * time.Microsecond)
			m := benign[rnd.IntN(len(benign))]
			switch strings.Count(m, "%d") {
			case 1:
				m = fmt.Sprintf(m, 1000+rnd.IntN(64000))
			case 2:
				m = fmt.Sprintf(m, 1000+rnd.IntN(64000), 1024+rnd.IntN(64000))
			}
			out = append(out, []byte(t.Format("2006-01-02T15:04:05.000000-07:00")+" vm "+m))
		}
	}
	return out
}

// BenchmarkSSHDAuthFlood is the speed target: the built-in sshd
// filter on an auth log where most lines are other daemons or successful
// logins (target: 2,000,000 lines/s on one core).
func BenchmarkSSHDAuthFlood(b *testing.B) {
	for _, mode := range []string{"normal", "aggressive"} {
		b.Run(mode, func(b *testing.B) {
			lines := authFlood(100_000)
			m := compileBuiltin(b, "sshd", mode).NewMatcher()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Match(lines[i%len(lines)], sampleNow)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
