// Package email computes the e-mail signals of an event: the canonical form
// of the address that the engine uses as the user's identity when there is no
// user id, its domain, a confusable skeleton of its local part, and whether
// the domain belongs to a disposable-mail provider.
//
// The engine calls Normalize for every event that carries an address and
// Domains.Contains on the result's Domain; the disposable list comes from a
// feed file (see LoadDomains) that feeds/ reloads when it changes.
package email

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Address is a parsed and normalised e-mail address.
type Address struct {
	// Normalized is the canonical form used as identity: trimmed, lower
	// case, Unicode NFC, domain in punycode, and with the dots and
	// sub-address tags that the provider ignores removed (see providers).
	Normalized string
	// Local and Domain are the two halves of Normalized; Domain is punycode.
	Local, Domain string
	// Skeleton is Local with look-alike characters folded to the Latin
	// letters they imitate (see skeleton), so that "pаypal" with a Cyrillic
	// "а" has the skeleton "paypal". It equals Local for ASCII addresses.
	Skeleton string
}

// ErrInvalid is wrapped by every error of Normalize. The messages name the
// problem but never contain the address, so they can be logged.
var ErrInvalid = errors.New("invalid e-mail address")

// addrError is an ErrInvalid with its reason.
type addrError struct{ reason string }

func invalid(reason string) error { return &addrError{reason} }

func (e *addrError) Error() string { return ErrInvalid.Error() + ": " + e.reason }
func (e *addrError) Unwrap() error { return ErrInvalid }

// RFC 5321 limits: 64 bytes of local part, 254 bytes of address in a path.
const (
	maxLocal   = 64
	maxAddress = 254
)

// Normalize parses and normalises an address.
//
// Accepted: a dot-atom local part (RFC 5322) that may hold UTF-8 letters,
// marks and digits (RFC 6531), "@", and a domain name of at least two labels,
// in ASCII or Unicode. Rejected, with an error saying why: no or several "@",
// empty parts, quoted local parts ("john doe"@example.com: legal but never
// offered by consumer providers, and a way to spell one mailbox many ways),
// domain literals (user@[192.0.2.1]), invalid or over-long labels, and
// invalid punycode.
func Normalize(addr string) (Address, error) {
	s := strings.TrimSpace(addr)
	if s == "" {
		return Address{}, invalid("empty")
	}
	if s[0] == '"' {
		return Address{}, invalid("quoted local part not supported")
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return Address{}, invalid("no @")
	}
	if strings.IndexByte(s[at+1:], '@') >= 0 {
		return Address{}, invalid("more than one @")
	}
	if isASCII(s) {
		// One copy for the whole address; the halves then lower-case to
		// themselves without copying.
		s = strings.ToLower(s)
	}
	local, err := parseLocal(s[:at])
	if err != nil {
		return Address{}, err
	}
	domain, err := normDomain(s[at+1:])
	if err != nil {
		return Address{}, invalid("invalid domain: " + err.Error())
	}
	l, domain, err := applyProvider(local, domain)
	if err != nil {
		return Address{}, err
	}
	norm := s
	if len(l)+1+len(domain) != len(s) || s[:len(l)] != l || s[len(l)+1:] != domain {
		norm = l + "@" + domain
	}
	if len(norm) > maxAddress {
		return Address{}, invalid("longer than 254 bytes")
	}
	a := Address{Normalized: norm, Local: norm[:len(l)], Domain: norm[len(l)+1:]}
	a.Skeleton = skeleton(a.Local)
	return a, nil
}

// parseLocal validates a local part and returns it lower-cased and in NFC.
func parseLocal(local string) (string, error) {
	switch {
	case local == "":
		return "", invalid("empty local part")
	case len(local) > maxLocal:
		return "", invalid("local part longer than 64 bytes")
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "", invalid("local part has a leading, trailing or double dot")
	case !utf8.ValidString(local):
		return "", invalid("local part is not valid UTF-8")
	}
	ascii := true
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf:
			if !isAtext(byte(r)) {
				return "", invalid("invalid character in local part")
			}
		case unicode.In(r, unicode.L, unicode.M, unicode.N):
			ascii = false
		default:
			// Spaces, controls, symbols and invisible format characters
			// (zero-width joiners) have no place in a mailbox name and
			// would let one address be spelt many ways.
			return "", invalid("invalid character in local part")
		}
	}
	local = strings.ToLower(local)
	if !ascii {
		local = norm.NFC.String(local)
	}
	return local, nil
}

// isAtext reports whether c may appear in a dot-atom (RFC 5322 atext or dot).
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
}

// profile maps and validates Unicode domains as a resolver would (UTS #46
// non-transitional, so "ß" stays "ß"), with the DNS length limits and the
// Bidi rule.
var profile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(),
	idna.VerifyDNSLength(true))

// normDomain returns the domain in lower-case punycode, without a final dot.
// Its errors name the problem without the domain.
func normDomain(domain string) (string, error) {
	domain = strings.TrimSuffix(domain, ".")
	switch {
	case domain == "":
		return "", errors.New("empty")
	case domain[0] == '[':
		return "", errors.New("address literals not supported")
	}
	if plainDomain(domain) {
		if err := checkLabels(domain); err != nil {
			return "", err
		}
		return strings.ToLower(domain), nil
	}
	a, err := profile.ToASCII(domain)
	if err != nil {
		// The idna error quotes the label; keep it out of the message.
		return "", errors.New("not a valid internationalised domain name")
	}
	return a, checkLabels(a)
}

// plainDomain reports whether domain is ASCII letters, digits, hyphens and
// dots without any punycode label, which checkLabels alone can validate
// without the cost of the IDNA tables.
func plainDomain(domain string) bool {
	for i := 0; i < len(domain); i++ {
		if !isLDH(domain[i]) && domain[i] != '.' {
			return false
		}
	}
	for rest := domain; rest != ""; {
		label, tail, _ := strings.Cut(rest, ".")
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return false
		}
		rest = tail
	}
	return true
}

func isLDH(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}

// checkLabels validates an ASCII domain: 1–63 byte labels of letters, digits
// and inner hyphens, no "--" in third and fourth place except in punycode, at
// least two labels, a top-level label that is not all digits, 253 bytes.
func checkLabels(domain string) error {
	if len(domain) > 253 {
		return errors.New("longer than 253 bytes")
	}
	labels, numeric := 0, false
	for rest, more := domain, true; more; {
		var label string
		label, rest, more = strings.Cut(rest, ".")
		if err := checkLabel(label); err != nil {
			return err
		}
		labels++
		numeric = allDigits(label)
	}
	switch {
	case labels < 2:
		return errors.New("needs at least two labels")
	case numeric:
		return errors.New("numeric top-level label")
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return errors.New("empty label")
	case len(label) > 63:
		return errors.New("label longer than 63 bytes")
	case label[0] == '-' || label[len(label)-1] == '-':
		return errors.New("label starts or ends with a hyphen")
	case len(label) >= 4 && label[2:4] == "--" && !strings.EqualFold(label[:2], "xn"):
		return errors.New("hyphens in third and fourth place")
	}
	for i := 0; i < len(label); i++ {
		if !isLDH(label[i]) {
			return errors.New("invalid character")
		}
	}
	return nil
}
