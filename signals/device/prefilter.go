package device

import (
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ua-parser/uap-go/uaparser"
)

// prefilter runs uap-go's ordered pattern lists, skipping the patterns that
// cannot match. uap-go tries some 1200 regular expressions in turn, each a
// full scan of the user agent; a Chrome user agent only matches near the end
// of the browser list, so a cold parse cost about 1.5 ms. Every pattern is
// analysed once for literals that any match must contain ("Edg/", one of
// "(?i)bot|spider|..."); one pass over the user agent finds which literals
// occur, and a pattern missing one of its literal sets is skipped. About one
// pattern in a hundred still runs, which brings a cold parse to about 0.15
// ms. The first matching pattern still wins, so the results are uap-go's.
type prefilter struct {
	uap         *uaparser.Parser
	ua, os, dev []need // one per pattern, in uap-go's order
	// exact holds the case-sensitive literals, folded the lower-case
	// literals of case-insensitive patterns.
	exact, folded *litIndex
}

// need lists what every match of a pattern contains: one literal of each
// set. A pattern without sets is always tried.
type need []idSet

// idSet is a litSet with its literals as ids in the prefilter's indexes.
type idSet struct {
	ids  []int32
	fold bool
}

// litSet is a set of literals one of which a match contains.
type litSet struct {
	lits []string
	fold bool // lits are lower case, to look for in the lower-case input
}

// result holds uap-go's three answers for one user agent.
type result struct {
	ua  uaparser.UserAgent
	os  uaparser.Os
	dev uaparser.Device
}

func newPrefilter(p *uaparser.Parser) *prefilter {
	f := &prefilter{uap: p, exact: newLitIndex(), folded: newLitIndex()}
	for _, pat := range p.UA {
		f.ua = append(f.ua, f.needOf(pat.Reg))
	}
	for _, pat := range p.OS {
		f.os = append(f.os, f.needOf(pat.Reg))
	}
	for _, pat := range p.Device {
		f.dev = append(f.dev, f.needOf(pat.Reg))
	}
	return f
}

// found records which indexed literals occur in one user agent.
type found struct {
	exact, folded bitset
	ascii         bool
}

// scan finds the literals of s; lower is s in lower case when s is ASCII.
func (f *prefilter) scan(s, lower string, ascii bool) found {
	fd := found{exact: newBitset(f.exact.len()), ascii: ascii}
	f.exact.scan(s, func(id int32) bool { fd.exact.set(id); return true })
	if ascii {
		fd.folded = newBitset(f.folded.len())
		f.folded.scan(lower, func(id int32) bool { fd.folded.set(id); return true })
	}
	return fd
}

// parse returns what uap-go's Parse would return for s.
func (f *prefilter) parse(s string) result {
	var r result
	// Case folding also matches a few non-ASCII runes (U+212A KELVIN SIGN
	// for 'k'); lower-casing does not map them, so the case-insensitive
	// literals are only trusted on ASCII input.
	lower, ascii := "", isASCII(s)
	if ascii {
		lower = strings.ToLower(s)
	}
	fd := f.scan(s, lower, ascii)
	for i, pat := range f.uap.UA {
		if f.ua[i].may(fd) {
			if pat.Match(s, &r.ua); r.ua.Family != "" {
				break
			}
		}
	}
	for i, pat := range f.uap.OS {
		if f.os[i].may(fd) {
			if pat.Match(s, &r.os); r.os.Family != "" {
				break
			}
		}
	}
	for i, pat := range f.uap.Device {
		if f.dev[i].may(fd) {
			if pat.Match(s, &r.dev); r.dev.Family != "" {
				break
			}
		}
	}
	// uap-go's name for "nothing matched".
	for _, fam := range []*string{&r.ua.Family, &r.os.Family, &r.dev.Family} {
		if *fam == "" {
			*fam = "Other"
		}
	}
	return r
}

// may reports whether the pattern can match the user agent whose literals
// are fd.
func (n need) may(fd found) bool {
	for _, set := range n {
		bits := fd.exact
		if set.fold {
			if !fd.ascii {
				continue
			}
			bits = fd.folded
		}
		if !slices.ContainsFunc(set.ids, bits.has) {
			return false
		}
	}
	return true
}

// maxLits bounds a literal set: testing a few hundred substrings is still far
// cheaper than one run of the large alternations uap-core uses for bots.
const maxLits = 256

