package email

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Domains is a set of domains matched with their subdomains: a set holding
// example.com contains a.b.example.com. It is read-only once built and safe
// for concurrent use.
//
// Matching subdomains is what the disposable-email-domains package's
// wildcard.json asks for a few providers; applying it to every entry also
// catches the throwaway subdomains that disposable services mint. Entries
// must therefore have at least two labels, or one entry could match a whole
// top-level domain.
type Domains struct {
	set map[string]struct{}
}

// NewDomains returns the set of the given domains. Entries are trimmed,
// lower-cased and converted to punycode; an entry that is not a valid domain
// is kept lower-cased as given, where it only matches itself. Use
// LoadDomains to reject such entries instead.
func NewDomains(list []string) *Domains {
	d := &Domains{set: make(map[string]struct{}, len(list))}
	for _, s := range list {
		if c, err := canonical(s); err == nil {
			d.set[c] = struct{}{}
		} else {
			d.set[strings.ToLower(strings.TrimSpace(s))] = struct{}{}
		}
	}
	return d
}

// Len returns the number of domains in the set.
func (d *Domains) Len() int {
	if d == nil {
		return 0
	}
	return len(d.set)
}

// Contains reports whether domain or one of its parent domains is in the set.
// domain is expected in punycode, as Address.Domain; case and a final dot are
// ignored. It does not allocate.
func (d *Domains) Contains(domain string) bool {
	domain = strings.TrimSuffix(domain, ".")
	if d == nil || len(d.set) == 0 || len(domain) > 253 {
		return false
	}
	var buf [253]byte
	b := buf[:len(domain)]
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	for {
		// The compiler looks a string(b) map key up without copying it.
		if _, ok := d.set[string(b)]; ok {
			return true
		}
		i := bytes.IndexByte(b, '.')
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
}

// canonical validates a list entry and returns it in lower-case punycode. A
// leading "*." is allowed, as every entry matches its subdomains anyway.
func canonical(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "*.")
	return normDomain(s)
}

// maxLoadErrors is how many bad entries LoadDomains reports before it stops
// reading: enough to see a pattern, not a wall of text for a wrong file.
const maxLoadErrors = 10

// LoadDomains reads a domain list: the disposable-email-domains npm package's
// index.json or wildcard.json (a JSON array of strings), or a plain text list
// with one domain per line, blank lines and "#" comments. The format is told
// by the first non-blank byte ('[' for JSON). An entry that is not a domain
// is an error naming file:line; up to 10 are reported together.
func LoadDomains(path string) (*Domains, error) {
	return LoadDomainFiles(path)
}

// LoadDomainFiles is LoadDomains for several files, whose domains it unites,
// such as index.json and wildcard.json.
func LoadDomainFiles(paths ...string) (*Domains, error) {
	files := make([]DomainFile, 0, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("domain list: %w", err)
		}
		files = append(files, DomainFile{Name: path, Data: data})
	}
	return ParseDomainFiles(files...)
}

// DomainFile is a domain list already read; Name is used in errors.
type DomainFile struct {
	Name string
	Data []byte
}

// ParseDomainFiles is LoadDomainFiles for files already read, which is how
// feeds/refdata reloads a list that changed.
func ParseDomainFiles(files ...DomainFile) (*Domains, error) {
	d := &Domains{set: make(map[string]struct{})}
	for _, f := range files {
		var err error
		if t := bytes.TrimSpace(f.Data); len(t) > 0 && t[0] == '[' {
			err = d.loadJSON(f.Name, f.Data)
		} else {
			err = d.loadText(f.Name, f.Data)
		}
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// loader collects the entries of one file and its errors.
type loader struct {
	d    *Domains
	path string
	errs []error
}

// add adds one entry found on line; it reports false once there are too
// many errors to go on.
func (l *loader) add(line int, entry string) bool {
	c, err := canonical(entry)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s:%d: %q is not a domain: %w", l.path, line, entry, err))
		return len(l.errs) < maxLoadErrors
	}
	l.d.set[c] = struct{}{}
	return true
}

func (l *loader) err() error {
	if len(l.errs) >= maxLoadErrors {
		l.errs = append(l.errs, fmt.Errorf("%s: stopped after %d errors", l.path, maxLoadErrors))
	}
	return errors.Join(l.errs...)
}

func (d *Domains) loadText(path string, data []byte) error {
	l := &loader{d: d, path: path}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !l.add(n, line) {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("domain list %s: %w", path, err)
	}
	return l.err()
}

func (d *Domains) loadJSON(path string, data []byte) error {
	l := &loader{d: d, path: path}
	lines := lineCounter{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%s:%d: %w", path, lines.at(dec.InputOffset()), err)
	}
	for n := 0; dec.More(); n++ {
		line := lines.at(dec.InputOffset())
		var entry string
		if err := dec.Decode(&entry); err != nil {
			return fmt.Errorf("%s:%d: entry %d: %w", path, line, n, err)
		}
		if !l.add(line, entry) {
			break
		}
	}
	if _, err := dec.Token(); err != nil && len(l.errs) == 0 {
		return fmt.Errorf("%s:%d: %w", path, lines.at(dec.InputOffset()), err)
	}
	return l.err()
}

// lineCounter turns the decoder's byte offsets, which only grow, into line
// numbers without rescanning the file from the start.
type lineCounter struct {
	data []byte
	pos  int // bytes counted so far
	line int // newlines in data[:pos]
}

// at returns the 1-based line of the first byte at or after offset that is
// not a space or a comma: where the decoder's next value starts.
func (l *lineCounter) at(offset int64) int {
	i := int(offset)
	for i < len(l.data) && strings.IndexByte(" \t\r\n,", l.data[i]) >= 0 {
		i++
	}
	if i > l.pos {
		l.line += bytes.Count(l.data[l.pos:i], []byte{'\n'})
		l.pos = i
	}
	return l.line + 1
}
