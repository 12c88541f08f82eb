package logsource

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// retiredPoll is how often a file renamed away is looked at while it may
// still be written to: its new name may be outside the watched pattern.
const retiredPoll = 250 * time.Millisecond

// tailer is the state of one File.Run: the open files and what is known
// about the pattern's paths. Only Run's goroutine touches it.
type tailer struct {
	f    *File
	cfg  *FileConfig
	log  *slog.Logger
	sink sink

	files  map[fileID]*fileReader // every open file, followed or retired
	byPath map[string]*fileReader // the followed files, by path
	stats  map[string]*pathStats
	// atStart holds the paths that matched when Run started and were not
	// opened yet: they resume from a saved position or follow the start
	// mode, where a file appearing later is read from its start.
	atStart map[string]bool
	started bool
	issues  map[string]issue
	cur     map[string]fileID // scratch: what the pattern names now

	w       watcher
	watched map[string]bool
	mode    string

	rescan   bool // this scan was not asked for by an event
	dirty    bool // positions moved since the last save
	lastSave time.Time
}

// issue is why a path is not being read.
type issue struct {
	state State
	err   string
	since time.Time
	// stat marks a problem looking the path up, cleared by the next
	// successful look; others (open, read) clear when reading works.
	stat bool
}

func newTailer(f *File, emit func(Line)) *tailer {
	return &tailer{
		f:        f,
		cfg:      &f.cfg,
		log:      f.cfg.Logger,
		sink:     sink{name: f.cfg.Name, emit: emit},
		files:    make(map[fileID]*fileReader),
		byPath:   make(map[string]*fileReader),
		stats:    make(map[string]*pathStats),
		atStart:  make(map[string]bool),
		issues:   make(map[string]issue),
		cur:      make(map[string]fileID),
		watched:  make(map[string]bool),
		mode:     "poll",
		lastSave: time.Now(),
	}
}

func (t *tailer) key(path string) string { return t.cfg.Name + ":" + path }

func (t *tailer) startWatch() {
	if t.cfg.Poll {
		return
	}
	w, err := t.f.newWatcher()
	if err != nil {
		t.log.Warn("inotify unavailable, polling log files", "source", t.cfg.Name, "err", err, "interval", t.cfg.PollInterval)
		return
	}
	t.w = w
	t.mode = "inotify"
}

func (t *tailer) fallBackToPolling(why string, args ...any) {
	if t.w == nil {
		return
	}
	t.w.Close()
	t.w = nil
	t.mode = "poll"
	t.log.Warn("inotify not usable, polling log files", append([]any{"source", t.cfg.Name, "reason", why, "interval", t.cfg.PollInterval}, args...)...)
}

// watchDirs watches the directories of the pattern and of the followed
// files, falling back to polling when inotify cannot serve them.
func (t *tailer) watchDirs() {
	if t.w == nil {
		return
	}
	var dirs []string
	if d, ok := staticDir(t.cfg.Pattern); ok {
		dirs = append(dirs, d)
	}
	for p, r := range t.byPath {
		dirs = append(dirs, filepath.Dir(p))
		if r.target != "" {
			dirs = append(dirs, filepath.Dir(r.target))
		}
	}
	for _, d := range dirs {
		if t.watched[d] {
			continue
		}
		if fsType, ok := eventlessFS(d); ok {
			t.fallBackToPolling("filesystem without inotify events", "dir", d, "fs", fsType)
			return
		}
		if err := t.w.Add(d); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // watched once it exists, found by a rescan
			}
			t.fallBackToPolling("cannot watch directory", "dir", d, "err", err, "limit", watchLimit(err))
			return
		}
		t.watched[d] = true
	}
}

