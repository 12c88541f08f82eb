package audit

import (
	"strings"
	"testing"
)

// Fuzz targets for every parser of untrusted input: files of an audited
// image, command output, the audit config.

func FuzzParseSSHDConfig(f *testing.F) {
	for _, s := range []string{
		"Port 22\nPasswordAuthentication no\n",
		"Include /etc/ssh/sshd_config.d/*.conf\nMatch User x\n PermitRootLogin yes\n",
		"MACs -hmac-sha1*\nLoginGraceTime 1m30s\nPort=2222\n",
		"\x00\x01binary",
		"Ciphers ^aes128-ctr\nKexAlgorithms +diffie-hellman-group1-sha1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := map[string][]string{}
		err := parseSSHDBytes("f", b, out, func(string) error { return nil })
		if err != nil && !strings.HasPrefix(err.Error(), "f: line ") {
			t.Fatalf("error without a line: %v", err)
		}
		for k := range out {
			if !validKeyword(k) {
				t.Fatalf("invalid keyword %q accepted", k)
			}
		}
	})
}

func FuzzParseNftJSON(f *testing.F) {
	f.Add([]byte(hardenedRuleset()))
	f.Add([]byte(nftDoc(nftBase("ip", "t", "c", "input", "accept"), nftRuleJ("ip", "t", "c", exTCP22, exAccept))))
	f.Add([]byte(`{"nftables":[{"rule":{"family":"inet","table":"x","chain":"y","expr":[{"match":{"right":{"set":[{"range":[1,2]}]}}}]}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := parseNftJSON(b)
		if err != nil {
			return
		}
		for _, c := range rs.Chains {
			c.dropsByDefault()
		}
		rs.inputChains(4)
		rs.droppingChains()
	})
}

func FuzzParseProcNet(f *testing.F) {
	f.Add("  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0\n")
	f.Add("h\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 0 0 0 0 0 40 1 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		socks, err := parseProcNet(s, "tcp", "0A")
		if err != nil {
			return
		}
		for _, k := range socks {
			if k.Port < 0 || k.Port > 65535 || !k.Addr.IsValid() {
				t.Fatalf("bad socket %+v", k)
			}
		}
	})
}

func FuzzParseAptConf(f *testing.F) {
	f.Add("APT::Periodic { Enable \"1\"; };\nUnattended-Upgrade::Origins-Pattern { \"a\"; \"b\"; };\n#clear X\n/* c */ // d\n")
	f.Add("a { b { c \"1\"; }; };}}};;\"unterminated")
	f.Fuzz(func(t *testing.T, s string) {
		parseAptConf(s, map[string][]string{})
		parseAptDump(s)
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("owner = \"x\"\nintended_ports = [\"22/tcp\"]\n[backup]\nmarker = \"/m\"\nmax_age = \"26h\"\n"))
	f.Add([]byte("[incident]\nprocedure = \"/p\"\nmax_age = \"-1h\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseConfig(b)
	})
}

func FuzzCompareDebVersions(f *testing.F) {
	f.Add("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u10")
	f.Add("1.0~rc1", "1.0")
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := sign(compareDebVersions(a, b)), sign(compareDebVersions(b, a)); x != -y {
			t.Fatalf("compare(%q, %q) = %d but compare(b, a) = %d", a, b, x, y)
		}
		if compareDebVersions(a, a) != 0 {
			t.Fatalf("compare(%q, itself) != 0", a)
		}
	})
}

func FuzzParseDpkgStatus(f *testing.F) {
	f.Add("Package: a\nStatus: install ok installed\nVersion: 1\nConffiles:\n /etc/a 0123\n\nPackage: b\n")
	f.Fuzz(func(t *testing.T, s string) {
		parseDpkgStatus(s)
		parsePackagesIndex(s)
	})
}
