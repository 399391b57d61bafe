// Package lists reads the network lists that feed the ip.hosting, ip.vpn,
// ip.tor and ip.lists signals: CIDR lists (datacenter and VPN ranges, Tor
// exit addresses, blocklists, allowlists) held in a prefix trie, and lists
// of autonomous system numbers. feeds/refdata fetches the list files, calls
// Parse on every refresh and swaps the result in; the engine asks each List
// about the client address of every event.
//
// A List is immutable once parsed and safe for concurrent use. Lookups
// allocate nothing: a CIDR lookup walks a gaissmai/bart trie (a few tens of
// nanoseconds with tens of thousands of prefixes), an ASN lookup is one map
// probe.
//
// # Formats
//
// One entry a line. Everything after "#" or ";" is a comment, blank lines are
// skipped, and only the first field of a line counts (whitespace or a comma
// ends it, and quotes around it are dropped), so the X4BNet and FireHOL files, the Tor Project's bulk exit
// list, Spamhaus DROP ("1.2.3.0/24 ; SBL123") and CSV files such as
// bad-asn-list ("ASN,Entity") all read as they are published.
//
//   - CIDR lists take CIDRs and single addresses, IPv4 and IPv6. Host bits
//     are masked off (1.2.3.4/24 is 1.2.3.0/24) and counted as a warning;
//     nested and repeated prefixes are allowed, the trie answers for any of
//     them. IPv4-mapped IPv6 entries are stored as IPv4.
//   - ASN lists take 64512, AS64512 or as64512. A first line whose first
//     field is a word (a CSV header such as "ASN,Entity") is skipped.
//
// A line that is neither is a Problem naming its source and line, and is
// skipped. So is, in every role, a prefix wider than an IPv4 /8 or an IPv6
// /16 (MinBits4, MinBits6): a 0.0.0.0/0 or ::/0 typed by mistake would
// otherwise put the whole Internet on a hosting or VPN list. In a
// blocklist, an entry that overlaps a private, CGNAT, loopback or reserved
// range is skipped with a warning: a bogon section in a published list must
// not block the company's own proxies. Parse fails (and the caller keeps
// its last good copy) when a source is empty, when every line is junk, or
// when more than three lines and more than a tenth of them are junk, which
// is what an HTML error page served in place of a list looks like.
package lists

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/verdictrisk/verdict/signals/network"
)

// Type is what a list holds.
type Type string

// List types.
const (
	CIDR Type = "cidr" // addresses and prefixes
	ASN  Type = "asn"  // autonomous system numbers
)

// Role says which signal a list feeds besides ip.lists.
type Role string

// List roles.
const (
	// Hosting lists datacenter and hosting networks: ip.hosting.
	Hosting Role = "hosting"
	// VPN lists VPN providers' exit networks: ip.vpn.
	VPN Role = "vpn"
	// Tor lists Tor exit relays: ip.tor.
	Tor Role = "tor"
	// Block lists known abusive networks: ip.blocklisted. Entries that
	// touch non-public space are refused.
	Block Role = "block"
	// Allow lists networks to trust (offices, partners): ip.allowlisted.
	Allow Role = "allow"
	// Label only names the list in ip.lists.
	Label Role = "label"
)

// Roles are the valid roles, for configuration errors.
var Roles = []Role{Hosting, VPN, Tor, Block, Allow, Label}

// List is one parsed list.
type List struct {
	Name string
	Type Type
	Role Role

	cidrs   *bart.Lite
	asns    map[uint32]struct{}
	entries int
}

// ContainsAddr reports whether a is inside one of the list's prefixes. It
// is false for an ASN list.
func (l *List) ContainsAddr(a netip.Addr) bool {
	return l != nil && l.cidrs != nil && l.cidrs.Lookup(a.Unmap())
}

// ContainsASN reports whether n is on the list. It is false for a CIDR list
// and for 0 (unknown).
func (l *List) ContainsASN(n uint32) bool {
	if l == nil || l.asns == nil || n == 0 {
		return false
	}
	_, ok := l.asns[n]
	return ok
}

// Len returns the number of distinct entries: prefixes for a CIDR list,
// numbers for an ASN list.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return l.entries
}

// Source is one file or download of a list.
type Source struct {
	// Name is the path or URL, for problems.
	Name string
	Data []byte
}

// Problem is a line that was skipped, or a warning about one that was kept.
type Problem struct {
	Source string
	Line   int
	// Msg says what is wrong, quoting at most 64 bytes of the line.
	Msg string
	// Warning is true when the line was used anyway (host bits masked) or
	// deliberately dropped (a private range in a blocklist), false for junk.
	Warning bool
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s", p.Source, p.Line, p.Msg)
}

// The widest prefixes a CIDR list takes; a wider entry is junk. An IPv4 /8
// is the largest block ever assigned to one holder, and the widest entry of
// the published hosting lists is a /9; in IPv6 registries allocate /12s to
// one another and at most about a /19 to one network, and the widest
// hosting entry is a /24, so a /16 leaves room.
const (
	MinBits4 = 8
	MinBits6 = 16
)