// needOf returns what every match of re contains, with its literals filed
// in f's indexes.
func (f *prefilter) needOf(re *regexp.Regexp) need {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	var n need
	for _, set := range required(tree) {
		index := f.exact
		if set.fold {
			if !lowerASCII(set.lits) {
				continue
			}
			index = f.folded
		}
		ids := make([]int32, len(set.lits))
		for i, l := range set.lits {
			ids[i] = index.add(l)
		}
		n = append(n, idSet{ids, set.fold})
	}
	return n
}

// lowerASCII lower-cases lits in place, or reports false if one is not
// ASCII (case folding of non-ASCII runes is not lower-casing).
func lowerASCII(lits []string) bool {
	for i, l := range lits {
		if !isASCII(l) {
			return false
		}
		lits[i] = strings.ToLower(l)
	}
	return true
}

// required walks the parts of re that every match passes through and returns
// the literal sets found there.
func required(re *syntax.Regexp) []litSet {
	if lits, fold, ok := exact(re); ok {
		return usable(nil, litSet{lits, fold})
	}
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpAlternate:
		return requiredAlternate(re.Sub)
	case syntax.OpConcat:
		return requiredConcat(re.Sub)
	}
	return nil
}

// requiredAlternate unites one set from each branch; a branch without any
// makes the whole alternation unfilterable.
func requiredAlternate(subs []*syntax.Regexp) []litSet {
	var all litSet
	for _, sub := range subs {
		sets := required(sub)
		if len(sets) == 0 {
			return nil
		}
		best := sets[0]
		for _, s := range sets[1:] {
			if m, b := minLen(s.lits), minLen(best.lits); m > b || m == b && len(s.lits) < len(best.lits) {
				best = s
			}
		}
		if len(all.lits)+len(best.lits) > maxLits {
			return nil
		}
		all.lits, all.fold = append(all.lits, best.lits...), all.fold || best.fold
	}
	return []litSet{all}
}

// requiredConcat collects the sets of a concatenation's members, multiplying
// out runs of members that match finite sets ("Edg" "/" -> "Edg/").
func requiredConcat(subs []*syntax.Regexp) []litSet {
	var sets []litSet
	var run litSet
	inRun := false
	for _, sub := range subs {
		lits, fold, ok := exact(sub)
		switch {
		case ok && inRun && len(run.lits)*len(lits) <= maxLits:
			run = litSet{product(run.lits, lits), run.fold || fold}
		case ok:
			if inRun {
				sets = usable(sets, run)
			}
			run, inRun = litSet{lits, fold}, true
		default:
			if inRun {
				sets = usable(sets, run)
			}
			inRun = false
			sets = append(sets, required(sub)...)
		}
	}
	if inRun {
		sets = usable(sets, run)
	}
	return sets
}

// exact returns the finite set of strings re matches, when it is small.
func exact(re *syntax.Regexp) (lits []string, fold, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, re.Flags&syntax.FoldCase != 0, true
	case syntax.OpEmptyMatch:
		return []string{""}, false, true
	case syntax.OpCapture:
		return exact(re.Sub[0])
	case syntax.OpQuest:
		if lits, fold, ok = exact(re.Sub[0]); ok && len(lits) < maxLits {
			return append(lits, ""), fold, true
		}
	case syntax.OpCharClass:
		return classLits(re.Rune)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			l, f, ok := exact(sub)
			if !ok || len(lits)+len(l) > maxLits {
				return nil, false, false
			}
			lits, fold = append(lits, l...), fold || f
		}
		return lits, fold, true
	case syntax.OpConcat:
		lits = []string{""}
		for _, sub := range re.Sub {
			l, f, ok := exact(sub)
			if !ok || len(lits)*len(l) > maxLits {
				return nil, false, false
			}
			lits, fold = product(lits, l), fold || f
		}
		return lits, fold, true
	}
	return nil, false, false
}

// classLits expands a character class of at most 16 runes.
func classLits(ranges []rune) ([]string, bool, bool) {
	var lits []string
	for i := 0; i+1 < len(ranges); i += 2 {
		if len(lits)+int(ranges[i+1]-ranges[i]) >= 16 {
			return nil, false, false
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			lits = append(lits, string(r))
		}
	}
	return lits, false, len(lits) > 0
}

func product(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// usable appends set to sets unless it contains the empty string, with
// which it would filter nothing.
func usable(sets []litSet, set litSet) []litSet {
	for _, l := range set.lits {
		if l == "" {
			return sets
		}
	}
	return append(sets, set)
}

func minLen(lits []string) int {
	m := len(lits[0])
	for _, l := range lits[1:] {
		m = min(m, len(l))
	}
	return m
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
