package filterload

import (
	"os"
	"path/filepath"
)

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func homeCache() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(h, ".cache", "rampart", "fail2ban")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
