package eval

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes the report as tables for a terminal.
func Print(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "Detection quality: rules %s (step-up at %d, deny at %d)\n", r.RulesVersion,
		r.Thresholds.StepUp, r.Thresholds.Deny)
	if r.About != "" {
		fmt.Fprintf(w, "  %s\n", r.About)
	}
	fmt.Fprintf(w, "  %d events decided and %d challenges answered in %s", r.Events,
		r.Challenges, r.Took.Round(10*time.Millisecond))
	if r.Machine != "" {
		fmt.Fprintf(w, " on %s", r.Machine)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	sections := []func(io.Writer, *Report){printAttacks, printCampaigns, printLegit,
		printSituations, printReauth, printCurve}
	for _, s := range sections {
		fmt.Fprintln(tw, "\t")
		s(tw, r)
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	printReasons(w, r)
	printTargets(w, r)
	return nil
}

// row writes cells as one table line; the first cell is left-aligned by
// padding it to a fixed width, as tabwriter aligns every cell right.
func row(w io.Writer, first string, cells ...string) {
	fmt.Fprintf(w, "  %-34s\t%s\t\n", first, strings.Join(cells, "\t"))
}

func counts(t Tally) []string {
	return []string{fmt.Sprint(t.Events), fmt.Sprint(t.Allow), fmt.Sprint(t.StepUp),
		fmt.Sprint(t.Deny)}
}

func printAttacks(w io.Writer, r *Report) {
	row(w, "Attacks (decisive events)", "events", "allowed", "stepped up", "denied", "TPR")
	for _, a := range r.Attacks {
		row(w, a.Name, append(counts(a.Tally), pct(float64(a.TPR)))...)
	}
}

func printCampaigns(w io.Writer, r *Report) {
	row(w, "Campaigns", "attempts", "passed before reaction", "stopped")
	for _, c := range r.Campaigns {
		row(w, c.Campaign, fmt.Sprint(c.Attempts), passed(c.Passed), pct(float64(c.Stopped)))
	}
}

func printLegit(w io.Writer, r *Report) {
	l := r.Legit
	row(w, "Legitimate users", "events", "allowed", "stepped up", "denied", "step-up share",
		"deny share")
	for _, x := range []struct {
		name string
		t    Tally
	}{{"logins", l.Logins}, {"  on a known device", l.KnownDevice},
		{"  on a new device", l.NewDevice}, {"signups", l.Signups}} {
		row(w, x.name, append(counts(x.t), pct(x.t.StepUpShare()), pct(x.t.DenyShare()))...)
	}
}

func printSituations(w io.Writer, r *Report) {
	row(w, "Legitimate logins by situation", "logins", "share", "stepped up", "denied",
		"bothered")
	names := slices.SortedFunc(maps.Keys(r.Legit.Situations), func(a, b string) int {
		return cmp.Compare(r.Legit.Situations[b].Events, r.Legit.Situations[a].Events)
	})
	for _, n := range names {
		t := r.Legit.Situations[n]
		row(w, n, fmt.Sprint(t.Events), pct(share(t.Events, r.Legit.Logins.Events)),
			fmt.Sprint(t.StepUp), fmt.Sprint(t.Deny), pct(t.Stopped()))
	}
}

func printReauth(w io.Writer, r *Report) {
	row(w, "Re-authentication rate per user", "users", "logins", "median", "mean")
	for _, b := range r.Reauth {
		name := fmt.Sprintf("  after %d logins", b.From)
		switch {
		case b.To < 0:
			name = fmt.Sprintf("  after %d or more logins", b.From)
		case b.To != b.From:
			name = fmt.Sprintf("  after %d to %d logins", b.From, b.To)
		}
		row(w, name, fmt.Sprint(b.Users), fmt.Sprint(b.Logins), ratio(float64(b.Median)),
			ratio(float64(b.Mean)))
	}
}

// printCurve shows the curve at thresholds that are multiples of ten, and
// the rule set's own.
func printCurve(w io.Writer, r *Report) {
	var pts []CurvePoint
	for _, p := range r.Curve {
		if p.StepUp%10 == 0 || p.StepUp == r.Thresholds.StepUp {
			pts = append(pts, p)
		}
	}
	head := make([]string, len(pts))
	legit := make([]string, len(pts))
	for i, p := range pts {
		head[i] = fmt.Sprint(p.StepUp)
		if p.StepUp == r.Thresholds.StepUp {
			head[i] = "*" + head[i]
		}
		legit[i] = pct(float64(p.LegitBothered))
	}
	kind := "recorded scores"
	if r.CurveExact {
		kind = "one run each"
	}
	fmt.Fprintf(w, "  Trade-off by step-up threshold (%s)\n", kind)
	row(w, "  step-up threshold", head...)
	row(w, "legitimate logins bothered", legit...)
	for _, a := range r.Attacks {
		cells := make([]string, len(pts))
		for i, p := range pts {
			cells[i] = pct(float64(p.TPR[a.Name]))
		}
		row(w, a.Name, cells...)
	}
}

func printReasons(w io.Writer, r *Report) {
	reasons := r.Legit.Reasons
	if len(reasons) == 0 {
		return
	}
	codes := slices.SortedFunc(maps.Keys(reasons), func(a, b string) int {
		return cmp.Or(cmp.Compare(reasons[b], reasons[a]), cmp.Compare(a, b))
	})
	parts := make([]string, 0, len(codes))
	for _, c := range codes[:min(len(codes), 8)] {
		parts = append(parts, fmt.Sprintf("%s %d", c, reasons[c]))
	}
	fmt.Fprintf(w, "\n  Reasons on legitimate logins stepped up or denied: %s\n",
		strings.Join(parts, ", "))
}

func printTargets(w io.Writer, r *Report) {
	fmt.Fprintln(w, "\nTargets of the default configuration")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		mark := "not met"
		if t.Met {
			mark = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\twant %s\tgot %s\n", mark, t.Name, t.Want, t.Got)
	}
	tw.Flush()
}
