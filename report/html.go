package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
)

// CSP is the page's Content-Security-Policy: nothing may be loaded from
// anywhere, not even the page's own folder. Styles are inline, and the only
// images allowed are data: URLs (there are none; the charts are inline SVG).
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

// WriteHTML writes the report as one self-contained HTML page: no script,
// no web font, no link out, so it opens the same from a USB stick on a
// machine with no network, prints on A4 or Letter, and follows the reader's
// dark mode.
func WriteHTML(w io.Writer, r *Report) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	// chart's markup is built by svg.go, which escapes every piece of text.
	"chart": func(p Panel) template.HTML { return template.HTML(chartSVG(&p)) },
	// legend names the series of a stacked chart; one series needs none.
	"legend": func(p Panel) []Column {
		if p.Table == nil || len(p.chart.series) < 2 {
			return nil
		}
		var out []Column
		for _, s := range p.chart.series {
			out = append(out, p.Table.Columns[s])
		}
		return out
	},
	"hasRate": func(p Panel) bool { return p.chart.rate >= 0 },
	"hasMasked": func(p Panel) bool {
		if p.Table == nil {
			return false
		}
		for _, r := range p.Table.Rows {
			for _, s := range p.chart.series {
				if r.Cells[s].Masked() {
					return true
				}
			}
		}
		return false
	},
	"when": func(r *Report) string { return r.GeneratedAt.Format("2 January 2006, 15:04") },
	"csp":  func() string { return CSP },
}).Parse(pageTemplate))

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{csp}}">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: {{.Period.Label}}</title>
<style>
:root {
  --bg: #ffffff; --fg: #1b1f24; --muted: #5b636d; --line: #d5d9de; --card: #f6f7f9;
  --c0: #2f6db5; --c1: #d1495b; --c2: #edae49; --c3: #7fb8a4; --small: #9aa3ad; --rate: #1b1f24;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171b; --fg: #e8eaed; --muted: #a3abb5; --line: #3a4149; --card: #1d2126;
    --c0: #6ea8ea; --c1: #f07a8a; --c2: #f2c46d; --c3: #8fd3bb; --small: #6b7580; --rate: #e8eaed;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0 auto; max-width: 62rem; padding: 1.5rem; line-height: 1.4;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 0 0 .1rem; }
.sub, .covers, .note, .footnote { color: var(--muted); }
.covers { margin: 0 0 .5rem; font-size: .9rem; }
.note { font-size: .85rem; margin: .4rem 0 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .6rem; margin: 1rem 0 1.5rem; padding: 0; list-style: none; }
.figures li { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.figures .v { display: block; font-size: 1.5rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.figures .k { font-size: .85rem; color: var(--muted); }
section.panel { border-top: 1px solid var(--line); padding: 1.1rem 0 1.3rem; break-inside: avoid; page-break-inside: avoid; }
section.unavailable .note { font-size: 1rem; }
svg.chart { width: 100%; height: auto; display: block; margin: .4rem 0; font-size: 12px; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg text { fill: var(--fg); }
svg .tick { fill: var(--muted); font-size: 11px; }
svg .value { font-size: 11px; font-variant-numeric: tabular-nums; paint-order: stroke; stroke: var(--bg); stroke-width: 3px; stroke-linejoin: round; }
svg .cat { font-size: 12px; }
svg .s0 { fill: var(--c0); } svg .s1 { fill: var(--c1); } svg .s2 { fill: var(--c2); } svg .s3 { fill: var(--c3); }
svg .small { fill: var(--small); stroke: var(--fg); stroke-width: .6; stroke-dasharray: 2 1.5; }
svg .rate { fill: none; stroke: var(--rate); stroke-width: 2; }
svg .rate-point { fill: var(--bg); stroke: var(--rate); stroke-width: 2; }
.legend { list-style: none; margin: .3rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .85rem; }
.sw { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: -.1rem; }
.sw.s0 { background: var(--c0); } .sw.s1 { background: var(--c1); } .sw.s2 { background: var(--c2); } .sw.s3 { background: var(--c3); }
.sw.small { background: var(--small); outline: 1px dashed var(--fg); }
.sw.rate { height: 2px; width: 1rem; background: var(--rate); vertical-align: .2rem; }
table { border-collapse: collapse; margin-top: .6rem; font-size: .85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: .8rem; padding-bottom: .2rem; }
th, td { padding: .15rem .7rem .15rem 0; border-bottom: 1px solid var(--line); }
th { text-align: left; font-weight: 600; }
td { text-align: right; }
footer { border-top: 1px solid var(--line); margin-top: 1rem; padding-top: .6rem; font-size: .8rem; color: var(--muted); }
@page { margin: 12mm; }
@media print {
  :root { --bg: #fff; --fg: #000; --muted: #444; --line: #bbb; --card: #fff;
    --c0: #2f6db5; --c1: #d1495b; --c2: #edae49; --c3: #7fb8a4; --small: #bbb; --rate: #000; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h1 { font-size: 16pt; } h2 { font-size: 12pt; }
  .figures { grid-template-columns: repeat(7, 1fr); gap: 2mm; margin: 2mm 0 4mm; }
  .figures li { padding: 1.5mm 2mm; }
  .figures .v { font-size: 13pt; }
  .figures .k { font-size: 7.5pt; }
  section.panel { padding: 3mm 0; }
  svg.chart { max-height: 75mm; }
  table { font-size: 8pt; margin-top: 1mm; }
  th, td { padding: 0 3mm 0 0; }
}
</style>
</head>
<body>
<header>
<h1>{{.Title}}: {{.Period.Label}}</h1>
<p class="sub">{{.Period.From}} to {{.Period.To}}. Trends: {{.Trend.Label}}. Made {{when .}} by Carebook.</p>
</header>
<main>
<h2 id="at-a-glance">At a glance: {{.Period.Label}}</h2>
<ul class="figures" aria-labelledby="at-a-glance">
{{- range .Summary}}
<li><span class="v">{{.Value.Text}}</span><span class="k">{{.Label}}</span></li>
{{- end}}
</ul>
{{range .Panels}}
<section class="panel{{if not .Available}} unavailable{{end}}" id="{{.ID}}" aria-labelledby="{{.ID}}-title">
<h2 id="{{.ID}}-title">{{.Title}}</h2>
<p class="covers">{{.Covers}}</p>
{{- if .Available}}
{{chart .}}
<ul class="legend" aria-hidden="true">
{{- range $i, $c := legend .}}<li><span class="sw s{{$i}}"></span>{{$c.Label}}</li>{{end}}
{{- if hasRate .}}<li><span class="sw rate"></span>No-show rate (right-hand axis)</li>{{end}}
{{- if hasMasked .}}<li><span class="sw small"></span>fewer than 5, or withheld (drawn small)</li>{{end}}
</ul>
{{- with .Table}}
<table>
<caption>The numbers of the chart above.</caption>
<thead><tr><th scope="col">{{.RowHeader}}</th>{{range .Columns}}<th scope="col">{{.Label}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr><th scope="row">{{.Label}}</th>{{range .Cells}}<td>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}
{{- with .Note}}
<p class="note">{{.}}</p>
{{- end}}
</section>
{{end}}
</main>
<footer>
<p>Aggregates only: no names, record numbers, dates of birth or notes. A count from 1 to 4 is shown as "&lt; 5", and a number that would give one away with the numbers beside it (a total less the others, the same count by month and by provider) is withheld, so that a printed copy does not disclose anyone.</p>
</footer>
</body>
</html>
`

// WriteJSON writes the report's aggregates as `report --json` prints them:
// hidden cells are null (see Report.Hidden).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
