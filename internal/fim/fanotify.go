package fim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Process is who made a change, as fanotify (or auditd) says: read from
// /proc when the event arrived. A process that had already exited has only
// its PID.
type Process struct {
	PID  int    `json:"pid"`
	Exe  string `json:"exe,omitempty"`
	Comm string `json:"comm,omitempty"`
	// UID is the real uid; AUID the login uid (the user who logged in,
	// kept across sudo and su); -1 when unknown or unset.
	UID  int `json:"uid"`
	AUID int `json:"auid"`
}

// String renders the process for people and for event evidence.
func (p *Process) String() string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pid %d", p.PID)
	if p.Exe != "" {
		fmt.Fprintf(&b, " exe %s", strconv.QuoteToGraphic(p.Exe))
	}
	if p.Comm != "" {
		fmt.Fprintf(&b, " comm %s", strconv.QuoteToGraphic(p.Comm))
	}
	if p.UID >= 0 {
		fmt.Fprintf(&b, " uid %d", p.UID)
	}
	if p.AUID >= 0 {
		fmt.Fprintf(&b, " auid %d", p.AUID)
	}
	if p.Exe == "" && p.Comm == "" {
		b.WriteString(" (exited before it could be read)")
	}
	return b.String()
}

// readProcess reads what /proc says of pid now.
func readProcess(pid int) *Process {
	p := &Process{PID: pid, UID: -1, AUID: -1}
	dir := "/proc/" + strconv.Itoa(pid)
	p.Exe, _ = os.Readlink(dir + "/exe")
	if b, err := os.ReadFile(dir + "/comm"); err == nil {
		p.Comm = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "Uid:" {
				p.UID, _ = strconv.Atoi(f[1])
			}
		}
	}
	if b, err := os.ReadFile(dir + "/loginuid"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil && v != 0xffffffff {
			p.AUID = int(v)
		}
	}
	return p
}

// fanotifyMask is what the attribution listens to on each watched directory
// and its children.
const fanotifyMask = unix.FAN_MODIFY | unix.FAN_ATTRIB | unix.FAN_CREATE | unix.FAN_DELETE |
	unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO | unix.FAN_EVENT_ON_CHILD | unix.FAN_ONDIR

// fanWho tells, from fanotify events, which process last changed a path.
// It needs CAP_SYS_ADMIN and a kernel with FAN_REPORT_DFID_NAME (5.9);
// newFanWho fails otherwise and the watcher goes on without attribution.
type fanWho struct {
	f    *os.File
	root string
	self int

	mu   sync.Mutex
	dirs map[string]string // file-handle key -> image path of a marked directory
	last map[string]*Process
}

func newFanWho(root string) (*fanWho, error) {
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_REPORT_DFID_NAME|unix.FAN_NONBLOCK|unix.FAN_CLOEXEC, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fanotify: %w (needs CAP_SYS_ADMIN and Linux 5.9)", err)
	}
	return &fanWho{f: os.NewFile(uintptr(fd), "fanotify"), root: root, self: os.Getpid(),
		dirs: map[string]string{}, last: map[string]*Process{}}, nil
}

func handleKey(typ int32, h []byte) string { return strconv.Itoa(int(typ)) + ":" + string(h) }

// add marks the image directory dir.
func (w *fanWho) add(dir string) error {
	disk := w.root + dir
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, disk, 0)
	if err != nil {
		return fmt.Errorf("fanotify: %s: %w", dir, err)
	}
	if err := unix.FanotifyMark(int(w.f.Fd()), unix.FAN_MARK_ADD, fanotifyMask, unix.AT_FDCWD, disk); err != nil {
		return fmt.Errorf("fanotify mark %s: %w", dir, err)
	}
	w.mu.Lock()
	w.dirs[handleKey(h.Type(), h.Bytes())] = dir
	w.mu.Unlock()
	return nil
}

// run reads events until the file is closed; a path relevant says is
// watched has its process recorded and is sent to seen, so that the
// watcher looks at it too.
func (w *fanWho) run(relevant func(string) bool, seen func(string)) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("fanotify read: %w", err)
		}
		evs, fds := parseFanotify(buf[:n])
		for _, fd := range fds {
			unix.Close(fd)
		}
		for _, ev := range evs {
			if ev.pid == w.self {
				continue
			}
			w.mu.Lock()
			dir, ok := w.dirs[ev.handle]
			w.mu.Unlock()
			if !ok {
				continue
			}
			p := dir
			if ev.name != "" && ev.name != "." {
				p = path.Join(dir, ev.name)
			}
			if !relevant(p) {
				continue
			}
			proc := readProcess(ev.pid)
			w.mu.Lock()
			w.last[p] = proc
			w.mu.Unlock()
			seen(p)
		}
	}
}

// who returns (and forgets) the process that last changed p.
func (w *fanWho) who(p string) *Process {
	w.mu.Lock()
	defer w.mu.Unlock()
	proc := w.last[p]
	delete(w.last, p)
	return proc
}

func (w *fanWho) close() error { return w.f.Close() }

// fanEvent is one parsed fanotify event: who, and which directory entry.
type fanEvent struct {
	mask   uint64
	fd     int
	pid    int
	handle string // handleKey of the directory
	name   string
}

// parseFanotify decodes a read's worth of events (struct
// fanotify_event_metadata, then info records of type DFID_NAME/DFID/FID:
// header, fsid, struct file_handle, name). Anything malformed ends the parse.
// fds are the event file descriptors the caller must close (none in FID
// mode, which newFanWho uses).
func parseFanotify(b []byte) (out []fanEvent, fds []int) {
	ne := binary.NativeEndian
	for len(b) >= unix.FAN_EVENT_METADATA_LEN {
		evLen := int(ne.Uint32(b[0:4]))
		metaLen := int(ne.Uint16(b[6:8]))
		if evLen < unix.FAN_EVENT_METADATA_LEN || evLen > len(b) || metaLen < unix.FAN_EVENT_METADATA_LEN || metaLen > evLen {
			break
		}
		ev := fanEvent{mask: ne.Uint64(b[8:16]), fd: int(int32(ne.Uint32(b[16:20]))), pid: int(int32(ne.Uint32(b[20:24])))}
		if ev.fd >= 0 {
			fds = append(fds, ev.fd)
		}
		info := b[metaLen:evLen]
		for len(info) >= 4 {
			typ, l := info[0], int(ne.Uint16(info[2:4]))
			if l < 4 || l > len(info) {
				break
			}
			rec := info[4:l]
			info = info[l:]
			if typ != unix.FAN_EVENT_INFO_TYPE_DFID_NAME && typ != unix.FAN_EVENT_INFO_TYPE_DFID && typ != unix.FAN_EVENT_INFO_TYPE_FID {
				continue
			}
			if len(rec) < 8+8 {
				continue
			}
			fh := rec[8:] // after the fsid
			hb := int(ne.Uint32(fh[0:4]))
			if 8+hb > len(fh) {
				continue
			}
			ev.handle = handleKey(int32(ne.Uint32(fh[4:8])), fh[8:8+hb])
			if typ == unix.FAN_EVENT_INFO_TYPE_DFID_NAME {
				name := fh[8+hb:]
				if i := bytes.IndexByte(name, 0); i >= 0 {
					name = name[:i]
				}
				ev.name = string(name)
			}
		}
		if ev.mask&unix.FAN_Q_OVERFLOW == 0 && ev.handle != "" {
			out = append(out, ev)
		}
		b = b[evLen:]
	}
	return out, fds
}
