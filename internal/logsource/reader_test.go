package logsource

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// growing is a file being appended to, as a ReaderAt.
type growing struct{ b []byte }

func (g *growing) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(g.b).ReadAt(p, off)
}

type gotLine struct {
	Text      string
	Offset    int64
	Truncated bool
}

func TestReaderSplit(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name    string
		maxLine int
		chunks  []string // appended one after the other, reading after each
		flush   bool     // flush the partial line at the end
		want    []gotLine
	}{
		{
			name:   "whole lines",
			chunks: []string{"a\nbb\n", "ccc\n"},
			want:   []gotLine{{"a", 0, false}, {"bb", 2, false}, {"ccc", 5, false}},
		},
		{
			name:   "line split across writes",
			chunks: []string{"hel", "lo wor", "ld\nnext\n"},
			want:   []gotLine{{"hello world", 0, false}, {"next", 12, false}},
		},
		{
			name:   "partial held until newline",
			chunks: []string{"one\ntw"},
			want:   []gotLine{{"one", 0, false}},
		},
		{
			name:   "partial flushed",
			chunks: []string{"one\ntw"},
			flush:  true,
			want:   []gotLine{{"one", 0, false}, {"tw", 4, false}},
		},
		{
			name:   "carriage return dropped, empty lines kept",
			chunks: []string{"a\r\n\n\r\nb\rc\n"},
			want:   []gotLine{{"a", 0, false}, {"", 3, false}, {"", 4, false}, {"b\rc", 6, false}},
		},
		{
			name:   "binary passes through",
			chunks: []string{"\x00\xff\xfe bad utf8 \xc3\x28\n"},
			want:   []gotLine{{"\x00\xff\xfe bad utf8 \xc3\x28", 0, false}},
		},
		{
			name:    "long line truncated",
			maxLine: 100,
			chunks:  []string{long + "\nshort\n"},
			want:    []gotLine{{long[:100], 0, true}, {"short", 301, false}},
		},
		{
			name:    "long line in pieces",
			maxLine: 100,
			chunks:  []string{long[:50], long[50:250], long[250:] + "\n", "after\n"},
			want:    []gotLine{{long[:100], 0, true}, {"after", 301, false}},
		},
		{
			name:    "exactly max length is not truncated",
			maxLine: 100,
			chunks:  []string{long[:100] + "\n"},
			want:    []gotLine{{long[:100], 0, false}},
		},
		{
			name:    "long partial flushed",
			maxLine: 100,
			chunks:  []string{long},
			flush:   true,
			want:    []gotLine{{long[:100], 0, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxLine := tt.maxLine
			if maxLine == 0 {
				maxLine = DefaultMaxLineBytes
			}
			var got []gotLine
			s := &sink{name: "test", emit: func(l Line) {
				got = append(got, gotLine{string(l.Bytes), l.Offset, l.Truncated})
			}}
			r := newFileReader(nil, fileID{}, "/x", maxLine, &pathStats{})
			g := &growing{}
			for _, c := range tt.chunks {
				g.b = append(g.b, c...)
				if _, err := r.read(context.Background(), g, s); err != nil {
					t.Fatal(err)
				}
			}
			if tt.flush {
				r.flushPartial(s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReaderBigFile reads more than a buffer's worth with lines straddling
// every buffer boundary.
func TestReaderBigFile(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := 0; b.Len() < 5*readChunk; i++ {
		l := strings.Repeat("y", i%997) + "|"
		want = append(want, l)
		b.WriteString(l + "\n")
	}
	var got []string
	s := &sink{emit: func(l Line) { got = append(got, string(l.Bytes)) }}
	r := newFileReader(nil, fileID{}, "/x", 1000, &pathStats{})
	if _, err := r.read(context.Background(), strings.NewReader(b.String()), s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if r.commitOff != int64(b.Len()) {
		t.Errorf("commitOff = %d, want %d", r.commitOff, b.Len())
	}
}

// FuzzReader checks that whatever bytes arrive, in whatever pieces, the
// lines handed on are the input's lines (cut to the maximum length), and
// that offsets account for every byte.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a\nbb\nccc"), uint8(3), uint8(16))
	f.Add([]byte("\x00\n\r\n\xff\xfe\n"), uint8(1), uint8(4))
	f.Add(bytes.Repeat([]byte("z"), 1000), uint8(7), uint8(10))
	f.Fuzz(func(t *testing.T, data []byte, step, maxLine uint8) {
		ml := int(maxLine) + 1
		var got [][]byte
		var offs []int64
		s := &sink{emit: func(l Line) {
			got = append(got, bytes.Clone(l.Bytes))
			offs = append(offs, l.Offset)
		}}
		r := newFileReader(nil, fileID{}, "/x", ml, &pathStats{})
		g := &growing{}
		st := int(step) + 1
		for i := 0; i < len(data); i += st {
			g.b = append(g.b, data[i:min(i+st, len(data))]...)
			if _, err := r.read(context.Background(), g, s); err != nil {
				t.Fatal(err)
			}
		}
		r.flushPartial(s)
		if r.commitOff != int64(len(data)) {
			t.Fatalf("commitOff = %d, want %d", r.commitOff, len(data))
		}
		var want [][]byte
		var wantOffs []int64
		off := 0
		for off < len(data) {
			i := bytes.IndexByte(data[off:], '\n')
			end := len(data)
			if i >= 0 {
				end = off + i
			}
			l := data[off:end]
			if len(l) > ml {
				l = l[:ml]
			} else if n := len(l); n > 0 && l[n-1] == '\r' {
				l = l[:n-1]
			}
			want = append(want, l)
			wantOffs = append(wantOffs, int64(off))
			off = end + 1
		}
		// cmp.Diff is slow on big inputs: only ask it why when they differ.
		if !slices.EqualFunc(want, got, bytes.Equal) {
			t.Fatalf("lines (-want +got):\n%s", cmp.Diff(want, got))
		}
		if !slices.Equal(wantOffs, offs) {
			t.Fatalf("offsets (-want +got):\n%s", cmp.Diff(wantOffs, offs))
		}
	})
}

// TestReaderRelease gives the buffer back between reads: an unfinished line
// keeps it (and its bytes), a reader with none holds no buffer, and reading
// goes on where it was either way.
func TestReaderRelease(t *testing.T) {
	var got []string
	s := &sink{emit: func(l Line) { got = append(got, string(l.Bytes)) }}
	g := &growing{}
	r := newFileReader(nil, fileID{}, "/x", 64, &pathStats{})
	if r.buf != nil {
		t.Fatal("a new reader holds a buffer before anything was read")
	}
	steps := []struct {
		appendText string
		wantBuf    bool // after release
	}{
		{"one\ntw", true},  // "tw" is unfinished: kept
		{"o\n", false},     // nothing held: released
		{"three\n", false}, // allocated again, released again
		{"fo", true},
		{"ur\n", false},
	}
	for i, st := range steps {
		g.b = append(g.b, st.appendText...)
		if _, err := r.read(context.Background(), g, s); err != nil {
			t.Fatal(err)
		}
		r.release()
		if (r.buf != nil) != st.wantBuf {
			t.Errorf("step %d: holds a buffer = %v, want %v", i, r.buf != nil, st.wantBuf)
		}
	}
	if want := []string{"one", "two", "three", "four"}; !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
	if r.commitOff != int64(len(g.b)) {
		t.Errorf("commit offset %d, want %d", r.commitOff, len(g.b))
	}
}
