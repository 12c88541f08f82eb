package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// writeCorpusLog turns a held-out corpus (DIR/attacks/*.txt, DIR/benign.txt
// in "# client NNN" blocks; FIELD<TAB>VALUE lines) into an nginx access
// log, each attack from its own address (198.18.0.0/15) and each benign
// client from its own (198.51.100.0/24, then 203.0.113.0/24), and a file
// of "LINE<TAB>CATEGORY<TAB>IP" (category "benign" for the clients).
func writeCorpusLog(dir, logPath, catPath string) error {
	lf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer lf.Close()
	cf, err := os.Create(catPath)
	if err != nil {
		return err
	}
	defer cf.Close()
	lw, cw := bufio.NewWriter(lf), bufio.NewWriter(cf)
	defer lw.Flush()
	defer cw.Flush()
	line := 0
	emit := func(ip, cat, field, value string) {
		target, ua, ref := "/", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "-"
		switch field {
		case "target":
			target = value
		case "ua":
			ua = value
		case "referer":
			ref = value
		default:
			return
		}
		line++
		fmt.Fprintf(lw, "%s - - [03/Dec/2026:10:00:00 +0000] \"GET %s HTTP/1.1\" 200 512 \"%s\" \"%s\"\n", ip, esc(target), esc(ref), esc(ua))
		fmt.Fprintf(cw, "%d\t%s\t%s\n", line, cat, ip)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "attacks", "*.txt"))
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("%s: no attacks/*.txt", dir)
	}
	n := 0
	for _, f := range files {
		cat := strings.TrimSuffix(filepath.Base(f), ".txt")
		if err := eachLine(f, func(field, value string) {
			emit(fmt.Sprintf("198.18.%d.%d", n>>8, n&255), cat, field, value)
			n++
		}); err != nil {
			return err
		}
	}
	client := -1
	ip := func() string {
		if client < 250 {
			return fmt.Sprintf("198.51.100.%d", client+1)
		}
		return fmt.Sprintf("203.0.113.%d", client-249)
	}
	return eachLineOrClient(filepath.Join(dir, "benign.txt"), func() { client++ }, func(field, value string) {
		if client < 0 {
			client = 0
		}
		emit(ip(), "benign", field, value)
	})
}

// esc writes a value as nginx does in its default log format.
func esc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "\\x%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func eachLine(path string, fn func(field, value string)) error {
	return eachLineOrClient(path, func() {}, fn)
}

func eachLineOrClient(path string, newClient func(), fn func(field, value string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "# client ") {
			newClient()
			continue
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		field, value, ok := strings.Cut(l, "\t")
		if ok {
			fn(field, value)
		}
	}
	return sc.Err()
}
