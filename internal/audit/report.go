package audit

import "time"

// Report is the outcome of one audit run.
type Report struct {
	Score    int           `json:"score"`
	Host     string        `json:"host"`
	Root     string        `json:"root,omitempty"`
	Time     time.Time     `json:"time"`
	Areas    []AreaSummary `json:"areas"`
	Checks   []Finding     `json:"checks"`
	Duration time.Duration `json:"-"`
}

// Finding is one check's result with the check's metadata.
type Finding struct {
	ID          string        `json:"id"`
	Area        Area          `json:"area"`
	Severity    Severity      `json:"severity"`
	Status      Status        `json:"status"`
	Title       string        `json:"title"`
	Evidence    string        `json:"evidence"`
	Remediation string        `json:"remediation,omitempty"`
	Duration    time.Duration `json:"-"`
}

// AreaSummary counts the statuses of one area and scores it.
type AreaSummary struct {
	Area  Area   `json:"area"`
	Title string `json:"title"`
	// Score is 0–100 over the area's scored checks, -1 when none was scored.
	Score int `json:"score"`
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Skip  int `json:"skip"`
	Error int `json:"error"`
}

// Score computes the hardening score of findings, 0–100: every check that
// ran is worth its severity's weight (high 10, medium 5, low 2); pass earns
// the full weight, warn half, fail nothing. Skipped checks and checks that
// could not run (error) are left out of both sides, so the score says how
// hardened the layers that could be examined are. It returns -1 when no
// check was scored.
func Score(findings []Finding) int {
	got, max := 0, 0
	for _, f := range findings {
		w := f.Severity.Weight()
		switch f.Status {
		case Pass:
			got += 2 * w
		case Warn:
			got += w
		case Fail:
		default:
			continue
		}
		max += 2 * w
	}
	if max == 0 {
		return -1
	}
	return got * 100 / max
}

func (r *Report) summarize() {
	r.Score = Score(r.Checks)
	if r.Score < 0 {
		r.Score = 0
	}
	r.Areas = nil
	for _, a := range Areas() {
		s := AreaSummary{Area: a, Title: a.Title()}
		var fs []Finding
		for _, f := range r.Checks {
			if f.Area != a {
				continue
			}
			fs = append(fs, f)
			switch f.Status {
			case Pass:
				s.Pass++
			case Fail:
				s.Fail++
			case Warn:
				s.Warn++
			case Skip:
				s.Skip++
			case Error:
				s.Error++
			}
		}
		if len(fs) == 0 {
			continue
		}
		s.Score = Score(fs)
		r.Areas = append(r.Areas, s)
	}
}

// Failed reports whether a check at or above min severity failed: that is
// what makes `rampart audit` exit 1.
func (r *Report) Failed(min Severity) bool {
	for _, f := range r.Checks {
		if f.Status == Fail && f.Severity >= min {
			return true
		}
	}
	return false
}

// Counts returns how many findings have each status.
func (r *Report) Counts() map[Status]int {
	m := map[Status]int{}
	for _, f := range r.Checks {
		m[f.Status]++
	}
	return m
}
