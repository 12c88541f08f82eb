package fim

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Kind is what changed about a file.
type Kind string

// The kinds of change a check reports.
const (
	KindNew        Kind = "new"
	KindRemoved    Kind = "removed"
	KindType       Kind = "type"
	KindContent    Kind = "content"
	KindMode       Kind = "mode"
	KindSUID       Kind = "suid-added"
	KindSGID       Kind = "sgid-added"
	KindOwner      Kind = "owner"
	KindGroup      Kind = "group"
	KindLink       Kind = "link"
	KindCapability Kind = "capability"
	KindXattr      Kind = "xattr"
)

// Package verdicts on a content change of a file a dpkg package owns.
const (
	// VerdictUpgrade: the file is what the package's new version ships.
	VerdictUpgrade = "package-upgrade"
	// VerdictReinstall: same version, reinstalled since the baseline.
	VerdictReinstall = "package-reinstall"
	// VerdictInstall: a new file that is what its (newly installed or
	// upgraded) package ships.
	VerdictInstall = "package-install"
	// VerdictTampered: the file differs from what its package ships.
	VerdictTampered = "tampered"
	// VerdictRestored: the file is the package's again, with no dpkg run
	// since the baseline: it had been changed before the baseline was taken.
	VerdictRestored = "matches-package"
)

// PackageNote says how a content change relates to the owning package.
type PackageNote struct {
	Name       string `json:"name"`
	OldVersion string `json:"old_version,omitempty"`
	NewVersion string `json:"new_version,omitempty"`
	Verdict    string `json:"verdict"`
}

// Change is one difference between the baseline and the disk.
type Change struct {
	Path string
	Kind Kind
	// Attr names the extended attribute of a KindXattr change.
	Attr     string
	Old, New string
	Package  *PackageNote
	// Proc is the process that made the change, when the realtime watcher
	// could tell (fanotify).
	Proc *Process
}

// String renders the change on one line for people; odd bytes in names are
// quoted so that a name cannot fake a second line.
func (c Change) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-11s %s", c.Kind, displayPath(c.Path))
	if c.Attr != "" {
		fmt.Fprintf(&b, " [%s]", strconv.QuoteToGraphic(c.Attr))
	}
	switch {
	case c.Old != "" && c.New != "":
		fmt.Fprintf(&b, ": %s -> %s", c.Old, c.New)
	case c.New != "":
		fmt.Fprintf(&b, ": %s", c.New)
	case c.Old != "":
		fmt.Fprintf(&b, ": was %s", c.Old)
	}
	if p := c.Package; p != nil {
		switch p.Verdict {
		case VerdictUpgrade:
			fmt.Fprintf(&b, " (package upgrade: %s %s → %s)", p.Name, p.OldVersion, p.NewVersion)
		case VerdictInstall:
			fmt.Fprintf(&b, " (package install: %s %s)", p.Name, p.NewVersion)
		case VerdictReinstall:
			fmt.Fprintf(&b, " (package reinstall: %s %s)", p.Name, p.NewVersion)
		case VerdictTampered:
			fmt.Fprintf(&b, " (TAMPERED: differs from package %s %s)", p.Name, p.NewVersion)
		case VerdictRestored:
			fmt.Fprintf(&b, " (now matches package %s %s; no dpkg run since the baseline)", p.Name, p.NewVersion)
		}
	}
	if c.Proc != nil {
		fmt.Fprintf(&b, " by %s", c.Proc)
	}
	return b.String()
}

func displayPath(p string) string {
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '"' || r == ' ' {
			return strconv.QuoteToGraphic(p)
		}
	}
	return p
}

// Tampering reports whether the change is evidence of tampering rather than
// a package's own doing.
func (c Change) Tampering() bool {
	return c.Package == nil || c.Package.Verdict == VerdictTampered
}

// MarshalJSON writes the change as one object. A path that is not valid
// UTF-8 is also given exactly, base64-encoded, as path_b64.
func (c Change) MarshalJSON() ([]byte, error) {
	type out struct {
		Path    string       `json:"path"`
		PathB64 string       `json:"path_b64,omitempty"`
		Kind    Kind         `json:"kind"`
		Attr    string       `json:"attr,omitempty"`
		Old     string       `json:"old,omitempty"`
		New     string       `json:"new,omitempty"`
		Package *PackageNote `json:"package,omitempty"`
		Proc    *Process     `json:"process,omitempty"`
	}
	o := out{Path: c.Path, Kind: c.Kind, Attr: c.Attr, Old: c.Old, New: c.New, Package: c.Package, Proc: c.Proc}
	if !utf8.ValidString(c.Path) {
		o.PathB64 = base64.StdEncoding.EncodeToString([]byte(c.Path))
	}
	return json.Marshal(o)
}

