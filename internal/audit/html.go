package audit

import (
	"html/template"
	"io"
	"strings"
)

// htmlPage is one self-contained page: inline CSS, no scripts, no external
// assets, so it can be mailed or archived as is.
var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": func(s Status) string { return strings.ToUpper(string(s)) },
	"band": func(n int) string {
		switch {
		case n < 0:
			return "none"
		case n < 50:
			return "bad"
		case n < 80:
			return "mid"
		}
		return "good"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rampart audit: {{.Host}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#1b1f24;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}
.meta{color:#57606a}
.score{font-size:3em;font-weight:700}
.good{color:#1a7f37}.mid{color:#9a6700}.bad{color:#cf222e}.none{color:#57606a}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right}
.st{font-weight:700;font-size:.85em;padding:.1em .45em;border-radius:.3em;color:#fff}
.st-pass{background:#1a7f37}.st-fail{background:#cf222e}.st-warn{background:#9a6700}.st-skip{background:#8c959f}.st-error{background:#8250df}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5em;border-radius:.3em;margin:.3em 0}
details summary{cursor:pointer}
</style>
</head>
<body>
<h1>rampart audit of {{.Host}}</h1>
<p class="meta">{{.Time.Format "2006-01-02 15:04:05 MST"}}{{if .Root}} · offline audit of {{.Root}}{{end}} · {{len .Checks}} checks</p>
<p><span class="score {{band .Score}}">{{.Score}}</span><span class="meta">/100 hardening score (high 10, medium 5, low 2 points; warn counts half; skip and error are left out)</span></p>
<h2>Areas</h2>
<table>
<tr><th>Area</th><th>Score</th><th>Pass</th><th>Fail</th><th>Warn</th><th>Skip</th><th>Error</th></tr>
{{range .Areas}}<tr><td>{{.Title}}</td><td class="n {{band .Score}}">{{if ge .Score 0}}{{.Score}}{{else}}–{{end}}</td><td class="n">{{.Pass}}</td><td class="n">{{.Fail}}</td><td class="n">{{.Warn}}</td><td class="n">{{.Skip}}</td><td class="n">{{.Error}}</td></tr>
{{end}}</table>
<h2>Checks</h2>
<table>
<tr><th>Status</th><th>Severity</th><th>Check</th><th>Evidence and remediation</th></tr>
{{range .Checks}}<tr id="{{.ID}}"><td><span class="st st-{{.Status}}">{{upper .Status}}</span></td><td>{{.Severity}}</td><td><code>{{.ID}}</code><br>{{.Title}}</td><td>{{.Evidence}}{{if .Remediation}}<pre>{{.Remediation}}</pre>{{end}}</td></tr>
{{end}}</table>
</body>
</html>
`))

func renderHTML(w io.Writer, r *Report) error {
	return htmlPage.Execute(w, r)
}