// event reports whether ev concerns the followed files, and whether the
// pattern must be matched again (a file appeared, left or was renamed).
func (t *tailer) event(ev fsEvent) (relevant, full bool) {
	names := ev.Has(opCreate) || ev.Has(opRemove) || ev.Has(opRename)
	if t.watched[ev.Name] && (ev.Has(opRemove) || ev.Has(opRename)) {
		delete(t.watched, ev.Name) // the kernel dropped the watch with it
		return true, true
	}
	if r, ok := t.byPath[ev.Name]; ok {
		r.evented = true
		return true, names
	}
	if ok, _ := filepath.Match(t.cfg.Pattern, ev.Name); ok {
		return true, true
	}
	for _, r := range t.byPath {
		if r.target == ev.Name {
			r.evented = true
			return true, names // written through a symlink the pattern names
		}
	}
	return false, false
}

// drain handles the events already queued, without waiting. It reports
// whether any concerned the followed files or needs the pattern matched
// again, and whether the channel was closed.
func (t *tailer) drain(events <-chan fsEvent) (relevant, full, closed bool) {
	if events == nil {
		return false, false, false
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return relevant, full, true
			}
			r, f := t.event(ev)
			relevant, full = relevant || r, full || f
		default:
			return relevant, full, false
		}
	}
}

// scan matches the pattern (or, when !full, looks at the followed paths
// only), follows renames, rotations and new files, and reads every open file
// to its end.
func (t *tailer) scan(ctx context.Context, full bool, now time.Time) {
	if !t.lookup(full, now) {
		t.lookup(true, now)
	}
	if !t.started {
		for p := range t.cur {
			t.atStart[p] = true
		}
		t.started = true
	}

	// Files no longer at their path: moved to another path the pattern
	// matches, or rotated away / deleted.
	var moved []*fileReader
	for p, r := range t.byPath {
		if id, ok := t.cur[p]; !ok || id != r.id {
			delete(t.byPath, p)
			moved = append(moved, r)
		}
	}
	for _, r := range moved {
		if p, ok := t.pathOf(r.id); ok {
			r.path, r.stats = p, t.statsFor(p)
			t.byPath[p] = r
		} else {
			t.retire(r, now)
		}
		t.dirty = true
	}
	// Paths holding a file not followed yet.
	for _, p := range slices.Sorted(maps.Keys(t.cur)) {
		if _, ok := t.byPath[p]; ok {
			continue
		}
		if r := t.files[t.cur[p]]; r != nil {
			// A retired file came back under a followed name.
			r.active, r.path, r.stats = true, p, t.statsFor(p)
			t.byPath[p] = r
			continue
		}
		if !t.atStart[p] && t.rotatedName(p) {
			continue
		}
		t.open(ctx, p, now)
	}
	if full {
		t.watchDirs()
	}

	// Read: retired files first, as their lines came before the new file's.
	for _, r := range t.sortedReaders() {
		if ctx.Err() != nil {
			return
		}
		t.poll(ctx, r, now)
		if !r.active && now.Sub(r.lastGrowth) >= t.cfg.RotateWait {
			r.flushPartial(&t.sink)
			r.f.Close()
			delete(t.files, r.id)
		}
	}
	t.rescan = false
	t.publish(now)
}

// rotatedName reports whether path, new since start, is named as a rotated
// copy of a followed file (app.log.1, app.log-20261124 beside app.log). A
// file renamed by a rotation keeps its identity and is never new, so this
// one is the copy copytruncate makes: its lines were read through the
// original (and the copy's end through truncated), and reading it again
// would count them twice.
func (t *tailer) rotatedName(path string) bool { return t.rotatedOf(path) != nil }

// rotatedOf returns the open file whose rotated name path has, or nil.
func (t *tailer) rotatedOf(path string) *fileReader {
	dir, base := filepath.Split(path)
	for _, r := range t.files {
		d, b := filepath.Split(r.path)
		if d == dir && rotatedSibling(base, b) {
			return r
		}
	}
	return nil
}

