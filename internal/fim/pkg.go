package fim

import (
	"fmt"
	"os"

	"github.com/rampart-ids/rampart/internal/fim/dpkg"
)

// packageVersions snapshots the installed package versions under root, for
// telling a later upgrade from a hand edit; nil without a dpkg database.
func packageVersions(root string) map[string]string {
	db, err := dpkg.Open(root)
	if err != nil {
		return nil
	}
	return db.Versions
}

// annotatePackages judges each content change of a file a package owns:
// is the file now what the package ships (an upgrade or reinstall since the
// baseline), or does it differ from it (tampering)?
func annotatePackages(root string, meta Meta, changes []Change) {
	annotateWith(root, meta, changes, func() (*dpkg.DB, error) { return openSums(root) })
}

// openSums opens the dpkg database under root with its md5sums.
func openSums(root string) (*dpkg.DB, error) {
	db, err := dpkg.Open(root)
	if err != nil {
		return nil, err
	}
	if err := db.LoadSums(); err != nil {
		return nil, err
	}
	return db, nil
}

// sumsCache keeps the dpkg database for the realtime watcher, opened again
// only when dpkg's status file or info directory moved.
type sumsCache struct {
	root  string
	stamp string
	db    *dpkg.DB
}

func (c *sumsCache) get() (*dpkg.DB, error) {
	stamp := ""
	for _, f := range []string{"/var/lib/dpkg/status", "/var/lib/dpkg/info"} {
		if fi, err := os.Stat(c.root + f); err == nil {
			stamp += fmt.Sprint(fi.ModTime().UnixNano(), fi.Size(), ";")
		}
	}
	if c.db != nil && stamp == c.stamp {
		return c.db, nil
	}
	db, err := openSums(c.root)
	if err != nil {
		return nil, err
	}
	c.db, c.stamp = db, stamp
	return db, nil
}

func annotateWith(root string, meta Meta, changes []Change, open func() (*dpkg.DB, error)) {
	var db *dpkg.DB
	var actions []dpkg.Action
	buf := make([]byte, 128<<10)
	for i := range changes {
		c := &changes[i]
		if c.Kind != KindContent && c.Kind != KindNew {
			continue
		}
		if db == nil {
			var err error
			if db, err = open(); err != nil {
				return
			}
			actions = db.Actions(meta.Updated)
		}
		o, ok := db.Lookup(c.Path)
		if !ok {
			continue
		}
		note := &PackageNote{Name: o.Package, OldVersion: meta.Packages[o.Package], NewVersion: db.Versions[o.Package]}
		c.Package = note
		sum, err := dpkg.MD5File(root+c.Path, buf)
		if err != nil || sum != o.Sum {
			note.Verdict = VerdictTampered
			continue
		}
		if c.Kind == KindNew {
			note.OldVersion = ""
			note.Verdict = VerdictInstall
			continue
		}
		// The file is what the installed package ships: which dpkg run put it there?
		var ran *dpkg.Action
		for j := range actions {
			if a := &actions[j]; a.Package == o.Package && (a.Kind == "install" || a.Kind == "upgrade") {
				ran = a
			}
		}
		switch {
		case note.OldVersion != "" && note.OldVersion != note.NewVersion:
			note.Verdict = VerdictUpgrade
		case ran != nil && ran.Old != ran.New && ran.Old != "<none>":
			note.Verdict = VerdictUpgrade
			note.OldVersion = ran.Old
		case ran != nil:
			note.Verdict = VerdictReinstall
		default:
			note.Verdict = VerdictRestored
		}
	}
}
