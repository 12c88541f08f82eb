package logsource

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// StartMode says where a file source starts reading a file it has no saved
// position for.
type StartMode int

// The start modes.
const (
	// StartFindTime starts at the first line newer than now - FindTime (the
	// default), so the jail sees the failures that still count. Without a
	// TimeOf function or a FindTime it starts at the end.
	StartFindTime StartMode = iota
	// StartEnd starts at the end: only lines written from now on.
	StartEnd
	// StartBeginning reads the whole file.
	StartBeginning
)

// String names the mode as the configuration does.
func (m StartMode) String() string {
	switch m {
	case StartFindTime:
		return "findtime"
	case StartEnd:
		return "end"
	case StartBeginning:
		return "beginning"
	}
	return fmt.Sprintf("StartMode(%d)", int(m))
}

// ParseStartMode reads a start mode as configured: "findtime", "end" (or
// Fail2ban's "tail") or "beginning" (or Fail2ban's "head").
func ParseStartMode(s string) (StartMode, error) {
	switch s {
	case "findtime", "":
		return StartFindTime, nil
	case "end", "tail":
		return StartEnd, nil
	case "beginning", "head":
		return StartBeginning, nil
	}
	return 0, fmt.Errorf("start mode %q: want findtime, end (tail) or beginning (head)", s)
}

// Defaults of FileConfig.
const (
	DefaultPollInterval   = time.Second
	DefaultRescanInterval = 10 * time.Second
	DefaultRotateWait     = 5 * time.Second
	DefaultPartialFlush   = 2 * time.Second
	DefaultMaxLineBytes   = 64 << 10
	DefaultSaveInterval   = 5 * time.Second
)

// FileConfig configures a file source. Only Pattern is required.
type FileConfig struct {
	// Name names the source in lines, positions and logs (the jail's name).
	Name string
	// Pattern is the file to follow, or a glob (filepath.Match syntax) whose
	// matches are all followed, including files that appear later. Files
	// with a compressed suffix (.gz, .xz, …) are skipped.
	Pattern string
	// Positions keeps read positions across restarts; nil keeps none.
	Positions PositionStore
	// Start says where to start in a file without a saved position.
	Start StartMode
	// FindTime is how far back StartFindTime reads.
	FindTime time.Duration
	// TimeOf returns the time a line was logged, if it has one; it is used
	// only to find where to start, and is called from the Run goroutine.
	TimeOf func(line []byte) (time.Time, bool)
	// Poll forces polling instead of inotify. Polling is also used when
	// inotify cannot be set up (instance or watch limits) and for files on
	// network and FUSE filesystems.
	Poll bool
	// PollInterval is how often files are looked at when polling.
	PollInterval time.Duration
	// RescanInterval is how often, with inotify, the pattern is matched and
	// files looked at anyway: a safety net for missed events and for
	// directories that do not exist yet.
	RescanInterval time.Duration
	// RotateWait is how long a file renamed away or deleted is still read
	// after it was last written to: the writer may not have reopened yet.
	RotateWait time.Duration
	// PartialFlush is how long a last line without its newline is held
	// before it is handed on as it is.
	PartialFlush time.Duration
	// MaxLineBytes caps a line: a longer one is cut, handed on with
	// Line.Truncated and counted.
	MaxLineBytes int
	// SaveInterval is how often positions are saved while running; they
	// are also saved when Run returns.
	SaveInterval time.Duration
	// Logger receives problems and rotations; nil means slog.Default().
	Logger *slog.Logger
	// OnError, when set, is called for each new reason a file cannot be
	// read (the same moments the Logger is told), e.g. to count them.
	OnError func()
}

// File is a Source that follows the files matching a pattern.
type File struct {
	cfg FileConfig
	// newWatcher starts change notification; tests replace it.
	newWatcher func() (watcher, error)

	mu      sync.Mutex
	running bool
	status  []Status
}

var _ Source = (*File)(nil)

// NewFile checks cfg and returns a file source.
func NewFile(cfg FileConfig) (*File, error) {
	if cfg.Pattern == "" {
		return nil, fmt.Errorf("logsource %q: no file pattern", cfg.Name)
	}
	if _, err := filepath.Match(cfg.Pattern, ""); err != nil {
		return nil, fmt.Errorf("logsource %q: pattern %q: %w", cfg.Name, cfg.Pattern, err)
	}
	abs, err := filepath.Abs(cfg.Pattern)
	if err != nil {
		return nil, fmt.Errorf("logsource %q: pattern %q: %w", cfg.Name, cfg.Pattern, err)
	}
	cfg.Pattern = abs
	if cfg.Start < StartFindTime || cfg.Start > StartBeginning {
		return nil, fmt.Errorf("logsource %q: unknown start mode %d", cfg.Name, int(cfg.Start))
	}
	if cfg.MaxLineBytes < 0 || cfg.FindTime < 0 {
		return nil, fmt.Errorf("logsource %q: negative max line length or findtime", cfg.Name)
	}
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.RescanInterval, DefaultRescanInterval)
	setDefault(&cfg.RotateWait, DefaultRotateWait)
	setDefault(&cfg.PartialFlush, DefaultPartialFlush)
	setDefault(&cfg.SaveInterval, DefaultSaveInterval)
	setDefault(&cfg.MaxLineBytes, DefaultMaxLineBytes)
	if cfg.Positions == nil {
		cfg.Positions = &MemoryPositions{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &File{cfg: cfg, newWatcher: newFSWatcher}, nil
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Pattern returns the absolute pattern the source follows.
func (f *File) Pattern() string { return f.cfg.Pattern }

// Status returns how each followed file is doing, sorted by path; a pattern
// that matches nothing shows as one missing entry. It is safe to call while
// Run runs.
func (f *File) Status() []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.status)
}

func (f *File) setStatus(s []Status) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
}

// Run follows the files until ctx is done, then saves the positions of the
// lines handed on and returns nil. emit is called from Run's goroutine only.
func (f *File) Run(ctx context.Context, emit func(Line)) error {
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return fmt.Errorf("logsource %q: already running", f.cfg.Name)
	}
	f.running = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	}()

	t := newTailer(f, emit)
	defer t.stop(ctx)
	t.startWatch()
	t.scan(ctx, true, time.Now())
	timer := time.NewTimer(t.nextWake(time.Now()))
	defer timer.Stop()
	for {
		var (
			events <-chan fsEvent
			errs   <-chan error
		)
		if t.w != nil {
			events, errs = t.w.events(), t.w.errors()
		}
		full := false
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			relevant, needFull := false, false
			if ok {
				relevant, needFull = t.event(ev)
			}
			// Take every queued event before reading: one pass serves them all.
			r, nf, closed := t.drain(events)
			if !ok || closed {
				t.fallBackToPolling("inotify watcher closed")
				r, nf = true, true
			}
			if !relevant && !r {
				continue
			}
			full = needFull || nf
		case err := <-errs:
			// An overflowed queue lost events: look at everything.
			t.log.Warn("inotify error, rescanning", "source", f.cfg.Name, "err", err)
			full = true
		case <-timer.C:
			// Take queued events first, so that changes they announce are
			// not counted as missed by inotify.
			if _, _, closed := t.drain(events); closed {
				t.fallBackToPolling("inotify watcher closed")
			}
			full = true
			t.rescan = true
		}
		now := time.Now()
		t.scan(ctx, full, now)
		t.maybeSave(ctx, now)
		timer.Reset(t.nextWake(now))
	}
}
