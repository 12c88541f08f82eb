package fim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// settle is how long a path must be quiet before it is read: an editor's
// write-rename-chmod sequence is reported as one change.
const settle = 50 * time.Millisecond

// Watcher reports changes to the realtime paths as they happen (inotify),
// against the baseline and then against what it last saw.
type Watcher struct {
	base  *Baseline
	opts  Options
	root  string
	paths []string // realtime image paths, expanded
	// ready, when set, is called once the watches are in place (tests).
	ready func()
	// NoFanotify turns off the fanotify attribution (tests of the inotify path).
	NoFanotify bool
	// Attribution is set by Run: "fanotify" when changes name their
	// process, else why not (read it after ready).
	attribution atomic.Value
}

// Attribution says whether changes name the process that made them
// ("fanotify") or why not; it is known once Run has set its watches.
func (w *Watcher) Attribution() string {
	s, _ := w.attribution.Load().(string)
	return s
}

// SetReady registers f to be called once the watches are in place.
func (w *Watcher) SetReady(f func()) { w.ready = f }

// NewWatcher returns a watcher of opts.Config.Realtime, comparing with b.
func NewWatcher(b *Baseline, opts Options) (*Watcher, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	root, err := normRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(b, root, opts.baselineFile()); err != nil {
		return nil, err
	}
	if len(opts.Config.Realtime) == 0 {
		return nil, errors.New("fim.realtime: empty; nothing to watch")
	}
	return &Watcher{base: b, opts: opts, root: root, paths: expand(root, opts.Config.Realtime)}, nil
}

