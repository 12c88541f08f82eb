package audit

import (
	"encoding/json"
	"io"
)

// SARIF 2.1.0, the subset code-scanning services read: one run, one rule per
// check, one result per finding that is not a pass or skip.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifLevel     `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifLevel struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Kind      string          `json:"kind"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

func sarifSeverityLevel(s Severity) string {
	switch s {
	case High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

func renderSARIF(w io.Writer, r *Report, checks []Check) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "rampart audit",
			InformationURI: "https://github.com/rampart-ids/rampart/blob/main/docs/AUDIT.md",
		}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     []sarifResult{},
		Properties:  map[string]any{"score": r.Score, "host": r.Host},
	}
	index := map[string]int{}
	for _, f := range r.Checks {
		c, _ := Lookup(checks, f.ID)
		index[f.ID] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   f.ID,
			Name:                 f.ID,
			ShortDescription:     sarifText{f.Title},
			FullDescription:      sarifText{c.Why},
			Help:                 sarifText{"Reads: " + c.Reads + "\nRemediation: " + c.Remediation},
			DefaultConfiguration: sarifLevel{sarifSeverityLevel(f.Severity)},
			Properties:           map[string]any{"area": f.Area, "severity": f.Severity.String(), "tags": []string{"security", string(f.Area)}},
		})
	}
	for _, f := range r.Checks {
		var level, kind string
		switch f.Status {
		case Fail:
			level, kind = sarifSeverityLevel(f.Severity), "fail"
		case Warn:
			level, kind = "note", "review"
		case Error:
			level, kind = "warning", "open"
		default:
			continue
		}
		msg := f.Evidence
		if f.Remediation != "" {
			msg += "\nRemediation: " + f.Remediation
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.ID, RuleIndex: index[f.ID], Level: level, Kind: kind,
			Message: sarifText{msg},
			// Findings are about the host, not a file: name the host.
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: "host:" + r.Host}}}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}
