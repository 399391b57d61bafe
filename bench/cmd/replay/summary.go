package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/verdictrisk/verdict/bench/sim"
)

// Actions as the decision API spells them.
const (
	actionAllow  = "allow"
	actionStepUp = "step_up"
	actionDeny   = "deny"
)

// maxShownErrors is how many error answers the summary quotes.
const maxShownErrors = 3

// tally counts the decisions of a group of events.
type tally struct{ events, allow, stepUp, deny int }

func (t *tally) add(action string) {
	t.events++
	switch action {
	case actionAllow:
		t.allow++
	case actionStepUp:
		t.stepUp++
	case actionDeny:
		t.deny++
	}
}

// summary is what a replay found.
type summary struct {
	cfg     config
	elapsed time.Duration
	total   int
	// decided counts 200 answers, repeats those among them that the
	// server answered from its dedupe memory.
	decided, repeats       int
	challenges             int // challenge results reported after step-ups
	rejected, serverErrors int
	notSent                int
	actions, reasons       map[string]int
	rtt                    []time.Duration
	tookUS                 []float64
	attacks                map[string]*tally // decisive attack events by attack
	legit                  tally             // decisive legitimate events
	legitReasons           map[string]int    // reasons of legit events not allowed
	labelled               bool
	shownErrors            []string
}

func summarize(items []item, results []result, elapsed time.Duration, c config) *summary {
	s := &summary{cfg: c, elapsed: elapsed, total: len(items), actions: map[string]int{},
		reasons: map[string]int{}, attacks: map[string]*tally{}, legitReasons: map[string]int{}}
	for i, res := range results {
		s.add(&items[i], &res)
	}
	return s
}

func (s *summary) add(it *item, res *result) {
	switch {
	case res.status == 0:
		s.notSent++
		return
	case res.status >= 500:
		s.serverErrors++
		s.quote(it, res)
		return
	case res.status != 200:
		s.rejected++
		s.quote(it, res)
		return
	}
	s.decided++
	if res.challenged {
		s.challenges++
	}
	s.rtt = append(s.rtt, res.rtt)
	s.tookUS = append(s.tookUS, res.d.TookUS)
	if res.d.Repeated {
		s.repeats++
	}
	s.actions[res.d.Action]++
	for _, r := range res.d.Reasons {
		s.reasons[r.Code]++
	}
	s.labelled = s.labelled || it.labelled
	if !it.label.Decisive {
		return
	}
	if it.label.Kind == sim.KindAttack {
		t := s.attacks[it.label.Attack]
		if t == nil {
			t = &tally{}
			s.attacks[it.label.Attack] = t
		}
		t.add(res.d.Action)
		return
	}
	s.legit.add(res.d.Action)
	if res.d.Action != actionAllow {
		for _, r := range res.d.Reasons {
			s.legitReasons[r.Code]++
		}
	}
}

func (s *summary) quote(it *item, res *result) {
	if len(s.shownErrors) < maxShownErrors {
		s.shownErrors = append(s.shownErrors, fmt.Sprintf("line %d: HTTP %d: %s", it.line,
			res.status, strings.TrimSpace(string(res.body))))
	}
}

func (s *summary) print(w io.Writer) {
	rate := float64(s.decided) / max(s.elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "Replayed %d of %d events from %s to %s in %s "+
		"(%.0f decisions/s, concurrency %d)\n", s.total-s.notSent, s.total, s.cfg.in, s.cfg.url, s.elapsed.Round(time.Millisecond),
		rate, s.cfg.concurrency)
	fmt.Fprintf(w, "  decided %d, rejected (4xx) %d, server errors (5xx) %d, not sent %d\n",
		s.decided, s.rejected, s.serverErrors, s.notSent)
	if s.challenges > 0 {
		fmt.Fprintf(w, "  %d step-ups were answered as the auth server would: a challenge passed "+
			"by the customer or failed by the attacker\n", s.challenges)
	}
	if s.repeats > 0 {
		fmt.Fprintf(w, "  %d answers were repeats: the server had seen these event ids and "+
			"answered with its first decision\n", s.repeats)
	}
	for _, e := range s.shownErrors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if s.decided == 0 {
		return
	}
	s.printDecisions(w)
	s.printLatency(w)
	if s.labelled {
		s.printLabels(w)
	}
}

func (s *summary) printDecisions(w io.Writer) {
	fmt.Fprintln(w, "\nDecisions")
	var t table
	for _, a := range []string{actionAllow, actionStepUp, actionDeny} {
		t.row(a, strconv.Itoa(s.actions[a]), pct(s.actions[a], s.decided))
	}
	t.print(w)
	if len(s.reasons) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTop reason codes (events the rule matched)")
	t = table{}
	for _, code := range top(s.reasons, 10) {
		t.row(code, strconv.Itoa(s.reasons[code]))
	}
	t.print(w)
}

func (s *summary) printLatency(w io.Writer) {
	rtt := make([]float64, len(s.rtt))
	for i, d := range s.rtt {
		rtt[i] = float64(d.Nanoseconds()) / 1e3
	}
	fmt.Fprintln(w, "\nLatency")
	var t table
	t.row("", "p50", "p99")
	t.row("round trip (client)", us(quantile(rtt, 0.5)), us(quantile(rtt, 0.99)))
	t.row("engine (took_us)", us(quantile(s.tookUS, 0.5)), us(quantile(s.tookUS, 0.99)))
	t.print(w)
}

func (s *summary) printLabels(w io.Writer) {
	fmt.Fprintln(w, "\nAttack events that matter (decisive)")
	var t table
	t.row("attack", "events", "allowed", "stepped up", "denied", "stopped")
	names := slices.Sorted(maps.Keys(s.attacks))
	for _, n := range names {
		a := s.attacks[n]
		t.row(n, strconv.Itoa(a.events), strconv.Itoa(a.allow), strconv.Itoa(a.stepUp),
			strconv.Itoa(a.deny), pct(a.stepUp+a.deny, a.events))
	}
	if len(names) == 0 {
		t.row("(none)")
	}
	t.print(w)

	fmt.Fprintln(w, "\nLegitimate events that matter (decisive)")
	l := s.legit
	t = table{}
	t.row("", "events", "allowed", "stepped up", "denied")
	t.row("count", strconv.Itoa(l.events), strconv.Itoa(l.allow), strconv.Itoa(l.stepUp),
		strconv.Itoa(l.deny))
	t.row("share", "", pct(l.allow, l.events), pct(l.stepUp, l.events), pct(l.deny, l.events))
	t.print(w)
	if len(s.legitReasons) > 0 {
		var parts []string
		for _, code := range top(s.legitReasons, 5) {
			parts = append(parts, fmt.Sprintf("%s %d", code, s.legitReasons[code]))
		}
		fmt.Fprintf(w, "  reasons on legitimate events stepped up or denied: %s\n",
			strings.Join(parts, ", "))
	}
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
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
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

// quantile returns the q-quantile of xs (nearest rank), NaN when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// us formats microseconds for people: "85µs", "1.42ms".
func us(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v < 1000:
		return fmt.Sprintf("%.0fµs", v)
	}
	return fmt.Sprintf("%.2fms", v/1000)
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
