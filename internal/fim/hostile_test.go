package fim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchOpens reports whether any of paths is opened while the returned
// function has not been called yet (inotify IN_OPEN).
func watchOpens(t *testing.T, paths ...string) func() []string {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	wd := map[int32]string{}
	for _, p := range paths {
		w, err := unix.InotifyAddWatch(fd, p, unix.IN_OPEN)
		if err != nil {
			t.Fatalf("inotify %s: %v", p, err)
		}
		wd[int32(w)] = p
	}
	return func() []string {
		defer unix.Close(fd)
		var opened []string
		buf := make([]byte, 4096)
		n, _ := unix.Read(fd, buf)
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			if ev.Mask&unix.IN_OPEN != 0 {
				opened = append(opened, wd[ev.Wd])
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
		return opened
	}
}

func TestHostileTree(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "data")
	writeFile(t, filepath.Join(d, "plain"), "x", 0o644)
	nl := filepath.Join(d, "new\nline")
	bad := filepath.Join(d, "bad\xff\xfename")
	writeFile(t, nl, "a", 0o644)
	writeFile(t, bad, "b", 0o644)
	fifo := filepath.Join(d, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"loop-a", "loop-b"}, {"loop-b", "loop-a"}, {"self", "self"}, {"up", ".."}, {"abs", "/"}} {
		if err := os.Symlink(l[1], filepath.Join(d, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	watched := []string{fifo}
	if os.Geteuid() == 0 {
		dev := filepath.Join(d, "null")
		if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		watched = append(watched, dev)
	}
	opts := testOpts(t, root)
	opened := watchOpens(t, watched...)
	b := initAndLoad(t, opts)
	if o := opened(); len(o) != 0 {
		t.Errorf("init opened %v", o)
	}
	for _, p := range []string{"/data/fifo", "/data/loop-a", "/data/self", "/data/up", "/data/new\nline", "/data/bad\xff\xfename"} {
		if b.Find(p) < 0 {
			t.Errorf("baseline lacks %q", p)
		}
	}
	if i := b.Find("/data/up"); i >= 0 {
		if e := b.Entry(i); e.Type != TypeSymlink || e.Link != ".." {
			t.Errorf("/data/up recorded as %v -> %q", e.Type, e.Link)
		}
	}
	// Odd names stay exact through JSON.
	writeFile(t, nl, "changed", 0o644)
	writeFile(t, bad, "changed", 0o644)
	rep, err := Check(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 2 {
		t.Fatalf("changes %v, want the two renamed-file contents", changeSet(rep.Changes))
	}
	names := map[string]bool{}
	for _, c := range rep.Changes {
		line, err := json.Marshal(c)
		if err != nil || !json.Valid(line) || strings.Contains(string(line), "\n") {
			t.Fatalf("JSON of %q: %s, %v", c.Path, line, err)
		}
		var back struct {
			Path    string `json:"path"`
			PathB64 string `json:"path_b64"`
		}
		json.Unmarshal(line, &back)
		name := back.Path
		if back.PathB64 != "" {
			raw, _ := base64.StdEncoding.DecodeString(back.PathB64)
			name = string(raw)
		}
		names[name] = true
		if s := c.String(); strings.Contains(s, "\n") {
			t.Errorf("text line %q holds a newline", s)
		}
	}
	if !names["/data/new\nline"] || !names["/data/bad\xff\xfename"] {
		t.Errorf("names read back from JSON: %v", names)
	}
}

func TestFilesVanishingMidWalk(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "data")
	for i := range 3000 {
		writeFile(t, filepath.Join(d, fmt.Sprintf("d%d", i%30), fmt.Sprintf("f%d", i)), strings.Repeat("v", i%500), 0o644)
	}
	opts := testOpts(t, root)
	b := initAndLoad(t, opts)
	walked := 0
	filepath.WalkDir(d, func(string, os.DirEntry, error) error { walked++; return nil })
	if b.Len() != walked || walked != 3031 {
		t.Fatalf("baseline has %d entries, filepath.WalkDir finds %d, want 3031", b.Len(), walked)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // churn: delete and re-create files and whole directories
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			dir := filepath.Join(d, fmt.Sprintf("d%d", i%30))
			os.RemoveAll(dir)
			os.MkdirAll(dir, 0o755)
			for j := 0; j < 20; j++ {
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d", j)), []byte("n"), 0o644)
			}
		}
	}()
	for range 5 {
		if _, err := Check(context.Background(), b, opts); err != nil {
			t.Errorf("Check during churn: %v", err)
		}
		if _, err := Init(context.Background(), opts); err != nil {
			t.Errorf("Init during churn: %v", err)
		}
	}
	cancel()
	wg.Wait()
	if _, err := Load(opts.Config.Baseline); err != nil {
		t.Errorf("baseline written during churn: %v", err)
	}
}

// TestHelperUnprivileged runs Init as a helper process for
// TestPermissionErrors (FIM_HELPER set).
func TestHelperUnprivileged(t *testing.T) {
	if os.Getenv("FIM_HELPER_ROOT") == "" {
		t.Skip("helper process only")
	}
	cfg := DefaultConfig()
	cfg.Paths = []string{"/data"}
	cfg.Baseline = os.Getenv("FIM_HELPER_BASELINE")
	var warned []string
	rep, err := Init(context.Background(), Options{Root: os.Getenv("FIM_HELPER_ROOT"), Config: cfg, Warn: func(p string, err error) {
		warned = append(warned, fmt.Sprintf("%s: %v", p, err))
	}})
	if err != nil {
		fmt.Printf("INIT-ERROR %v\n", err)
		return
	}
	fmt.Printf("FILES %d\n", rep.Files)
	for _, w := range warned {
		fmt.Printf("WARN %s\n", w)
	}
}

func TestPermissionErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop CAP_DAC_OVERRIDE with setpriv")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	d := filepath.Join(root, "data")
	writeFile(t, filepath.Join(d, "ok"), "x", 0o644)
	writeFile(t, filepath.Join(d, "secret"), "x", 0o000)
	writeFile(t, filepath.Join(d, "closed", "inner"), "x", 0o644)
	if err := os.Chmod(filepath.Join(d, "closed"), 0o000); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--inh-caps", "-all",
		os.Args[0], "-test.run", "^TestHelperUnprivileged$", "-test.v")
	cmd.Env = append(os.Environ(), "FIM_HELPER_ROOT="+root, "FIM_HELPER_BASELINE="+filepath.Join(state, "b"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "INIT-ERROR") || !strings.Contains(s, "FILES 4") {
		t.Fatalf("helper output, want 4 entries (data, ok, secret, closed; not inner):\n%s", s)
	}
	for _, want := range []string{"WARN /data/secret: not hashed: permission denied", "WARN /data/closed: directory not read: permission denied"} {
		if !strings.Contains(s, want) {
			t.Errorf("helper output lacks %q:\n%s", want, s)
		}
	}
	b, err := Load(filepath.Join(state, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if e := b.Entry(b.Find("/data/secret")); e.HasHash {
		t.Errorf("unreadable file recorded with a hash")
	}
}

func TestRootSymlinksDoNotLeaveTheImage(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "ssh", "host_key"), "host secret", 0o600)
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "data", "f"), "x", 0o644)
	// /home in the image points at an absolute path: on this host it is outside the image.
	if err := os.Symlink(outside, filepath.Join(root, "home")); err != nil {
		t.Fatal(err)
	}
	opts := testOpts(t, root)
	opts.Config.Paths = []string{"/data", "/home/ssh", "/home/*"}
	var warned []string
	opts.Warn = func(p string, err error) { warned = append(warned, p+": "+err.Error()) }
	b := initAndLoad(t, opts)
	for i := 0; i < b.Len(); i++ {
		if e := b.Entry(i); strings.HasPrefix(e.Path, "/home/") {
			t.Errorf("baseline holds %s, reached through the image's /home symlink", e.Path)
		}
	}
	if len(warned) == 0 || !strings.Contains(strings.Join(warned, "\n"), "/home is a symlink inside the image") {
		t.Errorf("warnings %q, want one naming /home", warned)
	}
}
