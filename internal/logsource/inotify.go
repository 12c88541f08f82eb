package logsource

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fsOp is what happened to a directory entry (bits, as several can come
// in one event).
type fsOp uint8

const (
	opCreate fsOp = 1 << iota // created, or moved into the directory
	opWrite                   // written
	opRemove                  // deleted
	opRename                  // moved out of the directory
	opChmod                   // metadata changed
)

// fsEvent is a change in a watched directory. Name is the entry's path
// (the directory's own path for a change to the directory itself).
type fsEvent struct {
	Name string
	Op   fsOp
}

// Has reports whether the event includes op.
func (e fsEvent) Has(op fsOp) bool { return e.Op&op != 0 }

// inotifyMask is what a directory watch asks for.
const inotifyMask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_MODIFY |
	unix.IN_ATTRIB | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// inotifyBuf is the read buffer: room for at least 15 events with the
// longest names (16 + 256 bytes each), and usually for a hundred.
const inotifyBuf = 4096

// eventQueue is how many events wait for the tailer; beyond that the
// kernel's own queue (fs.inotify.max_queued_events) holds them.
const eventQueue = 64

// inotify watches directories with one inotify instance, read through the
// runtime's poller by one goroutine with a small buffer. (fsnotify, used
// before, reads into a 64 KiB array on its goroutine's stack: 128 KiB of
// stack per source, most of an idle daemon's per-jail memory.)
type inotify struct {
	f      *os.File
	ev     chan fsEvent
	errs   chan error
	closed chan struct{}
	once   sync.Once
	done   chan struct{} // closed when the reader returns

	mu   sync.Mutex
	dirs map[int32][]string // watch descriptor -> the paths it was added as
}

// newInotify starts an inotify instance and its reader.
func newInotify() (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &inotify{
		f:      os.NewFile(uintptr(fd), "inotify"),
		ev:     make(chan fsEvent, eventQueue),
		errs:   make(chan error, 1),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
		dirs:   map[int32][]string{},
	}
	go w.read()
	return w, nil
}

// Add watches dir.
func (w *inotify) Add(dir string) error {
	rc, err := w.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	var (
		wd   int
		werr error
	)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := rc.Control(func(fd uintptr) { wd, werr = unix.InotifyAddWatch(int(fd), dir, inotifyMask) }); err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	if werr != nil {
		return &os.PathError{Op: "inotify_add_watch", Path: dir, Err: werr}
	}
	for _, d := range w.dirs[int32(wd)] {
		if d == dir {
			return nil
		}
	}
	w.dirs[int32(wd)] = append(w.dirs[int32(wd)], dir)
	return nil
}

func (w *inotify) events() <-chan fsEvent { return w.ev }
func (w *inotify) errors() <-chan error   { return w.errs }

// Close stops the reader and closes the events channel.
func (w *inotify) Close() error {
	var err error
	w.once.Do(func() {
		close(w.closed)
		err = w.f.Close() // wakes the reader
		<-w.done
	})
	return err
}

// read hands on events until Close, then closes the events channel.
func (w *inotify) read() {
	defer close(w.done)
	defer close(w.ev)
	buf := make([]byte, inotifyBuf)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.report(fmt.Errorf("inotify: %w", err))
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			raw := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : min(n, off+unix.SizeofInotifyEvent+int(raw.Len))]
			off += unix.SizeofInotifyEvent + int(raw.Len)
			op, dirs := w.decode(raw.Wd, raw.Mask)
			if op == 0 {
				continue
			}
			entry := ""
			if i := indexNUL(name); i > 0 {
				entry = string(name[:i])
			}
			for _, d := range dirs {
				select {
				case w.ev <- fsEvent{Name: joinEntry(d, entry), Op: op}:
				case <-w.closed:
					return
				}
			}
		}
	}
}

// report passes an error on without blocking (one pending is enough: the
// tailer rescans everything for it).
func (w *inotify) report(err error) {
	select {
	case w.errs <- err:
	default:
	}
}

// decode returns what one kernel event means, and the paths its watch was
// added as (never modified in place: read it freely), and keeps the watch
// table current. An op of 0 means nothing to hand on.
func (w *inotify) decode(wd int32, mask uint32) (fsOp, []string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		w.report(errors.New("inotify: event queue overflowed"))
		return 0, nil
	}
	w.mu.Lock()
	dirs := w.dirs[wd]
	switch {
	case mask&(unix.IN_IGNORED|unix.IN_UNMOUNT) != 0:
		delete(w.dirs, wd) // the kernel dropped the watch
		w.mu.Unlock()
		return 0, nil
	case mask&unix.IN_MOVE_SELF != 0:
		// The directory moved: its events would come under the old name.
		// Drop the watch; the tailer watches the path again if it exists.
		delete(w.dirs, wd)
		if rc, err := w.f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.InotifyRmWatch(int(fd), uint32(wd)) })
		}
	}
	w.mu.Unlock()
	var op fsOp
	if mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
		op |= opCreate
	}
	if mask&unix.IN_MODIFY != 0 {
		op |= opWrite
	}
	if mask&(unix.IN_DELETE|unix.IN_DELETE_SELF) != 0 {
		op |= opRemove
	}
	if mask&(unix.IN_MOVED_FROM|unix.IN_MOVE_SELF) != 0 {
		op |= opRename
	}
	if mask&unix.IN_ATTRIB != 0 {
		op |= opChmod
	}
	return op, dirs
}

// joinEntry returns the path of entry in dir ("" is dir itself).
func joinEntry(dir, entry string) string {
	switch {
	case entry == "":
		return dir
	case len(dir) > 0 && dir[len(dir)-1] == '/':
		return dir + entry
	}
	return dir + "/" + entry
}

// indexNUL returns the length of the NUL-padded name in b.
func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
