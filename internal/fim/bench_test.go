package fim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchTree is the tree the benchmarks read: FIM_BENCH_TREE (e.g. the copy
// of /usr scripts/bench-fim.sh makes), else 20,000 generated files.
func benchTree(b *testing.B) (root string, paths []string) {
	if t := os.Getenv("FIM_BENCH_TREE"); t != "" {
		return "", []string{t}
	}
	root = b.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for i := 0; i < 20000; i++ {
		dir := filepath.Join(root, "data", fmt.Sprintf("d%02d", i/1000), fmt.Sprintf("s%02d", (i/100)%10))
		if i%100 == 0 {
			os.MkdirAll(dir, 0o755)
		}
		size := rng.IntN(8192)
		if i%100 == 3 {
			size = 64<<10 + rng.IntN(192<<10)
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d", i)), buf[:size], 0o644)
	}
	return root, []string{"/data"}
}

func benchOpts(b *testing.B, root string, paths []string) Options {
	cfg := DefaultConfig()
	cfg.Paths = paths
	cfg.Baseline = filepath.Join(b.TempDir(), "fim.baseline")
	return Options{Root: root, Config: cfg}
}

func BenchmarkInit(b *testing.B) {
	root, paths := benchTree(b)
	opts := benchOpts(b, root, paths)
	b.ReportAllocs()
	var files int
	for b.Loop() {
		rep, err := Init(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		files = rep.Files
	}
	b.ReportMetric(float64(files), "files")
}

func BenchmarkCheckUnchanged(b *testing.B) {
	root, paths := benchTree(b)
	opts := benchOpts(b, root, paths)
	if _, err := Init(context.Background(), opts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		base, err := Load(opts.Config.Baseline)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Check(context.Background(), base, opts)
		if err != nil || len(rep.Changes) != 0 {
			b.Fatal(err, len(rep.Changes))
		}
	}
}
