package logsource

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of JournalConfig.
const (
	DefaultJournalCommand = "journalctl"
	DefaultMaxEntryBytes  = 1 << 20
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Minute
)

// JournalConfig configures a journald source. The zero value follows the
// whole journal from its end.
type JournalConfig struct {
	// Name names the source in lines, positions and logs (the jail's name).
	Name string
	// Matches are journalctl match terms, "FIELD=value" or "+" between
	// alternatives, as ParseJournalMatch returns them from a jail's
	// journalmatch.
	Matches []string
	// Command is the journalctl to run, looked up in PATH.
	Command string
	// Args are put before the matches, e.g. "--directory=/var/log/journal"
	// or "--merge".
	Args []string
	// Positions keeps the cursor across restarts; nil keeps none.
	Positions PositionStore
	// Start and FindTime say where to start without a saved cursor, as for
	// files. StartFindTime without a FindTime starts at the end.
	Start    StartMode
	FindTime time.Duration
	// Location is the time zone of the time written in each line; nil
	// means time.Local.
	Location *time.Location
	// MaxEntryBytes caps one JSON entry; a longer one is skipped and logged.
	MaxEntryBytes int
	// SaveInterval is how often the cursor is saved while running.
	SaveInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before journalctl is run
	// again after it exited.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives problems; nil means slog.Default().
	Logger *slog.Logger
	// OnError, when set, is called each time journalctl fails or stops.
	OnError func()
}

// Journal is a Source that follows the systemd journal through
// `journalctl --follow --output=json`. Each entry becomes one line in
// rsyslog's traditional format, with the entry's own time in Line.Time.
type Journal struct {
	cfg JournalConfig

	mu      sync.Mutex
	running bool
	status  Status
	cursor  string // of the last entry handed on
	dirty   bool   // cursor not saved yet
}

var _ Source = (*Journal)(nil)

