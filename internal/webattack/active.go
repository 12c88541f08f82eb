package webattack

// activeMarkers is free_text.toml's "active" pattern, split into its
// branches (split.go): one long alternation of markers that Go's regexp
// ran as an NFA trying every branch at every byte (about 40 µs for a
// 35-byte value); each branch run only when the value holds the literal
// it needs ("(" for a call, "://" for a scheme), the same answer costs a
// few microseconds. It sees values lower-cased (ASCII), as the rules with
// fold = true do.
type activeMarkers = branchSet

// compileActive compiles pattern (Go RE2 syntax) into markers.
func compileActive(pattern string) (*activeMarkers, error) {
	return splitBranches(pattern, true)
}
