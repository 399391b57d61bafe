package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
)

// LoadBadASNs reads a list of hosting, VPN and proxy operators in the
// format of the bad-asn-list project: a CSV file with a header line
// "ASN,Entity" and one operator a line ("51447, \"RootLayer ..., NL\"").
// Blank lines are skipped; any other line whose first field is not an AS
// number is an error naming the line.
func LoadBadASNs(path string) (map[uint32]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bad-asn list: %w", err)
	}
	defer f.Close()
	set, err := readBadASNs(f)
	if err != nil {
		return nil, fmt.Errorf("bad-asn list %s: %w", path, err)
	}
	return set, nil
}

// readBadASNs reads the first field of each line. The file is not strict
// CSV (spaces around quoted fields), and only the AS number matters, so
// lines are split by hand rather than by encoding/csv.
func readBadASNs(r io.Reader) (map[uint32]bool, error) {
	sc := bufio.NewScanner(r)
	set := map[uint32]bool{}
	for line := 1; sc.Scan(); line++ {
		first, _, _ := strings.Cut(sc.Text(), ",")
		field := strings.Trim(strings.TrimSpace(first), `"`)
		switch {
		case field == "":
			continue
		case line == 1 && strings.EqualFold(field, "ASN"):
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(field), "AS"), 10, 32)
		if err != nil || n == 0 {
			return nil, fmt.Errorf("line %d: %q is not an AS number", line, field)
		}
		set[uint32(n)] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, errors.New("no AS number in the file")
	}
	return set, nil
}

// LoadPrefixLists reads lists of hosting and datacenter networks, one CIDR
// a line, as the X4BNet lists_vpn project publishes them
// (datacenter-ipv4.txt, datacenter-ipv6.txt). Blank lines and lines
// starting with # are skipped; any other line that is not a CIDR is an error
// naming the file and line.
func LoadPrefixLists(paths ...string) (*bart.Lite, error) {
	t := new(bart.Lite)
	for _, path := range paths {
		if err := loadPrefixList(t, path); err != nil {
			return nil, fmt.Errorf("prefix list: %w", err)
		}
	}
	return t, nil
}

func loadPrefixList(t *bart.Lite, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := readPrefixes(t, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readPrefixes(t *bart.Lite, r io.Reader) error {
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		p, err := netip.ParsePrefix(text)
		if err != nil {
			return fmt.Errorf("line %d: %q is not a CIDR", line, text)
		}
		t.Insert(p)
	}
	return sc.Err()
}

// ListFiles names the list files that tell a world's hosting and VPN
// networks apart; empty fields load nothing.
type ListFiles struct {
	// BadASN is a bad-asn-list CSV (LoadBadASNs).
	BadASN string
	// Datacenters and VPNs are CIDR list files (LoadPrefixLists).
	Datacenters, VPNs []string
}

// Load reads the files into WorldOptions.
func (l ListFiles) Load() (WorldOptions, error) {
	var o WorldOptions
	var err error
	if l.BadASN != "" {
		if o.BadASNs, err = LoadBadASNs(l.BadASN); err != nil {
			return o, err
		}
	}
	if len(l.Datacenters) > 0 {
		if o.Datacenters, err = LoadPrefixLists(l.Datacenters...); err != nil {
			return o, err
		}
	}
	if len(l.VPNs) > 0 {
		o.VPNs, err = LoadPrefixLists(l.VPNs...)
	}
	return o, err
}
