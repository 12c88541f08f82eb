package harden

import (
	"strings"
	"testing"
)

// FuzzSSHDConfig feeds arbitrary bytes to the sshd_config line parser: it
// returns directives or an error naming the file, never panics, and every
// directive has a valid keyword and a line number inside the input.
func FuzzSSHDConfig(f *testing.F) {
	f.Add([]byte(carelessSSHD))
	f.Add([]byte("Match User alice\n  PasswordAuthentication yes\nInclude \"a b\" c\n"))
	f.Add([]byte("Port=22\nAllowUsers a@1.2.3.4 b # c\nX \"unterminated\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := parseSSHDLines("/f", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "/f:") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		n := strings.Count(string(b), "\n") + 1
		for _, l := range lines {
			if !sshKeyword(l.Key) || l.N < 1 || l.N > n {
				t.Fatalf("bad directive %+v", l)
			}
		}
		_ = rebaseIncludes(b, "/tree")
	})
}

// FuzzSSHAccounts feeds arbitrary passwd, shadow, group and shells files
// to their parsers.
func FuzzSSHAccounts(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\n"), []byte("root:!:1:0:99999:7::5:\n"), []byte("sudo:x:27:alice,bob\n"), []byte("/bin/sh\n"))
	f.Add([]byte("::::::\n#x\n"), []byte(":\n"), []byte("a:b:c:d\n"), []byte(""))
	f.Fuzz(func(t *testing.T, pw, sh, gr, shells []byte) {
		for _, a := range parsePasswd(pw) {
			if a.Name == "" {
				t.Fatal("account without a name")
			}
			u := a
			_ = expandAuthorizedKeys("%h/.ssh/%u %% ~/x", &u)
		}
		for name := range parseShadow(sh) {
			if name == "" {
				t.Fatal("shadow entry without a name")
			}
		}
		parseGroup(gr)
		parseShells(shells)
	})
}
