package eval

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// minShownShare is where the logarithmic x axis starts, in percent: a
// threshold that bothers no legitimate login is drawn there.
const minShownShare = 0.01

// chartSize is the size of the chart; legendWidth of its legend column.
const (
	chartWidth  = 11 * vg.Inch
	chartHeight = 6 * vg.Inch
	legendWidth = 2.6 * vg.Inch
)

// Chart draws the trade-off curves: for each attacker model, the share of
// its attempts stopped (y) against the share of legitimate logins bothered
// (x, logarithmic), one point per step-up threshold. Lowering the
// threshold moves every point up and to the right; the rule set's own
// threshold is ringed, and a dashed line marks the 2 % step-up target. It
// returns the plot and its legend, which goes beside it.
func Chart(r *Report) (*plot.Plot, plot.Legend, error) {
	p := plot.New()
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	p.Title.Text = fmt.Sprintf("Trade-off by step-up threshold (rules %s, deny at %d)",
		r.RulesVersion, r.Thresholds.Deny)
	p.X.Label.Text = fmt.Sprintf("legitimate logins stepped up or denied (%%, log scale; "+
		"none is drawn at %g)", minShownShare)
	p.Y.Label.Text = "attack attempts stepped up or denied (%)"
	// The x axis is linear in log10 of the share, with ticks labelled in
	// percent: gonum's own log scale centres the axis label on the
	// arithmetic middle of the range, far to the right.
	p.X.Tick.Marker = decadeTicks{}
	p.Y.Min, p.Y.Max = 0, 100
	p.Add(plotter.NewGrid())

	maxX := 100 * maxLegitStepUp
	var own plotter.XYs
	for i, a := range r.Attacks {
		xys := curveOf(r, a.Name, &own)
		if len(xys) == 0 {
			continue
		}
		for _, xy := range xys {
			maxX = math.Max(maxX, math.Pow(10, xy.X))
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, legend, fmt.Errorf("chart %s: %w", a.Name, err)
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / len(plotutil.DefaultColors))
		points.Color, points.Shape = plotutil.Color(i), plotutil.Shape(i)
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		legend.Add(a.Name, line, points)
	}
	if len(own) > 0 {
		ring, err := plotter.NewScatter(own)
		if err != nil {
			return nil, legend, err
		}
		ring.Shape, ring.Radius = draw.RingGlyph{}, vg.Points(6)
		p.Add(ring)
		legend.Add(fmt.Sprintf("step-up at %d (the rules')", r.Thresholds.StepUp), ring)
	}
	target, err := plotter.NewLine(plotter.XYs{{X: math.Log10(100 * maxLegitStepUp), Y: 0},
		{X: math.Log10(100 * maxLegitStepUp), Y: 100}})
	if err != nil {
		return nil, legend, err
	}
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(target)
	legend.Add("2 % step-up target", target)
	p.X.Min, p.X.Max = math.Log10(minShownShare), math.Log10(math.Min(100, maxX*2))
	return p, legend, nil
}

// decadeTicks marks the powers of ten (labelled in percent) and the steps
// between them, on an axis of log10 values.
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(min); d <= max; d++ {
		for k := 1; k < 10; k++ {
			x := d + math.Log10(float64(k))
			if x < min || x > max {
				continue
			}
			t := plot.Tick{Value: x}
			if k == 1 {
				t.Label = strconv.FormatFloat(math.Pow(10, d), 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// curveOf returns the points of one attacker model's curve, in percent,
// and adds the point of the rule set's own threshold to own.
func curveOf(r *Report, name string, own *plotter.XYs) plotter.XYs {
	var xys plotter.XYs
	for _, c := range r.Curve {
		x, y := 100*float64(c.LegitBothered), 100*float64(c.TPR[name])
		if math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		xy := plotter.XY{X: math.Log10(math.Max(x, minShownShare)), Y: y}
		xys = append(xys, xy)
		if c.StepUp == r.Thresholds.StepUp {
			*own = append(*own, xy)
		}
	}
	return xys
}

// SaveChart writes the chart to path, as SVG or PNG by its extension,
// through a temporary file so that a reader never sees half a chart.
func SaveChart(r *Report, path string) error {
	var c vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg":
		c = vgsvg.New(chartWidth, chartHeight)
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight),
			vgimg.UseDPI(120))}
	default:
		return fmt.Errorf("chart %s: the file must end in .svg or .png", path)
	}
	p, legend, err := Chart(r)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	side := draw.Crop(dc, chartWidth-legendWidth+vg.Points(12), 0, 0, -vg.Points(30))
	legend.Draw(side)
	return writeAtomic(path, c)
}

func writeAtomic(path string, w io.WriterTo) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	_, err = w.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
