// Package textpages keeps the daemon's resident memory to the pages of its
// own binary that it really uses.
//
// When a process touches a page of a file mapping, Linux maps up to 64 KiB
// around it ("fault-around") from the page cache. For a 25 MB Go binary whose
// long-running code is a small part of it, that counts most of .text,
// .rodata and .gopclntab as resident although the daemon never reads them
// again after start-up. Advising the binary's mappings MADV_RANDOM turns
// fault-around (and read-ahead) off for them; Release then drops what
// start-up touched, so the pages that come back are the ones the running
// daemon uses. The pages stay in the page cache either way (they are shared,
// clean and reclaimable); what changes is what the process maps.
package textpages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Mapping is one file-backed mapping of the executable.
type Mapping struct {
	Start, End uintptr
	Perms      string
}

// Mappings reads the executable's mappings from a /proc/PID/maps text.
func Mappings(maps []byte, exe string) []Mapping {
	var out []Mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || string(f[5]) != exe {
			continue
		}
		r := bytes.SplitN(f[0], []byte("-"), 2)
		if len(r) != 2 {
			continue
		}
		s, err1 := strconv.ParseUint(string(r[0]), 16, 64)
		e, err2 := strconv.ParseUint(string(r[1]), 16, 64)
		if err1 != nil || err2 != nil || e <= s {
			continue
		}
		out = append(out, Mapping{Start: uintptr(s), End: uintptr(e), Perms: string(f[1])})
	}
	return out
}

func own() ([]Mapping, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	return Mappings(b, exe), nil
}

func advise(m Mapping, advice int) error {
	// The raw system call: the range is the kernel's mapping, not Go memory.
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.Start, m.End-m.Start, uintptr(advice)); e != 0 {
		return fmt.Errorf("madvise %x-%x: %w", m.Start, m.End, e)
	}
	return nil
}

// Random turns fault-around off for the binary's read-only mappings.
func Random() error {
	ms, err := own()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Perms[1] == 'w' {
			continue
		}
		if err := advise(m, unix.MADV_RANDOM); err != nil {
			return err
		}
	}
	return nil
}

// Release unmaps the binary's clean read-only pages from this process; the
// ones it uses fault back in one by one (after Random). Writable mappings
// (.data, .bss: private, dirty) are never touched.
func Release() error {
	ms, err := own()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Perms[1] == 'w' {
			continue
		}
		if err := advise(m, unix.MADV_DONTNEED); err != nil {
			return err
		}
	}
	return nil
}
