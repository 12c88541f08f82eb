package hostwatch

import (
	"fmt"
	"time"

	"github.com/rampart-ids/rampart/internal/fim/dpkg"
)

// packageCollectors are the collectors whose objects packages ship (in
// md5sums: not conffiles): a change a dpkg run explains is info.
var packageCollectors = map[string]bool{"suid": true, "systemd-units": true}

// annotatePackages judges the new and changed files of packageCollectors
// against the dpkg database under env.Root: a file that is what its
// package ships, with an install or upgrade of that package since the
// collector's baseline, is a package's doing (severity info); one that
// differs from its package is tampering (critical). taken is when each
// collector's baseline was taken.
func annotatePackages(env Env, taken map[string]time.Time, changes []Change) {
	var db *dpkg.DB
	var actions []dpkg.Action
	var since time.Time
	buf := make([]byte, 128<<10)
	for i := range changes {
		c := &changes[i]
		if !packageCollectors[c.Collector] || c.Kind == Removed {
			continue
		}
		if db == nil {
			var err error
			if db, err = dpkg.Open(env.Root); err != nil {
				return
			}
			if err := db.LoadSums(); err != nil {
				return
			}
			since = time.Now()
			for _, t := range taken {
				if t.Before(since) {
					since = t
				}
			}
			actions = db.Actions(since)
		}
		o, ok := db.Lookup(c.Key)
		if !ok {
			continue
		}
		sum, err := dpkg.MD5File(env.path(c.Key), buf)
		if err != nil || sum != o.Sum {
			c.Note = fmt.Sprintf("differs from what package %s ships: tampered", o.Package)
			c.Severity = "critical"
			continue
		}
		var ran *dpkg.Action
		for j := range actions {
			a := &actions[j]
			if a.Package == o.Package && (a.Kind == "install" || a.Kind == "upgrade") && !a.Time.Before(taken[c.Collector].Truncate(time.Second)) {
				ran = a
			}
		}
		if ran == nil {
			c.Note = fmt.Sprintf("what package %s ships, but no dpkg run of it since the baseline", o.Package)
			continue
		}
		c.Note = fmt.Sprintf("package %s: %s %s → %s at %s", ran.Kind, o.Package, ran.Old, ran.New, ran.Time.Format(time.RFC3339))
		c.Severity = "info"
	}
}