// NewJournal checks cfg and returns a journald source.
func NewJournal(cfg JournalConfig) (*Journal, error) {
	if err := checkMatches(cfg.Matches); err != nil {
		return nil, fmt.Errorf("logsource %q: %w", cfg.Name, err)
	}
	if cfg.Start < StartFindTime || cfg.Start > StartBeginning {
		return nil, fmt.Errorf("logsource %q: unknown start mode %d", cfg.Name, int(cfg.Start))
	}
	if cfg.Command == "" {
		cfg.Command = DefaultJournalCommand
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	setDefault(&cfg.MaxEntryBytes, DefaultMaxEntryBytes)
	setDefault(&cfg.SaveInterval, DefaultSaveInterval)
	setDefault(&cfg.MinBackoff, DefaultMinBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	if cfg.Positions == nil {
		cfg.Positions = &MemoryPositions{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Journal{
		cfg:    cfg,
		status: Status{Source: cfg.Name, Path: "journald", State: StateMissing, Mode: "journalctl"},
	}, nil
}

// ParseJournalMatch splits a jail's journalmatch setting into journalctl
// terms: whitespace separates terms, quotes ('…' or "…") and backslashes
// keep spaces in a value, and "+" separates alternatives, as in
// "_SYSTEMD_UNIT=sshd.service + _COMM=sshd".
func ParseJournalMatch(s string) ([]string, error) {
	var (
		terms []string
		cur   strings.Builder
		in    bool // inside a term
		quote rune
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			in = true
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				terms = append(terms, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("journalmatch %q: unterminated quote", s)
	}
	if in {
		terms = append(terms, cur.String())
	}
	if err := checkMatches(terms); err != nil {
		return nil, fmt.Errorf("journalmatch %q: %w", s, err)
	}
	return terms, nil
}

// checkMatches checks journalctl match terms.
func checkMatches(terms []string) error {
	for i, t := range terms {
		if t == "+" {
			if i == 0 || i == len(terms)-1 || terms[i-1] == "+" {
				return errors.New(`"+" must stand between two matches`)
			}
			continue
		}
		field, _, ok := strings.Cut(t, "=")
		if !ok || !journalFieldName(field) {
			return fmt.Errorf("term %q: want FIELD=value (field in capitals, digits and _) or +", t)
		}
	}
	return nil
}

func journalFieldName(s string) bool {
	if s == "" || len(s) > 64 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// journalArgs returns journalctl's arguments: after cursor when there is
// one, else from since (zero: from the start mode's choice).
func journalArgs(cfg *JournalConfig, cursor string, since time.Time) []string {
	args := []string{"--follow", "--output=json", "--all", "--no-pager", "--quiet",
		"--output-fields=MESSAGE,_HOSTNAME,SYSLOG_IDENTIFIER,_COMM,SYSLOG_PID,_PID"}
	switch {
	case cursor != "":
		args = append(args, "--after-cursor="+cursor)
	case !since.IsZero():
		args = append(args, "--since=@"+strconv.FormatInt(since.Unix(), 10))
	case cfg.Start == StartBeginning:
		args = append(args, "--no-tail")
	default:
		args = append(args, "--lines=0")
	}
	args = append(args, cfg.Args...)
	return append(args, cfg.Matches...)
}

// Status returns how the journal source is doing.
func (j *Journal) Status() []Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return []Status{j.status}
}

func (j *Journal) key() string { return j.cfg.Name + ":journald" }

func (j *Journal) setState(state State, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status.State != state {
		j.status.Since = time.Now()
	}
	j.status.State = state
	j.status.Err = ""
	if err != nil {
		j.status.Err = err.Error()
	}
}

// Run follows the journal until ctx is done, running journalctl again
// (after a growing pause) whenever it exits, then saves the cursor and
// returns nil.
func (j *Journal) Run(ctx context.Context, emit func(Line)) error {
	j.mu.Lock()
	if j.running {
		j.mu.Unlock()
		return fmt.Errorf("logsource %q: already running", j.cfg.Name)
	}
	j.running = true
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.running = false
		j.mu.Unlock()
	}()
	log := j.cfg.Logger

	pos, ok, err := j.cfg.Positions.Position(ctx, j.key())
	if err != nil {
		log.Warn("reading saved journal cursor failed", "source", j.cfg.Name, "err", err)
	}
	started := time.Now()
	var since time.Time // used while no cursor is known
	if ok && pos.Cursor != "" {
		j.cursor = pos.Cursor
	} else if j.cfg.Start == StartFindTime && j.cfg.FindTime > 0 {
		since = started.Add(-j.cfg.FindTime)
	}

	saverDone := make(chan struct{})
	saverCtx, stopSaver := context.WithCancel(ctx)
	go func() {
		defer close(saverDone)
		j.saveEvery(saverCtx)
	}()
	defer func() {
		stopSaver()
		<-saverDone
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		j.save(sctx)
	}()

	backoff := j.cfg.MinBackoff
	for runs := 0; ; runs++ {
		cursor := j.currentCursor()
		if cursor == "" && runs > 0 && since.IsZero() && j.cfg.Start != StartBeginning {
			// Nothing read yet and journalctl died: go on from when we
			// started, so that entries written meanwhile are not skipped.
			since = started
		}
		args := journalArgs(&j.cfg, cursor, since)
		t0 := time.Now()
		n, err := j.runOnce(ctx, args, started, emit)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("journalctl exited")
		}
		if n > 0 || time.Since(t0) > j.cfg.MaxBackoff {
			backoff = j.cfg.MinBackoff
		}
		j.setState(StateError, err)
		log.Warn("journalctl stopped, restarting", "source", j.cfg.Name, "err", err, "entries", n, "after", backoff)
		if j.cfg.OnError != nil {
			j.cfg.OnError()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, j.cfg.MaxBackoff)
	}
}

func (j *Journal) currentCursor() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cursor
}

// saveEvery saves the cursor every SaveInterval while it moves.
func (j *Journal) saveEvery(ctx context.Context) {
	tick := time.NewTicker(j.cfg.SaveInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			j.save(ctx)
		}
	}
}

func (j *Journal) save(ctx context.Context) {
	j.mu.Lock()
	cursor, dirty := j.cursor, j.dirty
	j.mu.Unlock()
	if !dirty {
		return
	}
	if err := j.cfg.Positions.SavePositions(ctx, []Position{{Key: j.key(), Cursor: cursor}}); err != nil {
		j.cfg.Logger.Warn("saving journal cursor failed", "source", j.cfg.Name, "err", err)
		return
	}
	j.mu.Lock()
	if j.cursor == cursor {
		j.dirty = false
	}
	j.mu.Unlock()
}

// runOnce runs journalctl once and hands on its entries until it exits or
// ctx is done. It returns how many entries it handed on.
func (j *Journal) runOnce(ctx context.Context, args []string, started time.Time, emit func(Line)) (int, error) {
	cmd := exec.CommandContext(ctx, j.cfg.Command, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	stderr := &tailBuffer{max: 2048}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	j.setState(StateReading, nil)
	n, readErr := j.readEntries(stdout, started, emit)
	if readErr != nil {
		// Stop journalctl so Wait does not hang on a reader gone away.
		cmd.Process.Signal(syscall.SIGTERM)
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return n, nil
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return n, fmt.Errorf("journalctl: %v: %s", firstErr(waitErr, readErr), msg)
	}
	if err := firstErr(readErr, waitErr); err != nil {
		return n, fmt.Errorf("journalctl: %w", err)
	}
	return n, nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// readEntries hands on each JSON line of r as a formatted line.
func (j *Journal) readEntries(r io.Reader, started time.Time, emit func(Line)) (int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		n       int
		line    []byte // formatted line, reused
		long    []byte // an entry longer than the reader's buffer
		skipped bool   // dropping the rest of an entry over MaxEntryBytes
	)
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !skipped && len(long)+len(chunk) <= j.cfg.MaxEntryBytes {
				long = append(long, chunk...)
			} else {
				if !skipped {
					j.cfg.Logger.Warn("journal entry too long, skipped", "source", j.cfg.Name, "max", j.cfg.MaxEntryBytes)
				}
				skipped, long = true, long[:0]
			}
			continue
		}
		if err != nil && len(chunk) == 0 {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		entry := chunk
		if len(long) > 0 || skipped {
			if skipped || len(long)+len(chunk) > j.cfg.MaxEntryBytes {
				if !skipped {
					j.cfg.Logger.Warn("journal entry too long, skipped", "source", j.cfg.Name, "max", j.cfg.MaxEntryBytes)
				}
				skipped, long = false, long[:0]
				continue
			}
			long = append(long, chunk...)
			entry = long
		}
		entry = bytes.TrimSpace(entry)
		if len(entry) == 0 {
			continue
		}
		if len(entry) > j.cfg.MaxEntryBytes {
			j.cfg.Logger.Warn("journal entry too long, skipped", "source", j.cfg.Name, "max", j.cfg.MaxEntryBytes)
			long = long[:0]
			continue
		}
		e, perr := parseJournalEntry(entry)
		long = long[:0]
		if perr != nil {
			j.cfg.Logger.Warn("unreadable journal entry skipped", "source", j.cfg.Name, "err", perr)
			continue
		}
		line = e.appendLine(line[:0], j.cfg.Location)
		emit(Line{Source: j.cfg.Name, Path: "journald", Bytes: line, DateLen: stampLen, Time: e.realtime, Backlog: e.realtime.Before(started)})
		n++
		j.mu.Lock()
		j.cursor, j.dirty = e.cursor, true
		j.status.Lines++
		j.mu.Unlock()
		if err != nil {
			// The last entry had no newline: journalctl ended, or the
			// pipe failed.
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}

// tailBuffer keeps the last max bytes written to it (journalctl's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
