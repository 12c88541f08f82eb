package fim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// FileType is the kind of a directory entry.
type FileType uint8

// The file types an entry can have.
const (
	TypeRegular FileType = iota + 1
	TypeDir
	TypeSymlink
	TypeFIFO
	TypeSocket
	TypeCharDev
	TypeBlockDev
)

var typeNames = [...]string{"?", "file", "directory", "symlink", "fifo", "socket", "char-device", "block-device"}

// String names the type as the reports print it.
func (t FileType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type-%d", uint8(t))
}

func typeOf(mode uint32) FileType {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return TypeRegular
	case unix.S_IFDIR:
		return TypeDir
	case unix.S_IFLNK:
		return TypeSymlink
	case unix.S_IFIFO:
		return TypeFIFO
	case unix.S_IFSOCK:
		return TypeSocket
	case unix.S_IFCHR:
		return TypeCharDev
	case unix.S_IFBLK:
		return TypeBlockDev
	}
	return 0
}

// Xattr is one extended attribute.
type Xattr struct {
	Name  string
	Value []byte
}

// capabilityXattr is where Linux keeps a file's capabilities.
const capabilityXattr = "security.capability"

// Entry is what the baseline records of one file.
type Entry struct {
	// Path is the file's path inside the scanned root, absolute ("/etc/passwd").
	Path string
	Type FileType
	// Mode holds the permission bits with setuid, setgid and sticky (07777).
	Mode     uint32
	UID, GID uint32
	Size     int64
	// Mtime and Ctime are nanoseconds since the epoch.
	Mtime, Ctime int64
	Ino          uint64
	// Link is a symlink's target.
	Link string
	// Xattrs are sorted by name.
	Xattrs []Xattr
	// Hash is the SHA-256 of a regular file's content, valid when HasHash.
	Hash    [sha256.Size]byte
	HasHash bool
}

// sameStat reports whether e and o agree on what the kernel changes with any
// write or metadata change, so o's hash, link and xattrs still hold for e.
func (e *Entry) sameStat(o *Entry) bool {
	return e.Type == o.Type && e.Ino == o.Ino && e.Size == o.Size && e.Mtime == o.Mtime &&
		e.Ctime == o.Ctime && e.Ctime != 0
}

func (e *Entry) xattr(name string) ([]byte, bool) {
	for _, x := range e.Xattrs {
		if x.Name == name {
			return x.Value, true
		}
	}
	return nil, false
}

// HashString renders the content hash as "sha256:HEX".
func (e *Entry) HashString() string {
	if !e.HasHash {
		return ""
	}
	return "sha256:" + hex.EncodeToString(e.Hash[:])
}

// appendEntry encodes e after b. The path comes first so that a record can be
// compared by path without decoding the rest.
func appendEntry(b []byte, e *Entry) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Path)))
	b = append(b, e.Path...)
	b = append(b, byte(e.Type))
	b = binary.AppendUvarint(b, uint64(e.Mode))
	b = binary.AppendUvarint(b, uint64(e.UID))
	b = binary.AppendUvarint(b, uint64(e.GID))
	b = binary.AppendVarint(b, e.Size)
	b = binary.AppendVarint(b, e.Mtime)
	b = binary.AppendVarint(b, e.Ctime)
	b = binary.AppendUvarint(b, e.Ino)
	b = binary.AppendUvarint(b, uint64(len(e.Link)))
	b = append(b, e.Link...)
	b = binary.AppendUvarint(b, uint64(len(e.Xattrs)))
	for _, x := range e.Xattrs {
		b = binary.AppendUvarint(b, uint64(len(x.Name)))
		b = append(b, x.Name...)
		b = binary.AppendUvarint(b, uint64(len(x.Value)))
		b = append(b, x.Value...)
	}
	if e.HasHash {
		b = append(b, 1)
		b = append(b, e.Hash[:]...)
	} else {
		b = append(b, 0)
	}
	return b
}

var errShortRecord = errors.New("record cut short")

// decoder reads the fields appendEntry wrote, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShortRecord
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte1() byte {
	v := d.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (d *decoder) u32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 && d.err == nil {
		d.err = errors.New("value out of range")
	}
	return uint32(v)
}

// recordStat decodes the fields sameStat compares (and whether a hash is
// recorded) without allocating.
func recordStat(rec []byte) (st Entry, err error) {
	d := decoder{b: rec}
	d.bytes(d.uvarint())
	st.Type = FileType(d.byte1())
	d.uvarint() // mode
	d.uvarint() // uid
	d.uvarint() // gid
	st.Size = d.varint()
	st.Mtime = d.varint()
	st.Ctime = d.varint()
	st.Ino = d.uvarint()
	d.bytes(d.uvarint()) // link
	for nx := d.uvarint(); nx > 0 && d.err == nil; nx-- {
		d.bytes(d.uvarint())
		d.bytes(d.uvarint())
	}
	st.HasHash = d.byte1() == 1
	return st, d.err
}

// recordPath returns the path a record starts with.
func recordPath(rec []byte) ([]byte, error) {
	d := decoder{b: rec}
	p := d.bytes(d.uvarint())
	return p, d.err
}

// decodeEntry decodes one record written by appendEntry. The strings and
// values it returns are copies: the entry does not pin the baseline buffer.
func decodeEntry(rec []byte) (Entry, error) {
	var e Entry
	d := decoder{b: rec}
	e.Path = string(d.bytes(d.uvarint()))
	e.Type = FileType(d.byte1())
	e.Mode = d.u32()
	e.UID = d.u32()
	e.GID = d.u32()
	e.Size = d.varint()
	e.Mtime = d.varint()
	e.Ctime = d.varint()
	e.Ino = d.uvarint()
	e.Link = string(d.bytes(d.uvarint()))
	nx := d.uvarint()
	if nx > uint64(len(d.b)) {
		return e, fmt.Errorf("record %q: %d extended attributes in %d bytes", e.Path, nx, len(d.b))
	}
	for i := uint64(0); i < nx && d.err == nil; i++ {
		name := string(d.bytes(d.uvarint()))
		val := bytes.Clone(d.bytes(d.uvarint()))
		e.Xattrs = append(e.Xattrs, Xattr{Name: name, Value: val})
	}
	switch d.byte1() {
	case 0:
	case 1:
		copy(e.Hash[:], d.bytes(sha256.Size))
		e.HasHash = true
	default:
		if d.err == nil {
			d.err = errors.New("bad hash flag")
		}
	}
	if d.err != nil {
		return e, fmt.Errorf("record %q: %w", e.Path, d.err)
	}
	if len(d.b) != 0 {
		return e, fmt.Errorf("record %q: %d bytes left over", e.Path, len(d.b))
	}
	if e.Type == 0 || int(e.Type) >= len(typeNames) {
		return e, fmt.Errorf("record %q: unknown file type %d", e.Path, e.Type)
	}
	if e.Mode&^0o7777 != 0 {
		return e, fmt.Errorf("record %q: bad mode %o", e.Path, e.Mode)
	}
	if len(e.Path) == 0 || e.Path[0] != '/' {
		return e, fmt.Errorf("record %q: path is not absolute", e.Path)
	}
	return e, nil
}