// MaxProblems bounds the problems Parse returns; Result.Problems counts all.
const MaxProblems = 50

// Result says how a parse went.
type Result struct {
	// Lines is the number of entry lines read (comments and blanks aside).
	Lines int
	// Junk is the number of lines skipped because they do not parse.
	Junk int
	// Warnings counts masked host bits and refused blocklist entries.
	Warnings int
	// Problems holds the first MaxProblems problems, in order.
	Problems []Problem
}

// ErrTooMuchJunk is wrapped by Parse when a source is more junk than list.
var ErrTooMuchJunk = errors.New("more than a tenth of the lines are not list entries")

// ErrEmpty is wrapped by Parse when a source has no bytes at all, which is
// what a file caught between truncation and rewrite looks like.
var ErrEmpty = errors.New("source is empty")

// Parse builds a list from its sources. Junk lines are skipped and reported
// in the Result; the error is for a source that cannot be a list (see the
// package doc), and then no List is returned.
func Parse(name string, t Type, role Role, sources []Source) (*List, Result, error) {
	l := &List{Name: name, Type: t, Role: role}
	switch t {
	case CIDR:
		l.cidrs = new(bart.Lite)
	case ASN:
		l.asns = map[uint32]struct{}{}
	default:
		return nil, Result{}, fmt.Errorf("list %s: unknown type %q", name, t)
	}
	var res Result
	for _, src := range sources {
		if len(src.Data) == 0 {
			return nil, res, fmt.Errorf("list %s: %s: %w", name, src.Name, ErrEmpty)
		}
		p := parser{list: l, res: &res, src: src.Name}
		lines, junk := p.read(src.Data)
		if junk > 0 && (junk == lines || junk > 3 && junk*10 > lines) {
			return nil, res, fmt.Errorf("list %s: %s: %d of %d lines: %w", name, src.Name,
				junk, lines, ErrTooMuchJunk)
		}
	}
	if l.cidrs != nil {
		l.entries = l.cidrs.Size()
	} else {
		l.entries = len(l.asns)
	}
	return l, res, nil
}

type parser struct {
	list *List
	res  *Result
	src  string
}

// read parses one source and returns its entry and junk line counts.
func (p *parser) read(data []byte) (lines, junk int) {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		field := firstField(line)
		if field == "" {
			continue
		}
		lines++
		if n == 1 && p.list.Type == ASN && isWord(field) {
			lines-- // a CSV header
			continue
		}
		if err := p.add(field, n); err != nil {
			junk++
			p.problem(n, err.Error(), false)
		}
	}
	p.res.Lines += lines
	p.res.Junk += junk
	return lines, junk
}

// firstField returns the first field of a line with comments and quotes
// removed.
func firstField(line []byte) string {
	if i := bytes.IndexAny(line, "#;"); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if i := bytes.IndexAny(line, " \t,"); i >= 0 {
		line = line[:i]
	}
	return string(bytes.Trim(line, `"'`))
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func (p *parser) problem(line int, msg string, warning bool) {
	if warning {
		p.res.Warnings++
	}
	if len(p.res.Problems) < MaxProblems {
		p.res.Problems = append(p.res.Problems, Problem{Source: p.src, Line: line, Msg: msg,
			Warning: warning})
	}
}

func (p *parser) add(field string, line int) error {
	if p.list.Type == ASN {
		n, err := parseASN(field)
		if err != nil {
			return err
		}
		p.list.asns[n] = struct{}{}
		return nil
	}
	pfx, masked, err := parsePrefix(field)
	if err != nil {
		return err
	}
	if limit := minBits(pfx.Addr()); pfx.Bits() < limit {
		return fmt.Errorf("%q is wider than /%d, the widest entry a list takes", clip(field), limit)
	}
	if p.list.Role == Block {
		if k := network.PrefixKind(pfx); k != network.Public {
			p.problem(line, fmt.Sprintf("%s overlaps %s address space; ignored in a blocklist",
				pfx, k), true)
			return nil
		}
	}
	if masked {
		p.problem(line, fmt.Sprintf("%q has host bits set; used as %s", clip(field), pfx), true)
	}
	p.list.cidrs.Insert(pfx)
	return nil
}

func minBits(a netip.Addr) int {
	if a.Is4() {
		return MinBits4
	}
	return MinBits6
}

func parseASN(s string) (uint32, error) {
	digits := s
	if len(s) > 2 && (s[0]|0x20) == 'a' && (s[1]|0x20) == 's' {
		digits = s[2:]
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not an AS number", clip(s))
	}
	return uint32(n), nil
}

// parsePrefix reads a CIDR or a single address. masked reports host bits
// that were set and cleared.
func parsePrefix(s string) (p netip.Prefix, masked bool, err error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false, fmt.Errorf("%q is not an address or CIDR", clip(s))
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), false, nil
	}
	p, err = netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false, fmt.Errorf("%q is not an address or CIDR", clip(s))
	}
	if p.Addr().Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, false, fmt.Errorf("%q mixes IPv4-mapped and IPv6 space", clip(s))
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	m := p.Masked()
	return m, m != p, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
