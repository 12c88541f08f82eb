package hostwatch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// authKeysCollector: every key in root's and the users' authorized_keys
// files, by fingerprint (as ssh-keygen -l prints it), its options and
// comment as the value.
func authKeysCollector() Collector {
	return Collector{
		Name: "authorized-keys",
		Doc:  "SSH keys in /root/.ssh/authorized_keys* and /home/*/.ssh/authorized_keys*, by SHA256 fingerprint",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			var out []Item
			for _, p := range env.glob("/root/.ssh/authorized_keys*", "/home/*/.ssh/authorized_keys*") {
				ls, err := configLines(env, p, hashComment)
				if err != nil {
					return nil, err
				}
				for _, l := range ls {
					typ, fp, rest, ok := parseAuthorizedKey(l)
					if !ok {
						out = append(out, Item{Key: p + " unparsed " + l})
						continue
					}
					out = append(out, Item{Key: p + " " + typ + " " + fp, Value: rest})
				}
			}
			return out, nil
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind == Removed:
				return "low"
			case strings.HasPrefix(c.Key, "/root/"):
				return "critical"
			}
			return "high"
		},
	}
}

// parseAuthorizedKey finds the key type and blob in an authorized_keys
// line (options may come first) and returns the type, the SHA256
// fingerprint, and the options and comment.
func parseAuthorizedKey(l string) (typ, fp, rest string, ok bool) {
	f := strings.Fields(l)
	for i := 0; i+1 < len(f); i++ {
		t := f[i]
		if !(strings.HasPrefix(t, "ssh-") || strings.HasPrefix(t, "ecdsa-") || strings.HasPrefix(t, "sk-")) {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(f[i+1])
		if err != nil || len(blob) < 4 {
			continue
		}
		sum := sha256.Sum256(blob)
		parts := append(append([]string(nil), f[:i]...), f[i+2:]...)
		return t, "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), strings.Join(parts, " "), true
	}
	return "", "", "", false
}