func modeString(m uint32) string { return fmt.Sprintf("%04o", m) }

func summary(e *Entry) string {
	s := fmt.Sprintf("%s %s %d:%d", e.Type, modeString(e.Mode), e.UID, e.GID)
	if e.Type == TypeSymlink {
		s += " -> " + strconv.QuoteToGraphic(e.Link)
	}
	if e.HasHash {
		s += " " + e.HashString()
	}
	if c, ok := e.xattr(capabilityXattr); ok {
		s += " caps " + formatCaps(c)
	}
	return s
}

// diff lists what changed from o (the baseline) to n (the disk), appending
// to out. Content is compared only when both sides have a hash.
func diff(out []Change, o, n *Entry) []Change {
	add := func(k Kind, old, new string) {
		out = append(out, Change{Path: n.Path, Kind: k, Old: old, New: new})
	}
	if o.Type != n.Type {
		add(KindType, o.Type.String(), n.Type.String())
		return out
	}
	if o.HasHash && n.HasHash && o.Hash != n.Hash {
		add(KindContent, o.HashString(), n.HashString())
	}
	if o.Link != n.Link {
		add(KindLink, strconv.QuoteToGraphic(o.Link), strconv.QuoteToGraphic(n.Link))
	}
	rest := o.Mode ^ n.Mode
	if added := n.Mode &^ o.Mode & 0o4000; added != 0 {
		add(KindSUID, modeString(o.Mode), modeString(n.Mode))
		rest &^= 0o4000
	}
	if added := n.Mode &^ o.Mode & 0o2000; added != 0 {
		add(KindSGID, modeString(o.Mode), modeString(n.Mode))
		rest &^= 0o2000
	}
	if rest != 0 {
		add(KindMode, modeString(o.Mode), modeString(n.Mode))
	}
	if o.UID != n.UID {
		add(KindOwner, strconv.FormatUint(uint64(o.UID), 10), strconv.FormatUint(uint64(n.UID), 10))
	}
	if o.GID != n.GID {
		add(KindGroup, strconv.FormatUint(uint64(o.GID), 10), strconv.FormatUint(uint64(n.GID), 10))
	}
	oc, _ := o.xattr(capabilityXattr)
	nc, _ := n.xattr(capabilityXattr)
	if !bytes.Equal(oc, nc) {
		add(KindCapability, formatCaps(oc), formatCaps(nc))
	}
	// Other extended attributes: a merge over the two sorted lists.
	i, j := 0, 0
	for i < len(o.Xattrs) || j < len(n.Xattrs) {
		var ox, nx *Xattr
		switch {
		case j >= len(n.Xattrs) || (i < len(o.Xattrs) && o.Xattrs[i].Name < n.Xattrs[j].Name):
			ox = &o.Xattrs[i]
			i++
		case i >= len(o.Xattrs) || n.Xattrs[j].Name < o.Xattrs[i].Name:
			nx = &n.Xattrs[j]
			j++
		default:
			ox, nx = &o.Xattrs[i], &n.Xattrs[j]
			i++
			j++
		}
		name := ""
		if ox != nil {
			name = ox.Name
		} else {
			name = nx.Name
		}
		if name == capabilityXattr || (ox != nil && nx != nil && bytes.Equal(ox.Value, nx.Value)) {
			continue
		}
		c := Change{Path: n.Path, Kind: KindXattr, Attr: name}
		if ox != nil {
			c.Old = xattrValue(ox.Value)
		}
		if nx != nil {
			c.New = xattrValue(nx.Value)
		}
		if c.Old == "" && c.New == "" {
			c.New = `""`
		}
		out = append(out, c)
	}
	return out
}

func xattrValue(v []byte) string {
	if utf8.Valid(v) && !bytes.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != 0 }) {
		return strconv.QuoteToGraphic(string(bytes.TrimRight(v, "\x00")))
	}
	return "hex:" + hex.EncodeToString(v)
}
