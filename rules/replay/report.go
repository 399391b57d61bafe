package replay

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
)

// maxShown is how many invalid records the report quotes.
const maxShown = 5

// Report is what a replay found.
type Report struct {
	// Records is the number of records read; Invalid those that were not
	// valid events (each set refused them alike); Decided the others.
	Records, Invalid, Decided int
	// InvalidShown quotes the first few invalid records.
	InvalidShown        []string
	Baseline, Candidate *SetReport
	// Changed counts the events whose action differs between the sets,
	// Transitions them by (baseline, candidate) action, and ScoreOnly the
	// events with the same action and another score.
	Changed     int
	Transitions map[[2]rules.Action]int
	ScoreOnly   int
	// Among the changed decisions: the rules and reason codes that matched
	// in the candidate only (Added) or in the baseline only (Removed).
	RulesAdded, RulesRemoved     map[string]int
	ReasonsAdded, ReasonsRemoved map[string]int
	// Labelled is true when some record had a label.
	Labelled bool
	Elapsed  time.Duration
}

// SetReport is what one rule set decided.
type SetReport struct {
	Version string
	// Actions counts decisions by action (indexed by rules.Action).
	Actions [4]int
	// Attacks counts the decisive attack events by attack name, Legit the
	// decisive legitimate ones.
	Attacks map[string]*Tally
	Legit   Tally
	// LegitUsers are the users with decisive legitimate events, Disturbed
	// those of them stepped up or denied at least once.
	legitUsers, disturbed map[uint64]bool
}

// Tally counts decisions of a group of events.
type Tally struct{ Events, StepUp, Deny int }

// Caught is the number stepped up or denied.
func (t Tally) Caught() int { return t.StepUp + t.Deny }

func (t *Tally) add(a rules.Action) {
	t.Events++
	switch a {
	case rules.StepUp:
		t.StepUp++
	case rules.Deny:
		t.Deny++
	}
}

func newReport(base, cand *rules.Set) *Report {
	return &Report{Baseline: newSetReport(base), Candidate: newSetReport(cand),
		Transitions: map[[2]rules.Action]int{}, RulesAdded: map[string]int{},
		RulesRemoved: map[string]int{}, ReasonsAdded: map[string]int{},
		ReasonsRemoved: map[string]int{}}
}

func newSetReport(s *rules.Set) *SetReport {
	return &SetReport{Version: s.Version, Attacks: map[string]*Tally{},
		legitUsers: map[uint64]bool{}, disturbed: map[uint64]bool{}}
}

// add counts one record; it reports whether the action changed.
func (r *Report) add(rec *Record, base, cand *Outcome) bool {
	r.Records++
	if err := cmp.Or(rec.Err, base.err, cand.err); err != nil {
		r.Invalid++
		if len(r.InvalidShown) < maxShown {
			r.InvalidShown = append(r.InvalidShown, rec.Pos+": "+err.Error())
		}
		return false
	}
	r.Decided++
	r.Labelled = r.Labelled || rec.Label != nil
	user := userHash(&rec.Event)
	r.Baseline.add(rec.Label, user, base.Action)
	r.Candidate.add(rec.Label, user, cand.Action)
	if base.Action == cand.Action {
		if base.Score != cand.Score {
			r.ScoreOnly++
		}
		return false
	}
	r.Changed++
	r.Transitions[[2]rules.Action{base.Action, cand.Action}]++
	diff(base.Reasons, cand.Reasons, r.RulesAdded, r.ReasonsAdded)
	diff(cand.Reasons, base.Reasons, r.RulesRemoved, r.ReasonsRemoved)
	return true
}

// diff counts the rules and codes of b that a lacks.
func diff(a, b []engine.Reason, rulesOut, codesOut map[string]int) {
	for _, x := range b {
		if !slices.ContainsFunc(a, func(y engine.Reason) bool { return y.Rule == x.Rule }) {
			rulesOut[x.Rule]++
		}
		if !slices.ContainsFunc(a, func(y engine.Reason) bool { return y.Code == x.Code }) {
			codesOut[x.Code]++
		}
	}
}

func userHash(ev *engine.Event) uint64 {
	k := cmp.Or(ev.User.ID, strings.ToLower(ev.User.Email), strings.ToLower(ev.User.Login))
	if k == "" {
		return 0
	}
	return xxhash.Sum64String(ev.Tenant + "\x00" + k)
}

func (s *SetReport) add(l *Label, user uint64, a rules.Action) {
	s.Actions[a]++
	if l == nil || !l.Decisive {
		return
	}
	if l.Kind == "attack" {
		t := s.Attacks[l.Attack]
		if t == nil {
			t = &Tally{}
			s.Attacks[l.Attack] = t
		}
		t.add(a)
		return
	}
	s.Legit.add(a)
	if user != 0 {
		s.legitUsers[user] = true
		if a != rules.Allow {
			s.disturbed[user] = true
		}
	}
}

// LegitUsers is the number of users with decisive legitimate events, and
// Disturbed those stepped up or denied at least once.
func (s *SetReport) LegitUsers() int { return len(s.legitUsers) }