// Run watches until ctx ends, calling emit (from this goroutine) for each
// change within about a second of it. It returns nil when ctx ends, or the
// error that stopped the watching.
func (w *Watcher) Run(ctx context.Context, emit func(Change)) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("fim watch: %w", err)
	}
	defer fw.Close()
	s := &scanner{root: w.root, exclude: w.opts.Config.Exclude, warn: w.opts.Warn}
	known := map[string]*Entry{}
	var fan *fanWho
	fanSeen := make(chan string, 256)
	if w.NoFanotify {
		w.attribution.Store("off")
	} else if fan, err = newFanWho(w.root); err != nil {
		w.attribution.Store(err.Error())
		fan = nil
	} else {
		w.attribution.Store("fanotify")
	}
	addDir := func(name string) error {
		if err := fw.Add(name); err != nil {
			return err
		}
		if fan != nil {
			if err := fan.add(strings.TrimPrefix(name, w.root)); err != nil && w.opts.Warn != nil {
				w.opts.Warn(strings.TrimPrefix(name, w.root), fmt.Errorf("no process attribution: %w", err))
			}
		}
		return nil
	}
	watchTree := func(p string) {
		filepath.WalkDir(s.diskPath(p), func(name string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if excluded(w.opts.Config.Exclude, strings.TrimPrefix(name, w.root)) {
				return filepath.SkipDir
			}
			if err := addDir(name); err != nil && w.opts.Warn != nil {
				w.opts.Warn(strings.TrimPrefix(name, w.root), fmt.Errorf("not watched: %w", err))
			}
			return nil
		})
	}
	for _, p := range w.paths {
		var st unix.Stat_t
		if unix.Lstat(s.diskPath(p), &st) == nil && typeOf(st.Mode) == TypeDir {
			watchTree(p)
			continue
		}
		// A file is watched through its directory: editors replace files.
		if err := addDir(s.diskPath(path.Dir(p))); err != nil && w.opts.Warn != nil {
			w.opts.Warn(p, fmt.Errorf("not watched: %w", err))
		}
	}
	fanDone := make(chan error, 1)
	if fan != nil {
		go func() {
			fanDone <- fan.run(w.relevant, func(p string) {
				select {
				case fanSeen <- p:
				default: // inotify reports it too
				}
			})
		}()
		f, done := fan, fanDone
		defer func() {
			f.close()
			if fanDone != nil { // not yet returned
				<-done
			}
		}()
	}
	// Opened before the watching starts, so that the first change does not
	// wait for the md5sums to be read.
	sums := &sumsCache{root: w.root}
	if !w.opts.NoPackages {
		sums.get()
	}
	if w.ready != nil {
		w.ready()
	}
	pending := map[string]time.Time{}
	// The timer runs only while something is pending: an idle watcher
	// wakes for nothing but events.
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	armed := false
	arm := func() {
		if !armed && len(pending) > 0 {
			tick.Reset(settle / 2)
			armed = true
		}
	}
	defer tick.Stop()
	for {
		arm()
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("fim watch: inotify closed")
			}
			p := strings.TrimPrefix(ev.Name, w.root)
			if !w.relevant(p) {
				continue
			}
			pending[p] = time.Now()
			if ev.Has(fsnotify.Create) {
				var st unix.Stat_t
				if unix.Lstat(ev.Name, &st) == nil && typeOf(st.Mode) == TypeDir {
					watchTree(p)
					// Files made before the watch was in place: look at them too.
					filepath.WalkDir(ev.Name, func(name string, _ os.DirEntry, err error) error {
						if err == nil {
							pending[strings.TrimPrefix(name, w.root)] = time.Now()
						}
						return nil
					})
				}
			}
		case p := <-fanSeen:
			pending[p] = time.Now()
		case err := <-fanDone:
			// Attribution stopped; the inotify watching goes on.
			fan, fanDone = nil, nil
			if err != nil && w.opts.Warn != nil {
				w.opts.Warn("", err)
			}
			w.attribution.Store(fmt.Sprint(err))
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("fim watch: inotify closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: look at every watched path again.
				for _, p := range w.paths {
					pending[p] = time.Now()
					for q := range known {
						if under(q, p) {
							pending[q] = time.Now()
						}
					}
				}
				continue
			}
			return fmt.Errorf("fim watch: %w", err)
		case now := <-tick.C:
			armed = false
			var due []string
			for p, t := range pending {
				if now.Sub(t) >= settle {
					due = append(due, p)
				}
			}
			slices.Sort(due)
			for _, p := range due {
				delete(pending, p)
				var proc *Process
				if fan != nil {
					proc = fan.who(p)
				}
				cs := w.look(s, known, p)
				if !w.opts.NoPackages {
					annotateWith(w.root, w.base.Meta, cs, sums.get)
				}
				for _, c := range cs {
					c.Proc = proc
					emit(c)
				}
			}
		}
	}
}

// relevant reports whether the image path p is a realtime path or inside one.
func (w *Watcher) relevant(p string) bool {
	if excluded(w.opts.Config.Exclude, p) {
		return false
	}
	for _, r := range w.paths {
		if under(p, r) {
			return true
		}
	}
	return false
}

// look reads p and reports how it differs from what was known of it.
func (w *Watcher) look(s *scanner, known map[string]*Entry, p string) []Change {
	old, ok := known[p]
	if !ok {
		if i := w.base.Find(p); i >= 0 {
			e := w.base.Entry(i)
			old = &e
		}
	}
	var now *Entry
	var st unix.Stat_t
	if err := unix.Lstat(s.diskPath(p), &st); err == nil {
		it := &item{e: entryFromStat(p, &st)}
		s.read(it, make([]byte, 64<<10), new([]byte))
		if it.err != nil && w.opts.Warn != nil {
			w.opts.Warn(p, it.err)
		}
		if !it.gone {
			now = &it.e
		}
	}
	known[p] = now
	switch {
	case old == nil && now == nil:
		return nil
	case old == nil:
		return []Change{{Path: p, Kind: KindNew, New: summary(now)}}
	case now == nil:
		return []Change{{Path: p, Kind: KindRemoved, Old: summary(old)}}
	}
	return diff(nil, old, now) // an unreadable file has no hash: the rest is compared
}
