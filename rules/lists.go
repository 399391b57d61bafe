package rules

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
)

// List kinds. A list's kind decides how its values are parsed and how
// in_list compares: cidr lists match addresses inside their prefixes, domain
// lists match subdomains, the others match exactly.
const (
	KindCIDR    = "cidr"
	KindASN     = "asn"
	KindCountry = "country"
	KindDomain  = "domain"
	KindString  = "string"
)

var listKinds = []string{KindCIDR, KindASN, KindCountry, KindDomain, KindString}

// List is a named set of values that rules test with in_list(name, value).
type List struct {
	Name        string
	Kind        string
	Description string
	// Source is where the values came from: "inline" or the file's path.
	Source  string
	Entries int
	// File and Line are where the list is declared.
	File string
	Line int
	col  int

	cidrs   *bart.Lite
	asns    map[int]struct{}
	strings map[string]struct{}
}

// Contains reports whether v is in the list. A value of the wrong type, or
// an address that does not parse, is not in the list.
func (l *List) Contains(v any) bool {
	switch l.Kind {
	case KindCIDR:
		s, ok := v.(string)
		if !ok {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && l.cidrs.Lookup(a.Unmap())
	case KindASN:
		n, ok := toInt(v)
		if !ok {
			return false
		}
		_, found := l.asns[n]
		return found
	case KindDomain:
		s, ok := v.(string)
		if !ok {
			return false
		}
		for d := strings.ToLower(s); d != ""; {
			if _, found := l.strings[d]; found {
				return true
			}
			i := strings.IndexByte(d, '.')
			if i < 0 {
				break
			}
			d = d[i+1:]
		}
		return false
	default:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if l.Kind == KindCountry {
			s = strings.ToUpper(s)
		}
		_, found := l.strings[s]
		return found
	}
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case float64:
		return int(n), float64(int(n)) == n
	case string:
		i, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(n), "AS"))
		return i, err == nil
	}
	return 0, false
}

// buildList parses a list's values, inline and from its file. Files are
// read from fsys relative to the rule file's folder.
func buildList(fsys fs.FS, dir string, s *listSpec, file string) (*List, Errors) {
	var errs Errors
	fail := func(p pos, format string, args ...any) {
		errs = append(errs, &Error{File: file, Line: p.line, Col: p.col, Kind: "list",
			Rule: s.Name, Msg: fmt.Sprintf(format, args...)})
	}
	if !contains(listKinds, s.Kind) {
		fail(s.at, "kind %q is not one of %s", s.Kind, strings.Join(listKinds, ", "))
		return nil, errs
	}
	l := &List{Name: s.Name, Kind: s.Kind, Description: s.Description, Source: "inline",
		File: file, Line: s.at.line, col: s.at.col}
	l.init()
	for i, v := range s.Values {
		if err := l.add(v); err != nil {
			fail(s.valuesAt[i], "%v", err)
		}
	}
	if s.File != "" {
		p := path.Join(dir, s.File)
		l.Source = p
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			fail(s.at, "read list file: %v", err)
			return nil, errs
		}
		errs = append(errs, l.addFile(p, data, s.Name)...)
	}
	if len(s.Values) == 0 && s.File == "" && !s.bad["values"] && !s.bad["file"] {
		fail(s.at, "a list needs values or a file")
	}
	return l, errs
}

func (l *List) init() {
	switch l.Kind {
	case KindCIDR:
		l.cidrs = new(bart.Lite)
	case KindASN:
		l.asns = map[int]struct{}{}
	default:
		l.strings = map[string]struct{}{}
	}
}

// addFile adds one value per line; blank lines and # comments are skipped.
func (l *List) addFile(name string, data []byte, listName string) Errors {
	var errs Errors
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if err := l.add(line); err != nil {
			errs = append(errs, &Error{File: name, Line: n, Col: 1, Kind: "list",
				Rule: listName, Msg: err.Error()})
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &Error{File: name, Kind: "list", Rule: listName, Msg: err.Error()})
	}
	return errs
}

func (l *List) add(v string) error {
	v = strings.TrimSpace(v)
	switch l.Kind {
	case KindCIDR:
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		l.cidrs.Insert(p)
	case KindASN:
		n, ok := toInt(v)
		if !ok || n <= 0 || n > 1<<32-1 {
			return fmt.Errorf("%q is not an AS number", v)
		}
		l.asns[n] = struct{}{}
	case KindCountry:
		if problem := countryProblem(v); problem != "" {
			return fmt.Errorf("%q is not a country code: %s", v, problem)
		}
		l.strings[strings.ToUpper(v)] = struct{}{}
	case KindDomain:
		d := strings.TrimPrefix(strings.ToLower(v), "*.")
		if d == "" || strings.ContainsAny(d, " @/") {
			return fmt.Errorf("%q is not a domain", v)
		}
		l.strings[d] = struct{}{}
	default:
		l.strings[v] = struct{}{}
	}
	l.Entries++
	return nil
}

// parsePrefix accepts a CIDR or a single address; host bits are masked off.
func parsePrefix(v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", v)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", v)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func isCountryCode(v string) bool {
	if len(v) != 2 {
		return false
	}
	for _, c := range strings.ToUpper(v) {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// recordingFS keeps a copy of every file read through it, for the Bundle.
type recordingFS struct {
	fsys fs.FS
	read map[string][]byte
}

func (r *recordingFS) Open(name string) (fs.File, error) { return r.fsys.Open(name) }

func (r *recordingFS) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(r.fsys, name)
	if err == nil {
		r.read[name] = data
	}
	return data, err
}

// bundleFS serves a Bundle's files; only ReadFile is needed.
type bundleFS map[string][]byte

func (b bundleFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
}

func (b bundleFS) ReadFile(name string) ([]byte, error) {
	data, ok := b[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return data, nil
}
