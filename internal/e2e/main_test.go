package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// rampartBin is the rampart binary built once by TestMain for every test of
// the package; empty when not root (the tests skip before using it) or when
// the build failed (buildErr says why).
var (
	rampartBin string
	buildErr   error
)

// needRampart fails t unless the binary was built, and returns its path.
func needRampart(t testing.TB) string {
	t.Helper()
	if rampartBin == "" {
		t.Fatalf("rampart binary: %v", buildErr)
	}
	return rampartBin
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "rampart-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "rampart")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	// The package directory is internal/e2e; the module root is two up.
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/rampart")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/rampart: %v\n%s", err, out)
	} else {
		rampartBin = bin
	}
	return m.Run()
}
