package logsource

// Describe names what the source reads, for status and the start-up log:
// each followed file with its state, or the pattern when no file matches
// yet.
func (f *File) Describe() []string {
	st := f.Status()
	if len(st) == 0 {
		return []string{f.Pattern() + " (no file yet)"}
	}
	out := make([]string, 0, len(st))
	for _, s := range st {
		out = append(out, s.Path+" ("+string(s.State)+")")
	}
	return out
}

// Describe names the journal source.
func (j *Journal) Describe() []string { return []string{"journald"} }
