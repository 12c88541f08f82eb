package fim

import (
	"encoding/binary"
	"testing"
)

// fanRecord builds one fanotify event with a DFID_NAME info record.
func fanRecord(mask uint64, pid int32, handle []byte, name string) []byte {
	ne := binary.NativeEndian
	info := make([]byte, 4+8+8)
	info[0] = 2 // FAN_EVENT_INFO_TYPE_DFID_NAME
	ne.PutUint32(info[12:], uint32(len(handle)))
	ne.PutUint32(info[16:], 1)
	info = append(append(append(info, handle...), name...), 0)
	for len(info)%4 != 0 {
		info = append(info, 0)
	}
	ne.PutUint16(info[2:], uint16(len(info)))
	meta := make([]byte, 24)
	ne.PutUint32(meta[0:], uint32(24+len(info)))
	meta[4] = 3
	ne.PutUint16(meta[6:], 24)
	ne.PutUint64(meta[8:], mask)
	ne.PutUint32(meta[16:], 0xffffffff) // FAN_NOFD
	ne.PutUint32(meta[20:], uint32(pid))
	return append(meta, info...)
}

func TestParseFanotify(t *testing.T) {
	b := append(fanRecord(2, 42, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "passwd"), fanRecord(4, 43, []byte{9, 9, 9, 9, 9, 9, 9, 9}, "shadow")...)
	evs, _ := parseFanotify(b)
	if len(evs) != 2 || evs[0].pid != 42 || evs[0].name != "passwd" || evs[1].name != "shadow" || evs[0].handle != handleKey(1, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("%+v", evs)
	}
	if evs, _ := parseFanotify(b[:30]); len(evs) != 0 {
		t.Fatalf("truncated: %+v", evs)
	}
}

// FuzzParseFanotify: any bytes give events or none, never a panic.
func FuzzParseFanotify(f *testing.F) {
	f.Add(fanRecord(2, 42, []byte{1, 2, 3, 4, 5, 6, 7, 8}, "passwd"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, _ := parseFanotify(b)
		for _, ev := range evs {
			if ev.handle == "" {
				t.Fatal("event without a handle")
			}
		}
	})
}