// Disturbed is the number of legitimate users stepped up or denied at least
// once.
func (s *SetReport) Disturbed() int { return len(s.disturbed) }

// Rate is the share of decided events that got action a.
func (r *Report) Rate(s *SetReport, a rules.Action) float64 {
	if r.Decided == 0 {
		return 0
	}
	return float64(s.Actions[a]) / float64(r.Decided)
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer, source string) {
	rate := float64(r.Records) / max(r.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "Replayed %s events from %s in %s (%.0f events/s, both sets at once)\n",
		count(r.Records), source, r.Elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "  baseline rules %s, candidate rules %s\n", r.Baseline.Version, r.Candidate.Version)
	if r.Invalid > 0 {
		fmt.Fprintf(w, "  %d records are not valid events and were skipped:\n", r.Invalid)
		for _, s := range r.InvalidShown {
			fmt.Fprintf(w, "    %s\n", s)
		}
	}
	if r.Decided == 0 {
		return
	}
	r.writeActions(w)
	r.writeChanges(w)
	if r.Labelled {
		r.writeLabels(w)
	}
}

func (r *Report) writeActions(w io.Writer) {
	var t table
	t.row("action", "baseline", "", "candidate", "", "delta")
	for _, a := range []rules.Action{rules.Allow, rules.StepUp, rules.Deny} {
		b, c := r.Rate(r.Baseline, a), r.Rate(r.Candidate, a)
		t.row(a.String(), count(r.Baseline.Actions[a]), pct(b), count(r.Candidate.Actions[a]),
			pct(c), fmt.Sprintf("%+.2f pp", 100*(c-b)))
	}
	fmt.Fprintln(w)
	t.print(w)
}

func (r *Report) writeChanges(w io.Writer) {
	fmt.Fprintf(w, "\nChanged decisions: %s of %s (%s)", count(r.Changed), count(r.Decided),
		pct(float64(r.Changed)/float64(r.Decided)))
	if r.ScoreOnly > 0 {
		fmt.Fprintf(w, "; %s more with the same action and another score", count(r.ScoreOnly))
	}
	fmt.Fprintln(w)
	if r.Changed == 0 {
		return
	}
	var t table
	keys := slices.SortedFunc(maps.Keys(r.Transitions), func(a, b [2]rules.Action) int {
		return cmp.Or(cmp.Compare(r.Transitions[b], r.Transitions[a]), cmp.Compare(a[0], b[0]),
			cmp.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		t.row(k[0].String()+" -> "+k[1].String(), count(r.Transitions[k]))
	}
	t.print(w)
	writeTop(w, "By rule (+ matched in the candidate only, - in the baseline only)",
		r.RulesAdded, r.RulesRemoved)
	writeTop(w, "By reason code", r.ReasonsAdded, r.ReasonsRemoved)
}

func writeTop(w io.Writer, title string, added, removed map[string]int) {
	fmt.Fprintf(w, "\n%s\n", title)
	var t table
	for _, k := range top(added, 10) {
		t.row("+"+k, count(added[k]))
	}
	for _, k := range top(removed, 10) {
		t.row("-"+k, count(removed[k]))
	}
	if len(t.rows) == 0 {
		t.row("(no rule difference: the thresholds or the counters changed)")
	}
	t.print(w)
}

func (r *Report) writeLabels(w io.Writer) {
	fmt.Fprintln(w, "\nLabelled events that matter (decisive)")
	var t table
	t.row("attack", "events", "caught: baseline", "candidate", "delta")
	names := slices.Sorted(maps.Keys(r.Baseline.Attacks))
	for _, n := range names {
		b, c := *r.Baseline.Attacks[n], *r.Candidate.Attacks[n]
		t.row(n, count(b.Events), share(b.Caught(), b.Events), share(c.Caught(), c.Events),
			fmt.Sprintf("%+d", c.Caught()-b.Caught()))
	}
	if len(names) == 0 {
		t.row("(none)")
	}
	t.print(w)
	b, c := r.Baseline, r.Candidate
	fmt.Fprintln(w)
	t = table{}
	t.row("legitimate", "events", "disturbed: baseline", "candidate", "delta")
	t.row("events", count(b.Legit.Events), share(b.Legit.Caught(), b.Legit.Events),
		share(c.Legit.Caught(), c.Legit.Events), fmt.Sprintf("%+d", c.Legit.Caught()-b.Legit.Caught()))
	t.row("users", count(b.LegitUsers()), share(b.Disturbed(), b.LegitUsers()),
		share(c.Disturbed(), c.LegitUsers()), fmt.Sprintf("%+d", c.Disturbed()-b.Disturbed()))
	t.print(w)
	fmt.Fprintln(w, "  (caught and disturbed: stepped up or denied)")
}

// table prints rows with the first column aligned left and the others
// right, as numbers read best.
type table struct{ rows [][]string }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// top returns the n keys with the highest counts, ties by name.
func top(m map[string]int, n int) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	return keys[:min(n, len(keys))]
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

func share(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%.1f%%)", count(n), 100*float64(n)/float64(of))
}

// count writes n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