// rotatedSibling reports whether name is base with a rotation suffix:
// ".1", "-20261124", "_2026-11-24", "-20261124.2" (separators and digits).
func rotatedSibling(name, base string) bool {
	suffix, ok := strings.CutPrefix(name, base)
	if !ok || len(suffix) < 2 || !strings.ContainsRune(".-_", rune(suffix[0])) {
		return false
	}
	digit := false
	for _, c := range []byte(suffix[1:]) {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == '.' || c == '-' || c == '_':
		default:
			return false
		}
	}
	return digit
}

// lookup fills t.cur with what the pattern (or, when !full, the followed
// paths) name now. Without full it reports false when a followed path
// changed, so that the caller matches the whole pattern.
func (t *tailer) lookup(full bool, now time.Time) bool {
	clear(t.cur)
	var paths []string
	if full {
		matches, _ := filepath.Glob(t.cfg.Pattern) // the pattern was checked
		for _, m := range matches {
			if !compressed(m) {
				paths = append(paths, m)
			}
		}
	} else {
		for p := range t.byPath {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if !full {
				return false
			}
			if !errors.Is(err, fs.ErrNotExist) {
				t.problem(p, err, true, now)
				if r := t.byPath[p]; r != nil {
					// Not a rotation: keep the file as it is until the
					// path can be looked at again.
					t.cur[p] = r.id
				}
			}
			continue
		}
		if is, ok := t.issues[p]; ok && is.stat {
			delete(t.issues, p)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		id := idOf(fi)
		if !full && id != t.byPath[p].id {
			return false
		}
		t.cur[p] = id
	}
	if full {
		t.missing(now)
	}
	return true
}

// missing records (and logs, unless a rotation is under way) a pattern that
// matches no file.
func (t *tailer) missing(now time.Time) {
	p := t.cfg.Pattern
	if len(t.cur) > 0 || len(t.byPath) > 0 {
		if _, ok := t.issues[p]; ok {
			delete(t.issues, p)
			t.log.Info("log file found", "source", t.cfg.Name, "pattern", p)
		}
		return
	}
	if _, ok := t.issues[p]; ok {
		return
	}
	t.issues[p] = issue{state: StateMissing, err: "no file matches", since: now}
	if len(t.files) == 0 {
		t.log.Warn("log file missing, waiting for it", "source", t.cfg.Name, "pattern", p)
	}
}

// problem records why path cannot be read, logging each new reason once.
func (t *tailer) problem(path string, err error, stat bool, now time.Time) {
	msg := err.Error()
	if old, ok := t.issues[path]; ok && old.err == msg {
		return
	}
	t.issues[path] = issue{state: StateError, err: msg, since: now, stat: stat}
	t.log.Warn("log file unreadable, retrying", "source", t.cfg.Name, "path", path, "err", err)
	if t.cfg.OnError != nil {
		t.cfg.OnError()
	}
}

func (t *tailer) pathOf(id fileID) (string, bool) {
	for p, pid := range t.cur {
		if pid == id {
			return p, true
		}
	}
	return "", false
}

func (t *tailer) statsFor(path string) *pathStats {
	s := t.stats[path]
	if s == nil {
		s = &pathStats{}
		t.stats[path] = s
	}
	return s
}

func (t *tailer) retire(r *fileReader, now time.Time) {
	r.active = false
	r.lastGrowth = now
	r.stats.rotations++
	t.log.Info("log file rotated away, finishing it", "source", t.cfg.Name, "path", r.path, "offset", r.commitOff)
}

// sortedReaders returns the open files, retired ones first, then by path.
func (t *tailer) sortedReaders() []*fileReader {
	rs := slices.Collect(maps.Values(t.files))
	slices.SortFunc(rs, func(a, b *fileReader) int {
		if a.active != b.active {
			if a.active {
				return 1
			}
			return -1
		}
		return cmp.Or(strings.Compare(a.path, b.path), cmp.Compare(a.commitOff, b.commitOff))
	})
	return rs
}

// poll reads what was appended to r, first noticing a truncation.
func (t *tailer) poll(ctx context.Context, r *fileReader, now time.Time) {
	fi, err := r.f.Stat()
	if err != nil {
		t.problem(r.path, err, false, now)
		return
	}
	size := fi.Size()
	if size < r.readOff || (size != r.size && !r.refreshFingerprint(size)) {
		t.truncated(ctx, r)
		r.takeFingerprint(size)
	}
	r.size = size
	if t.rescan && t.w != nil && r.active {
		t.checkMissed(r, size)
	}
	if size > r.readOff {
		n, err := r.read(ctx, r.f, &t.sink)
		if err != nil {
			t.problem(r.path, err, false, now)
		} else if is, ok := t.issues[r.path]; ok && !is.stat {
			delete(t.issues, r.path)
		}
		if n > 0 {
			r.lastGrowth = now
			t.dirty = true
		}
	}
	if r.hasPartial() && now.Sub(r.lastGrowth) >= t.cfg.PartialFlush {
		r.flushPartial(&t.sink)
		t.dirty = true
	}
	if t.rescan && now.Sub(r.lastGrowth) >= t.cfg.RescanInterval {
		r.release() // quiet since the last timed rescan or longer
	}
}

// missedLimit is how many rescans in a row may find a file grown without
// any inotify event before the source gives up on inotify.
const missedLimit = 2

// checkMissed counts, at a rescan, a file that grew although no inotify
// event came for it since the last rescan: its filesystem does not report
// changes (one the statfs check does not know, or a writer in another
// kernel). After missedLimit such rescans in a row, the source polls.
func (t *tailer) checkMissed(r *fileReader, size int64) {
	switch {
	case r.evented:
		r.missed = 0
	case size > r.readOff:
		r.missed++
	}
	r.evented = false
	if r.missed >= missedLimit {
		t.fallBackToPolling("changes without inotify events", "path", r.path)
	}
}

// truncated handles a file cut short (copytruncate) or truncated and
// written again: the lines between the last read and the truncation are
// read from the copy when one is found beside the file, then the file is
// read again from its start.
//
// copytruncate has an inherent race: lines written after the copy and
// before the truncation are in neither file, and are lost to any reader.
func (t *tailer) truncated(ctx context.Context, r *fileReader) {
	if r.active && r.fp.n > 0 {
		if c := t.findSibling(r.path, r.id, func(_ fileID, size int64) bool { return size > r.readOff }, r.fp); c != nil {
			t.log.Info("reading the end of a truncated log file from its copy", "source", t.cfg.Name, "path", r.path, "copy", c.Name(), "offset", r.readOff)
			if _, err := r.read(ctx, c, &t.sink); err != nil {
				t.log.Warn("reading rotated copy failed", "source", t.cfg.Name, "path", c.Name(), "err", err)
			}
			c.Close()
		}
	}
	r.flushPartial(&t.sink)
	t.log.Info("log file truncated, reading from its start", "source", t.cfg.Name, "path", r.path, "offset", r.readOff)
	r.setOffset(0)
	r.fp = fingerprint{}
	r.backlogEnd = 0
	r.stats.rotations++
	t.dirty = true
}

// findSibling looks beside path for the file a rotation left (path.1,
// path-20240101, …; compressed ones never qualify) that starts with the fingerprinted
// bytes, is not the file exclude, and that ok accepts; the most recently
// modified wins. The caller closes it.
func (t *tailer) findSibling(path string, exclude fileID, ok func(id fileID, size int64) bool, fp fingerprint) *os.File {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var (
		best    *os.File
		bestMod time.Time
	)
	var fpBuf [fingerprintSize]byte
	for _, e := range entries {
		name := e.Name()
		if !rotatedSibling(name, base) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() || idOf(fi) == exclude || !ok(idOf(fi), fi.Size()) ||
			!matchesFingerprint(f, fp, &fpBuf) || (best != nil && !fi.ModTime().After(bestMod)) {
			f.Close()
			continue
		}
		if best != nil {
			best.Close()
		}
		best, bestMod = f, fi.ModTime()
	}
	return best
}

// open starts following the file at path.
func (t *tailer) open(ctx context.Context, path string, now time.Time) {
	f, err := os.Open(path)
	if err != nil {
		t.problem(path, err, false, now)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		t.problem(path, err, false, now)
		return
	}
	id := idOf(fi)
	if t.files[id] != nil {
		f.Close() // renamed under us: the next scan sorts it out
		return
	}
	delete(t.issues, path)
	r := newFileReader(f, id, path, t.cfg.MaxLineBytes, t.statsFor(path))
	r.size = fi.Size()
	r.lastGrowth, r.since = now, now
	if target, err := filepath.EvalSymlinks(path); err == nil && target != path {
		// Writes show up as events in the target's directory.
		r.target = target
	}
	r.takeFingerprint(r.size)
	if t.atStart[path] {
		// Known since start: resume, or apply the start mode.
		r.backlogEnd = r.size
		r.setOffset(t.startOffset(ctx, r))
	} else {
		// A file that appeared while running is new: read it all.
		r.setOffset(0)
	}
	delete(t.atStart, path)
	t.files[id] = r
	t.byPath[path] = r
	t.dirty = true
	t.log.Debug("following log file", "source", t.cfg.Name, "path", path, "offset", r.commitOff, "size", r.size)
}

// startOffset returns where to start reading a file that was there when Run
// started: its saved position when that still describes it, else the
// start mode's choice.
func (t *tailer) startOffset(ctx context.Context, r *fileReader) int64 {
	pos, ok, err := t.cfg.Positions.Position(ctx, t.key(r.path))
	if err != nil {
		t.log.Warn("reading saved position failed", "source", t.cfg.Name, "path", r.path, "err", err)
		ok = false
	}
	r.resumed = ok
	if ok {
		fp, fpOK := parseFingerprint(pos)
		saved := fileID{dev: pos.Dev, ino: pos.Inode}
		if saved == r.id && fpOK && pos.Offset <= r.size && matchesFingerprint(r.f, fp, &r.fpBuf) {
			return max(pos.Offset, t.skipOld(r, pos.Offset))
		}
		// Rotated, truncated or replaced while stopped: finish the old file
		// if it is still beside this one, then read this one from its start.
		if fpOK && fp.n > 0 {
			t.catchUp(ctx, r, pos, saved, fp)
		}
		t.log.Info("log file replaced while stopped, reading it from its start", "source", t.cfg.Name, "path", r.path)
		return 0
	}
	if orig := t.rotatedOf(r.path); orig != nil && orig.resumed {
		// A rotated copy of a file this source followed before (a broad
		// pattern, app.log*): what it holds was read through the original,
		// or is read now by catchUp.
		return r.size
	}
	switch {
	case t.cfg.Start == StartBeginning:
		return 0
	case t.cfg.Start == StartFindTime && t.cfg.TimeOf != nil && t.cfg.FindTime > 0:
		off, err := seekTime(r.f, r.size, time.Now().Add(-t.cfg.FindTime), t.cfg.TimeOf)
		if err != nil {
			t.log.Warn("finding findtime start failed, reading from the end", "source", t.cfg.Name, "path", r.path, "err", err)
			return r.size
		}
		return off
	}
	return r.size
}

// skipOld returns where the lines newer than now - FindTime start when
// that is past from (a long stop): older lines cannot count toward a ban,
// and reading a week of them would only delay the recent ones. It returns
// from when it cannot tell.
func (t *tailer) skipOld(r *fileReader, from int64) int64 {
	if t.cfg.Start != StartFindTime || t.cfg.TimeOf == nil || t.cfg.FindTime <= 0 {
		return from
	}
	off, err := seekTime(r.f, r.size, time.Now().Add(-t.cfg.FindTime), t.cfg.TimeOf)
	if err != nil || off <= from {
		return from
	}
	t.log.Info("skipping log lines older than findtime", "source", t.cfg.Name, "path", r.path, "from", from, "to", off)
	return off
}

// catchUp reads, from the saved offset to its end, the file a saved position
// described when it is still found beside r's path under another name.
func (t *tailer) catchUp(ctx context.Context, r *fileReader, pos Position, saved fileID, fp fingerprint) {
	accept := func(id fileID, size int64) bool {
		return (id == saved || saved == r.id) && size >= pos.Offset
	}
	f := t.findSibling(r.path, r.id, accept, fp)
	if f == nil {
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return
	}
	old := newFileReader(f, idOf(fi), r.path, t.cfg.MaxLineBytes, r.stats)
	old.backlogEnd = fi.Size()
	old.setOffset(pos.Offset)
	t.log.Info("finishing log file rotated while stopped", "source", t.cfg.Name, "path", r.path, "rotated", f.Name(), "offset", pos.Offset)
	if _, err := old.read(ctx, f, &t.sink); err != nil {
		t.log.Warn("reading rotated log file failed", "source", t.cfg.Name, "path", f.Name(), "err", err)
	}
	old.flushPartial(&t.sink)
}

// nextWake returns how long to sleep before looking again without an event.
func (t *tailer) nextWake(now time.Time) time.Duration {
	d := t.cfg.RescanInterval
	if t.w == nil {
		d = t.cfg.PollInterval
	}
	for _, r := range t.files {
		if !r.active {
			d = min(d, retiredPoll, t.cfg.PollInterval)
		}
		if r.hasPartial() {
			d = min(d, r.lastGrowth.Add(t.cfg.PartialFlush).Sub(now))
		}
	}
	if t.dirty {
		d = min(d, t.lastSave.Add(t.cfg.SaveInterval).Sub(now))
	}
	return max(d, time.Millisecond)
}

func (t *tailer) positions() []Position {
	ps := make([]Position, 0, len(t.byPath))
	for _, p := range slices.Sorted(maps.Keys(t.byPath)) {
		ps = append(ps, t.byPath[p].position(t.key(p)))
	}
	return ps
}

func (t *tailer) maybeSave(ctx context.Context, now time.Time) {
	if !t.dirty || now.Sub(t.lastSave) < t.cfg.SaveInterval {
		return
	}
	t.save(ctx, now)
}

func (t *tailer) save(ctx context.Context, now time.Time) {
	ps := t.positions()
	t.lastSave = now
	if len(ps) == 0 {
		t.dirty = false
		return
	}
	if err := t.cfg.Positions.SavePositions(ctx, ps); err != nil {
		t.log.Warn("saving log positions failed", "source", t.cfg.Name, "err", err)
		return
	}
	t.dirty = false
}

// stop saves the positions and closes everything. Held partial lines are
// not handed on: their start is saved and they are read again next time.
func (t *tailer) stop(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	t.save(sctx, time.Now())
	for _, r := range t.files {
		r.f.Close()
	}
	if t.w != nil {
		t.w.Close()
	}
	t.publish(time.Now())
}

// publish makes the current state visible to Status.
func (t *tailer) publish(now time.Time) {
	var out []Status
	for p, r := range t.byPath {
		s := Status{
			Source:         t.cfg.Name,
			Path:           p,
			State:          StateReading,
			Mode:           t.mode,
			Offset:         r.commitOff,
			Size:           r.size,
			Lines:          r.stats.lines,
			TruncatedLines: r.stats.truncated,
			Rotations:      r.stats.rotations,
			Since:          r.since,
		}
		if is, ok := t.issues[p]; ok {
			// Open, but reading it failed (an I/O error): retried.
			s.State, s.Err, s.Since = is.state, is.err, is.since
		}
		out = append(out, s)
	}
	for p, is := range t.issues {
		if _, ok := t.byPath[p]; ok {
			continue
		}
		s := Status{Source: t.cfg.Name, Path: p, State: is.state, Err: is.err, Mode: t.mode, Since: is.since}
		if st := t.stats[p]; st != nil {
			s.Lines, s.TruncatedLines, s.Rotations = st.lines, st.truncated, st.rotations
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Path, b.Path) })
	t.f.setStatus(out)
}
