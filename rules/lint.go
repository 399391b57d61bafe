package rules

import (
	"sort"
	"time"
)

// lint finds what loads but is likely a mistake: lists and counters that no
// expression reads, and rules whose expiry has passed.
func lint(s *Set, used map[string]bool) Errors {
	var out Errors
	names := make([]string, 0, len(s.Lists))
	for n := range s.Lists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !used["list:"+n] {
			l := s.Lists[n]
			out = append(out, &Error{File: l.File, Line: l.Line, Col: 1, Kind: "list", Rule: n,
				Warn: true, Msg: "list is not used by any rule or counter"})
		}
	}
	for _, k := range s.Counters {
		if !used["counter:"+k.Name] {
			out = append(out, &Error{File: k.File, Line: k.Line, Col: 1, Kind: "counter",
				Rule: k.Name, Warn: true,
				Msg: "counter is not read by any rule"})
		}
	}
	now := time.Now()
	for _, r := range s.Rules {
		if !r.Expires.IsZero() && !now.Before(r.Expires) {
			out = append(out, &Error{File: r.File, Line: r.Line, Col: 1, Rule: r.Name, Warn: true,
				Msg: "rule expired at " + r.Expires.Format(time.RFC3339) + "; it no longer applies"})
		}
	}
	return out
}
