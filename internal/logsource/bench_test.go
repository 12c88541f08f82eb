package logsource

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// benchLines is the size of the benchmark log.
const benchLines = 1_000_000

// writeBenchLog writes n auth.log lines of typical length (~90 bytes).
func writeBenchLog(b *testing.B, path string, n int) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(w, "%s web1 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n",
			t0.Add(time.Duration(i)*time.Millisecond).Format(time.Stamp), 1000+i%30000, i%250, 1024+i%60000)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	return fi.Size()
}

// BenchmarkFileTail reads a 1,000,000-line file from its start through the
// whole file source (inotify set up, positions kept in memory) with an emit
// that does nothing. Reported: lines/s and allocations per line.
func BenchmarkFileTail(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	size := writeBenchLog(b, path, benchLines)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, err := NewFile(FileConfig{Name: "bench", Pattern: path, Start: StartBeginning, Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		emit := func(l Line) {
			n++
			if n == benchLines {
				cancel()
			}
		}
		if err := f.Run(ctx, emit); err != nil {
			b.Fatal(err)
		}
		if n != benchLines {
			b.Fatalf("read %d lines, want %d", n, benchLines)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReader splits lines held in memory: the cost of the line
// splitter alone, without file reads.
func BenchmarkReader(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	writeBenchLog(b, path, 100_000)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	s := &sink{emit: func(Line) {}}
	r := newFileReader(nil, fileID{}, path, DefaultMaxLineBytes, &pathStats{})
	for b.Loop() {
		r.setOffset(0)
		if _, err := r.read(context.Background(), &growing{data}, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(100_000*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkFileLatency measures the time from one line's write(2) to its
// emit call with inotify: the tailer's share of the time to ban.
func BenchmarkFileLatency(b *testing.B) {
	path := filepath.Join(b.TempDir(), "auth.log")
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	f, err := NewFile(FileConfig{Name: "bench", Pattern: path, Start: StartBeginning, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx, func(Line) { got <- struct{}{} }) }()
	defer func() { cancel(); <-done }()
	line := []byte("Nov 24 15:00:30 web1 sshd[1234]: Failed password for root from 203.0.113.7 port 52314 ssh2\n")
	// The first line also waits for the source to start.
	if _, err := w.Write(line); err != nil {
		b.Fatal(err)
	}
	<-got
	for b.Loop() {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// BenchmarkReaderLongLines splits a flood of 1 MiB lines without newlines
// inside: memory stays at the reader's fixed buffer (B/op counts only the
// benchmark's own setup, none of it per line).
func BenchmarkReaderLongLines(b *testing.B) {
	line := append(bytes.Repeat([]byte("\x00garbage\xff"), (1<<20)/10), '\n')
	data := bytes.Repeat(line, 64)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	s := &sink{emit: func(Line) {}}
	r := newFileReader(nil, fileID{}, "/x", DefaultMaxLineBytes, &pathStats{})
	for b.Loop() {
		r.setOffset(0)
		if _, err := r.read(context.Background(), &growing{data}, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileIdleMemory starts 10 file sources on empty files, as a
// daemon with 10 jails does, lets them settle, and reports what an idle
// source holds: goroutine stack bytes and live heap bytes per source
// (from runtime/metrics, after a GC).
func BenchmarkFileIdleMemory(b *testing.B) {
	const sources = 10
	dir := b.TempDir()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func() (stacks, live float64) {
		runtime.GC()
		metrics.Read(sample)
		return float64(sample[0].Value.Uint64()), float64(sample[1].Value.Uint64())
	}
	for b.Loop() {
		s0, h0 := read()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range sources {
			path := filepath.Join(dir, fmt.Sprintf("%d.log", i))
			if err := os.WriteFile(path, nil, 0o640); err != nil {
				b.Fatal(err)
			}
			f, err := NewFile(FileConfig{Name: "idle", Pattern: path, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
				if err := f.Run(ctx, func(Line) {}); err != nil {
					b.Error(err)
				}
			})
		}
		time.Sleep(200 * time.Millisecond)
		s1, h1 := read()
		cancel()
		wg.Wait()
		b.ReportMetric((s1-s0)/sources, "stack-B/source")
		b.ReportMetric((h1-h0)/sources, "heap-B/source")
	}
}
