package hostwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultBaselinePath is where the host baseline is kept unless told otherwise.
const DefaultBaselinePath = "/var/lib/rampart/host.baseline"

// ErrBadBaseline marks a baseline that failed its checks.
var ErrBadBaseline = errors.New("baseline refused")

// Baseline is what each collector saw when it was last accepted.
type Baseline struct {
	Version    int                `json:"version"`
	Root       string             `json:"root"`
	Collectors map[string]Section `json:"collectors"`
	Accepts    []AcceptRecord     `json:"accepts,omitempty"`
}

// Section is one collector's accepted state.
type Section struct {
	Taken time.Time `json:"taken"`
	Items []Item    `json:"items"`
}

// AcceptRecord says who accepted which collectors' state, and when.
type AcceptRecord struct {
	Time       time.Time `json:"time"`
	By         string    `json:"by"`
	Collectors []string  `json:"collectors"`
	Changes    int       `json:"changes"`
}

const (
	baselineVersion = 1
	maxAccepts      = 200
	trailerPrefix   = "\nsha256:"
)

// Load reads and checks a baseline file: it must be a regular file others
// cannot write, and end with the SHA-256 of what precedes it.
func Load(file string) (*Baseline, error) {
	fi, err := os.Lstat(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("host baseline %s: does not exist; run 'rampart host accept' first: %w", file, os.ErrNotExist)
		}
		return nil, fmt.Errorf("host baseline: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("host baseline %s: not a regular file: %w", file, ErrBadBaseline)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("host baseline %s: mode %04o lets others write it: %w", file, fi.Mode().Perm(), ErrBadBaseline)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("host baseline: %w", err)
	}
	return parseBaseline(file, data)
}

func parseBaseline(file string, data []byte) (*Baseline, error) {
	i := bytes.LastIndex(data, []byte(trailerPrefix))
	if i < 0 || len(data)-i != len(trailerPrefix)+64+1 || data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("host baseline %s: no checksum at the end: the file was truncated or changed outside rampart: %w", file, ErrBadBaseline)
	}
	want, err := hex.DecodeString(string(data[i+len(trailerPrefix) : len(data)-1]))
	if got := sha256.Sum256(data[:i]); err != nil || !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("host baseline %s: checksum mismatch: the file was truncated or changed outside rampart: %w", file, ErrBadBaseline)
	}
	var b Baseline
	dec := json.NewDecoder(bytes.NewReader(data[:i]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("host baseline %s: %v: %w", file, err, ErrBadBaseline)
	}
	if b.Version != baselineVersion {
		return nil, fmt.Errorf("host baseline %s: format version %d, this rampart reads %d: %w", file, b.Version, baselineVersion, ErrBadBaseline)
	}
	if b.Collectors == nil {
		b.Collectors = map[string]Section{}
	}
	return &b, nil
}

// Save writes b atomically (temporary file, fsync, rename), mode 0600, its
// directory created 0700.
func (b *Baseline) Save(file string) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	data = append(data, trailerPrefix+hex.EncodeToString(sum[:])+"\n"...)
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("host baseline: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".host.baseline.*")
	if err != nil {
		return fmt.Errorf("host baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("host baseline: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("host baseline: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("host baseline: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("host baseline: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Report is a check's outcome.
type Report struct {
	Changes []Change
	// Errors are the collectors that could not read, by name.
	Errors map[string]error
	// Missing are the collectors the baseline has no state for (accept them).
	Missing []string
	// Items counts what the collectors saw.
	Items int
}

// Check runs cs and compares with b.
func Check(ctx context.Context, env Env, cs []Collector, b *Baseline) (*Report, error) {
	if err := checkRoot(b, env); err != nil {
		return nil, err
	}
	rep := &Report{Errors: map[string]error{}}
	taken := map[string]time.Time{}
	for i, r := range Collect(ctx, env, cs) {
		if r.Err != nil {
			rep.Errors[r.Collector] = r.Err
			continue
		}
		rep.Items += len(r.Items)
		sec, ok := b.Collectors[r.Collector]
		if !ok {
			rep.Missing = append(rep.Missing, r.Collector)
			continue
		}
		taken[r.Collector] = sec.Taken
		rep.Changes = append(rep.Changes, Diff(cs[i], sec.Items, r.Items)...)
	}
	if !env.NoPackages {
		annotatePackages(env, taken, rep.Changes)
	}
	return rep, ctx.Err()
}

func displayRoot(env Env) string {
	if env.Root == "" {
		return "/"
	}
	return env.Root
}

func checkRoot(b *Baseline, env Env) error {
	if b.Root != displayRoot(env) {
		return fmt.Errorf("host baseline was taken of root %s, not %s; give --root %s, or --baseline FILE for this root", b.Root, displayRoot(env), b.Root)
	}
	return nil
}

// Accept takes the current state of cs as the baseline (b may be nil: a
// new one), records who did it, and returns the changes it accepted. A
// collector that cannot read keeps its old state and is an error.
func Accept(ctx context.Context, env Env, cs []Collector, b *Baseline, by string, now time.Time) (*Baseline, *Report, error) {
	if b == nil {
		b = &Baseline{Version: baselineVersion, Root: displayRoot(env), Collectors: map[string]Section{}}
	} else if err := checkRoot(b, env); err != nil {
		return nil, nil, err
	}
	nb := &Baseline{Version: baselineVersion, Root: b.Root, Collectors: map[string]Section{}, Accepts: b.Accepts}
	for k, v := range b.Collectors {
		nb.Collectors[k] = v
	}
	rep := &Report{Errors: map[string]error{}}
	var names []string
	for i, r := range Collect(ctx, env, cs) {
		if r.Err != nil {
			rep.Errors[r.Collector] = r.Err
			continue
		}
		rep.Items += len(r.Items)
		if sec, ok := b.Collectors[r.Collector]; ok {
			rep.Changes = append(rep.Changes, Diff(cs[i], sec.Items, r.Items)...)
		} else {
			rep.Missing = append(rep.Missing, r.Collector)
		}
		nb.Collectors[r.Collector] = Section{Taken: now.UTC(), Items: r.Items}
		names = append(names, r.Collector)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	nb.Accepts = append(append([]AcceptRecord(nil), nb.Accepts...), AcceptRecord{Time: now.UTC(), By: by, Collectors: names, Changes: len(rep.Changes)})
	if len(nb.Accepts) > maxAccepts {
		nb.Accepts = nb.Accepts[len(nb.Accepts)-maxAccepts:]
	}
	return nb, rep, nil
}
