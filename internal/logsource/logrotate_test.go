package logsource

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// reopeningWriter writes numbered lines like a daemon that reopens its log
// when another file appears at its path (much as Python's WatchedFileHandler
// does), so lines may still go to the rotated file for a moment.
type reopeningWriter struct {
	*logWriter
}

func (w reopeningWriter) writeChecked() {
	w.locked(func() {
		held, err1 := w.f.Stat()
		now, err2 := os.Stat(w.path)
		// A missing file is logrotate's to create: keep writing until then.
		if err1 == nil && err2 == nil && !os.SameFile(held, now) {
			w.reopen()
		}
	})
	w.write(1)
}

// TestLogrotate rotates a log being written with the real logrotate, with
// "create" (rename, new file, compressed old one) and with "copytruncate".
func TestLogrotate(t *testing.T) {
	bin, err := exec.LookPath("logrotate")
	if err != nil {
		t.Skip("logrotate not installed (Debian package logrotate)")
	}
	tests := []struct {
		name, directives string
		// pause stops the writer while logrotate runs: copytruncate loses
		// the lines written between its copy and its truncation, whatever
		// reads the file, so the writer waits as if logrotate were instant.
		pause bool
	}{
		{"create", "create 0640\n    compress", false},
		{"copytruncate", "copytruncate\n    compress\n    delaycompress", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forModes(t, func(t *testing.T, poll bool) {
				dir := t.TempDir()
				path := filepath.Join(dir, "app.log")
				conf := filepath.Join(dir, "logrotate.conf")
				body := fmt.Sprintf("%s {\n    rotate 10\n    missingok\n    %s\n}\n", path, tt.directives)
				if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				w := reopeningWriter{newLogWriter(t, path)}
				_, c, _ := start(t, testConfig(t, path, poll))

				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						w.writeChecked()
						time.Sleep(200 * time.Microsecond)
					}
				})
				for range 3 {
					time.Sleep(200 * time.Millisecond)
					run := func() {
						out, err := exec.Command(bin, "-f", "-s", filepath.Join(dir, "state"), conf).CombinedOutput()
						if err != nil {
							t.Errorf("logrotate: %v\n%s", err, out)
						}
					}
					if tt.pause {
						w.locked(run)
					} else {
						run()
					}
				}
				time.Sleep(100 * time.Millisecond)
				close(stop)
				wg.Wait()
				waitNumbered(t, c, w.count())
				if entries, _ := os.ReadDir(dir); len(entries) < 5 {
					t.Errorf("logrotate left %d files, want the log, 3 rotated ones and more", len(entries))
				}
			})
		})
	}
}
