package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The charts are drawn here, as inline SVG, rather than by a chart library.
// The Go libraries that write SVG (go-chart and its fork go-analyze/charts,
// gonum/plot) fix every colour in the markup, so the page could not follow
// prefers-color-scheme or print in black on white; they measure text with a
// bundled TrueType font (freetype, x/image, megabytes of font data) that the
// browser never uses, and gonum embeds fonts as data: URLs, which the
// page's CSP (font-src falls back to 'none') refuses; and they label a bar
// with its value, where a suppressed count must be drawn at a fixed height
// and labelled "< 5" (or "withheld"). Three chart shapes in a few hundred lines cost less.

type chartKind uint8

const (
	// columnChart: one column per row (months), series stacked upwards,
	// with an optional rate line on a right-hand axis.
	columnChart chartKind = iota
	// barChart: one horizontal bar per row (providers, channels, tags),
	// series stacked rightwards.
	barChart
	// divergingChart: series 0 upwards and series 1 downwards from one
	// line, per row (consent given and withdrawn).
	divergingChart
)

// chartSpec says how a panel's table is drawn.
type chartSpec struct {
	kind chartKind
	// series are the table columns drawn, stacked in this order.
	series []int
	// total is the column labelling each stack, or -1 to label a single
	// series with its own value.
	total int
	// rate is the column drawn as a line on its own axis, or -1.
	rate int
}

const (
	chartWidth = 720.0
	// smallPx is the height (or length) of a suppressed count's segment,
	// whatever the count: the drawing must not say what the label hides.
	smallPx = 5.0
	fontPx  = 12.0
)

// svgWriter builds SVG markup. Text is always escaped.
type svgWriter struct{ b strings.Builder }

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return html.EscapeString(s) }

func (w *svgWriter) open(p *Panel, height float64) {
	w.printf(`<svg class="chart" viewBox="0 0 %s %s" role="img" aria-label="%s">`, num(chartWidth), num(height),
		esc(p.Title+", "+p.Covers+": a chart; the numbers are in the table below it."))
}

