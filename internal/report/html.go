package report

import (
	"fmt"
	"html/template"
	"io"
)

// Page is a self-contained HTML report: summary figures, horizontal bar
// charts (inline SVG), a sortable table and per-item details. Classes
// ("good", "warn", "bad", "muted") colour stats, bars, rows and details.
type Page struct {
	Title    string
	Subtitle string
	// Headline is the one sentence a reader takes away ("62 % of
	// endpoints hybrid, 3 critical to migrate").
	Headline string
	Stats    []Stat
	Charts   []BarChart
	// Sections are titled tables shown before the main Table.
	Sections []Section
	Table    *HTMLTable
	Details  []Detail
	Footer   string
}

// Section is a titled sortable table with an optional note under the title.
type Section struct {
	Title string
	Note  string
	Table *HTMLTable
}

// Stat is one headline figure.
type Stat struct{ Label, Value, Class string }

// BarChart is a horizontal bar chart.
type BarChart struct {
	Title string
	Bars  []Bar
}

// Bar is one bar of a BarChart.
type Bar struct {
	Label string
	Value int
	Class string
}

// HTMLTable is a sortable table (click a header); a row with DetailID links
// to the Detail with that ID.
type HTMLTable struct {
	Columns []string
	Rows    []HTMLRow
}

// HTMLRow is one table row.
type HTMLRow struct {
	Cells    []string
	Class    string
	DetailID string
}

// Detail is a collapsible block of key/value fields.
type Detail struct {
	ID     string
	Title  string
	Class  string
	Fields [][2]string
}

type svgBar struct {
	Label, Class, Value string
	Y, W                int
}

type svgChart struct {
	Title  string
	Height int
	Bars   []svgBar
}

func (p *Page) charts() []svgChart {
	var out []svgChart
	for _, c := range p.Charts {
		maxV := 1
		for _, b := range c.Bars {
			maxV = max(maxV, b.Value)
		}
		sc := svgChart{Title: c.Title, Height: 24*len(c.Bars) + 8}
		for i, b := range c.Bars {
			sc.Bars = append(sc.Bars, svgBar{Label: b.Label, Class: b.Class, Value: fmt.Sprint(b.Value), Y: 4 + 24*i, W: 1 + 300*b.Value/maxV})
		}
		out = append(out, sc)
	}
	return out
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.P.Title}}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:24px;color:#1d2430;background:#f6f7f9}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.sub{color:#5b6573;margin-bottom:16px}
.stats{display:flex;flex-wrap:wrap;gap:12px}
.stat{background:#fff;border-radius:8px;padding:10px 16px;box-shadow:0 1px 2px #0002;min-width:110px}
.stat b{display:block;font-size:22px}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start;margin-top:16px}
.chart{background:#fff;border-radius:8px;padding:12px;box-shadow:0 1px 2px #0002}
svg text{font-size:12px;fill:#1d2430}
rect.good,.stat.good b{fill:#2e9d57;color:#2e9d57}rect.warn,.stat.warn b{fill:#d29a12;color:#b07f00}
rect.bad,.stat.bad b{fill:#d2453a;color:#c0392b}rect.muted,.stat.muted b{fill:#8a94a3;color:#6b7480}rect{fill:#4a78c2}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;width:100%}
th,td{padding:6px 10px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{cursor:pointer;user-select:none;background:#eef1f5;position:sticky;top:0}th:after{content:" \2195";color:#9aa3ae}
tr.good td:first-child{border-left:4px solid #2e9d57}tr.warn td:first-child{border-left:4px solid #d29a12}
tr.bad td:first-child{border-left:4px solid #d2453a}tr.muted td:first-child{border-left:4px solid #8a94a3}
details{background:#fff;margin:6px 0;border-radius:6px;box-shadow:0 1px 2px #0002;padding:6px 12px}
details.good{border-left:4px solid #2e9d57}details.warn{border-left:4px solid #d29a12}details.bad{border-left:4px solid #d2453a}details.muted{border-left:4px solid #8a94a3}
summary{cursor:pointer;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dt{color:#5b6573}dd{margin:0;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
.headline{font-size:18px;font-weight:600;margin:0 0 16px}
a{color:#2857a4}footer{margin-top:24px;color:#5b6573;font-size:12px}
</style></head><body>
<h1>{{.P.Title}}</h1><div class="sub">{{.P.Subtitle}}</div>{{with .P.Headline}}<p class="headline">{{.}}</p>{{end}}
<div class="stats">{{range .P.Stats}}<div class="stat {{.Class}}"><b>{{.Value}}</b>{{.Label}}</div>{{end}}</div>
{{if .Charts}}<div class="charts">{{range .Charts}}<div class="chart"><h2>{{.Title}}</h2>
<svg width="520" height="{{.Height}}" role="img" aria-label="{{.Title}}">{{range .Bars}}
<text x="0" y="{{.Y}}" dy="14">{{.Label}}</text><rect class="{{.Class}}" x="170" y="{{.Y}}" width="{{.W}}" height="18" rx="3"></rect><text x="{{.W}}" dx="176" y="{{.Y}}" dy="14">{{.Value}}</text>{{end}}
</svg></div>{{end}}</div>{{end}}
{{range .P.Sections}}<h2>{{.Title}}</h2>{{with .Note}}<div class="sub">{{.}}</div>{{end}}{{template "table" .Table}}{{end}}
{{with .P.Table}}<h2>Endpoints</h2>{{template "table" .}}{{end}}
{{define "table"}}<table class="sortable"><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr class="{{.Class}}">{{$id := .DetailID}}{{range $i, $c := .Cells}}<td>{{if and (eq $i 0) $id}}<a href="#{{$id}}">{{$c}}</a>{{else}}{{$c}}{{end}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
{{if .P.Details}}<h2>Details</h2>{{range .P.Details}}<details id="{{.ID}}" class="{{.Class}}"><summary>{{.Title}}</summary><dl>{{range .Fields}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl></details>
{{end}}{{end}}
<footer>{{.P.Footer}}</footer>
<script>
(function(){[].forEach.call(document.querySelectorAll('table.sortable'),function(t){var ths=t.tHead.rows[0].cells;
for(var i=0;i<ths.length;i++)(function(i){var asc=true;ths[i].onclick=function(){var b=t.tBodies[0],rows=[].slice.call(b.rows);
rows.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,na=parseFloat(a),nc=parseFloat(c);
var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r});asc=!asc;rows.forEach(function(r){b.appendChild(r)})}})(i);});
document.addEventListener('click',function(e){var a=e.target.closest('a[href^="#"]');if(a){var d=document.getElementById(a.getAttribute('href').slice(1));if(d&&d.tagName==='DETAILS')d.open=true}});})();
</script></body></html>
`))

// HTML renders the page. The output references no external asset.
func HTML(w io.Writer, p *Page) error {
	return pageTmpl.Execute(w, struct {
		P      *Page
		Charts []svgChart
	}{p, p.charts()})
}