func (w *svgWriter) text(x, y float64, anchor, class, s string) {
	w.printf(`<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, num(x), num(y), anchor, class, esc(s))
}

// segment draws one piece of a stack with a tooltip; a count the page does
// not show (small or withheld) is drawn in the "small" style.
func (w *svgWriter) segment(x, y, wd, ht float64, series int, c Cell, tip string) {
	class := fmt.Sprintf("s%d", series)
	if c.Masked() {
		class = "small"
	}
	w.printf(`<rect x="%s" y="%s" width="%s" height="%s" class="%s"><title>%s</title></rect>`,
		num(x), num(y), num(math.Max(wd, 0)), num(math.Max(ht, 0)), class, esc(tip))
}

// niceScale is a round axis maximum at or above v and its tick step.
// Counts step by whole numbers.
func niceScale(v float64, whole bool) (top, step float64) {
	if v <= 0 {
		if whole {
			return 1, 1
		}
		return 0.1, 0.025
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if whole {
		step = math.Max(1, math.Round(step))
	}
	return math.Ceil(v/step) * step, step
}

// shownLength is how long a stack's drawn part is in value units (the
// masked pieces are added in pixels), and how many pieces are masked.
func shownLength(r Row, series []int) (value float64, smalls int) {
	for _, s := range series {
		c := r.Cells[s]
		if n, ok := c.Count(); ok {
			value += float64(n)
		} else if c.Masked() {
			smalls++
		}
	}
	return value, smalls
}

func label(r Row, spec chartSpec) string {
	if spec.total >= 0 {
		return r.Cells[spec.total].Text()
	}
	return r.Cells[spec.series[0]].Text()
}

func tip(t *Table, r Row, s int) string {
	return r.Label + ", " + t.Columns[s].Label + ": " + r.Cells[s].Text()
}

// chartSVG draws a panel's chart from its table.
func chartSVG(p *Panel) string {
	if p.Table == nil || len(p.Table.Rows) == 0 {
		return ""
	}
	switch p.chart.kind {
	case barChart:
		return barsSVG(p)
	case divergingChart:
		return divergingSVG(p)
	}
	return columnsSVG(p)
}

func columnsSVG(p *Panel) string {
	t, spec := p.Table, p.chart
	const height, top, bottom, left = 280.0, 24.0, 40.0, 56.0
	right := 16.0
	if spec.rate >= 0 {
		right = 56
	}
	plotH, plotW := height-top-bottom, chartWidth-left-right
	var maxV float64
	var maxSmall int
	for _, r := range t.Rows {
		v, k := shownLength(r, spec.series)
		maxV = math.Max(maxV, v)
		maxSmall = max(maxSmall, k)
	}
	// Room at the top for the suppressed pieces, which add pixels.
	scaleH := plotH - float64(maxSmall)*smallPx
	vmax, step := niceScale(maxV, true)
	y := func(v float64) float64 { return top + plotH - v/vmax*scaleH }

	var w svgWriter
	w.open(p, height)
	for v := 0.0; v <= vmax+step/2; v += step {
		w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/>`, num(left), num(left+plotW), num(y(v)), num(y(v)))
		w.text(left-6, y(v)+4, "end", "tick", thousands(int(v)))
	}
	band := plotW / float64(len(t.Rows))
	barW := math.Min(band*0.62, 48)
	for i, r := range t.Rows {
		x := left + band*float64(i) + (band-barW)/2
		base := top + plotH
		for si, s := range spec.series {
			c := r.Cells[s]
			var h float64
			if n, ok := c.Count(); ok {
				h = float64(n) / vmax * scaleH
			} else if c.Masked() {
				h = smallPx
			}
			if h == 0 {
				continue
			}
			base -= h
			w.segment(x, base, barW, h, si, c, tip(t, r, s))
		}
		w.text(x+barW/2, base-5, "middle", "value", label(r, spec))
		month, year, _ := strings.Cut(r.Label, " ")
		w.printf(`<text x="%s" y="%s" text-anchor="middle" class="tick">%s<tspan x="%s" dy="13">%s</tspan></text>`,
			num(x+barW/2), num(top+plotH+16), esc(month), num(x+barW/2), esc(year))
	}
	w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="axis"/>`, num(left), num(left+plotW), num(top+plotH), num(top+plotH))
	if spec.rate >= 0 {
		rateLine(&w, t, spec.rate, left, plotW, band, top, plotH)
	}
	w.printf(`</svg>`)
	return w.b.String()
}

// rateLine draws a rate column as a line on a right-hand percentage axis.
// A withheld or undefined rate breaks the line rather than being guessed.
func rateLine(w *svgWriter, t *Table, col int, left, plotW, band, top, plotH float64) {
	var maxR float64
	for _, r := range t.Rows {
		if v, ok := r.Cells[col].Rate(); ok {
			maxR = math.Max(maxR, v)
		}
	}
	// Half again the highest rate: the line runs across the columns rather
	// than through the labels on top of them.
	rmax, step := niceScale(maxR*1.5, false)
	y := func(v float64) float64 { return top + plotH - v/rmax*plotH }
	for v := 0.0; v <= rmax+step/2; v += step {
		w.text(left+plotW+6, y(v)+4, "start", "tick rate-tick", strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64)+"%")
	}
	var run []string
	flush := func() {
		if len(run) > 1 {
			w.printf(`<polyline points="%s" class="rate"/>`, strings.Join(run, " "))
		}
		run = nil
	}
	for i, r := range t.Rows {
		v, ok := r.Cells[col].Rate()
		if !ok {
			flush()
			continue
		}
		x := left + band*float64(i) + band/2
		run = append(run, num(x)+","+num(y(v)))
	}
	flush()
	for i, r := range t.Rows {
		if v, ok := r.Cells[col].Rate(); ok {
			x := left + band*float64(i) + band/2
			w.printf(`<circle cx="%s" cy="%s" r="3.5" class="rate-point"><title>%s</title></circle>`, num(x), num(y(v)), esc(tip(t, r, col)))
		}
	}
}

func barsSVG(p *Panel) string {
	t, spec := p.Table, p.chart
	const rowH, top, bottom, right = 26.0, 8.0, 28.0, 84.0
	longest := 0
	for _, r := range t.Rows {
		longest = max(longest, len([]rune(r.Label)))
	}
	left := math.Min(math.Max(float64(longest)*7+16, 72), 240)
	plotW := chartWidth - left - right
	height := top + rowH*float64(len(t.Rows)) + bottom
	var maxV float64
	var maxSmall int
	for _, r := range t.Rows {
		v, k := shownLength(r, spec.series)
		maxV = math.Max(maxV, v)
		maxSmall = max(maxSmall, k)
	}
	scaleW := plotW - float64(maxSmall)*smallPx
	vmax, step := niceScale(maxV, true)
	x := func(v float64) float64 { return left + v/vmax*scaleW }

	var w svgWriter
	w.open(p, height)
	plotBottom := top + rowH*float64(len(t.Rows))
	for v := 0.0; v <= vmax+step/2; v += step {
		w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/>`, num(x(v)), num(x(v)), num(top), num(plotBottom))
		w.text(x(v), plotBottom+16, "middle", "tick", thousands(int(v)))
	}
	for i, r := range t.Rows {
		y0 := top + rowH*float64(i)
		barH := rowH * 0.66
		by := y0 + (rowH-barH)/2
		w.text(left-8, y0+rowH/2+4, "end", "cat", r.Label)
		end := left
		for si, s := range spec.series {
			c := r.Cells[s]
			var ln float64
			if n, ok := c.Count(); ok {
				ln = float64(n) / vmax * scaleW
			} else if c.Masked() {
				ln = smallPx
			}
			if ln == 0 {
				continue
			}
			w.segment(end, by, ln, barH, si, c, tip(t, r, s))
			end += ln
		}
		w.text(end+6, y0+rowH/2+4, "start", "value", label(r, spec))
	}
	w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="axis"/>`, num(left), num(left), num(top), num(plotBottom))
	w.printf(`</svg>`)
	return w.b.String()
}

func divergingSVG(p *Panel) string {
	t, spec := p.Table, p.chart
	const height, top, bottom, left, right = 300.0, 22.0, 40.0, 56.0, 16.0
	plotH, plotW := height-top-bottom, chartWidth-left-right
	half := plotH / 2
	mid := top + half
	var maxV float64
	for _, r := range t.Rows {
		for _, s := range spec.series {
			if n, ok := r.Cells[s].Count(); ok {
				maxV = math.Max(maxV, float64(n))
			}
		}
	}
	scaleH := half - 16 - smallPx // room for the value labels
	vmax, step := niceScale(maxV, true)
	h := func(v float64) float64 { return v / vmax * scaleH }

	var w svgWriter
	w.open(p, height)
	for v := 0.0; v <= vmax+step/2; v += step {
		for _, sign := range []float64{-1, 1} {
			yy := mid - sign*h(v)
			w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/>`, num(left), num(left+plotW), num(yy), num(yy))
			w.text(left-6, yy+4, "end", "tick", thousands(int(v)))
			if v == 0 {
				break
			}
		}
	}
	band := plotW / float64(len(t.Rows))
	barW := math.Min(band*0.62, 48)
	for i, r := range t.Rows {
		x := left + band*float64(i) + (band-barW)/2
		for k, s := range spec.series[:2] {
			c := r.Cells[s]
			var ln float64
			if n, ok := c.Count(); ok {
				ln = h(float64(n))
			} else if c.Masked() {
				ln = smallPx
			}
			if k == 0 {
				w.segment(x, mid-ln, barW, ln, k, c, tip(t, r, s))
				w.text(x+barW/2, mid-ln-5, "middle", "value", c.Text())
			} else {
				w.segment(x, mid, barW, ln, k, c, tip(t, r, s))
				w.text(x+barW/2, mid+ln+13, "middle", "value", c.Text())
			}
		}
		month, year, _ := strings.Cut(r.Label, " ")
		w.printf(`<text x="%s" y="%s" text-anchor="middle" class="tick">%s<tspan x="%s" dy="13">%s</tspan></text>`,
			num(x+barW/2), num(top+plotH+16), esc(month), num(x+barW/2), esc(year))
	}
	w.printf(`<line x1="%s" x2="%s" y1="%s" y2="%s" class="axis"/>`, num(left), num(left+plotW), num(mid), num(mid))
	w.printf(`</svg>`)
	return w.b.String()
}
