package refdata

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/verdictrisk/verdict/feeds/lists"
)

// Config is the feed configuration an operator writes, feeds.yaml. Every
// key is optional; DefaultConfig documents the defaults, and the embedded
// default.yaml is what runs when no file is given. Unknown keys are errors.
type Config struct {
	// Refresh is how often every source is checked again when nothing
	// else triggers a reload. Default 1h. Files are also watched, so a
	// change on disk is picked up within Settle; a URL is fetched again
	// only on this schedule (conditionally: an unchanged list costs a 304).
	Refresh Duration `yaml:"refresh"`
	// Settle is how long a changed file must stay quiet before it is read,
	// so that a file being written is read once, complete. Default 1s.
	// Longer delays every pickup; shorter reads files mid-write more often
	// (such a read fails its checks and is retried, never used).
	Settle Duration `yaml:"settle"`
	// Timeout bounds one HTTP fetch. Default 30s.
	Timeout Duration `yaml:"timeout"`
	// Retry is the first wait after a failed load; it doubles up to
	// Refresh. Default 30s.
	Retry Duration `yaml:"retry"`
	// Geo names the geo databases. Each list left empty is found in the
	// data folder: GeoIP2-City.mmdb or GeoLite2-City.mmdb, else the DB-IP
	// pair; GeoLite2-ASN.mmdb, else the ip-location-db CSV pair.
	Geo GeoConfig `yaml:"geo"`
	// Email names the disposable-domain files. Empty: the
	// disposable-email-domains files that `make data` fetches.
	Email EmailConfig `yaml:"email"`
	// Lists are the network lists. nil (the key absent) means the default
	// lists of default.yaml; an empty list means none.
	Lists []ListConfig `yaml:"lists"`
}

// GeoConfig names the geo database files (paths or, for the ASN CSV, URLs).
type GeoConfig struct {
	// City is one MaxMind City file or the DB-IP City Lite IPv4 and IPv6
	// files.
	City []string `yaml:"city"`
	// ASN is one GeoLite2-ASN file or the ip-location-db CSV files.
	ASN []string `yaml:"asn"`
}

// EmailConfig names the e-mail domain lists.
type EmailConfig struct {
	// Disposable are JSON arrays or plain lists of disposable domains.
	Disposable []string `yaml:"disposable"`
}

// ListConfig is one network list.
type ListConfig struct {
	// Name identifies the list in ip.lists, /v1/feeds and metric labels:
	// lower-case letters, digits, "_" and "-".
	Name string `yaml:"name"`
	// Type is "cidr" (addresses and prefixes) or "asn" (AS numbers).
	Type lists.Type `yaml:"type"`
	// Role is the signal the list feeds besides ip.lists: hosting, vpn,
	// tor, block, allow or label (ip.lists only). Default label.
	Role lists.Role `yaml:"role"`
	// Description is shown in /v1/feeds.
	Description string `yaml:"description"`
	// Sources are file paths (relative ones under the data folder) or
	// http(s) URLs, read and united on every load. A load succeeds only
	// when every source does.
	Sources []string `yaml:"sources"`
	// Refresh overrides Config.Refresh for this list.
	Refresh Duration `yaml:"refresh"`
	// MaxAge is how long the list may go without a successful load before
	// it is stale: a stale list still answers from its last good copy, but
	// decisions name network_lists as missing. Zero (the default) never
	// goes stale; a Tor exit list should say a few hours.
	MaxAge Duration `yaml:"max_age"`
}

// Duration is a time.Duration written as "90s", "1h30m" or "7d" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		s = days + "h"
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return fmt.Errorf("line %d: %q is not a duration such as 90s, 1h or 7d", n.Line, n.Value)
		}
		*d = Duration(24 * v)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 90s, 1h or 7d", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// The defaults of the top-level settings.
const (
	DefaultRefresh = time.Hour
	DefaultSettle  = time.Second
	DefaultTimeout = 30 * time.Second
	DefaultRetry   = 30 * time.Second
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultConfig returns the configuration used when no feeds file is given:
// default.yaml, embedded in the binary.
func DefaultConfig() *Config {
	c, err := ParseConfig("default.yaml", defaultYAML)
	if err != nil {
		panic(err) // the embedded file is checked by a test
	}
	return c
}

// LoadConfig reads a feeds file. A missing file is an error: a path the
// operator named must exist.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("feeds config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes and checks a feeds file strictly: unknown keys, wrong
// types, bad names, roles and sources are errors naming the file, the line
// and the field; all problems are reported together.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file is io.EOF: all defaults.
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("feeds config %s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	c.fill()
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("feeds config %s:\n%w", name, err)
	}
	return c, nil
}

func (c *Config) fill() {
	set := func(d *Duration, def time.Duration) {
		if *d == 0 {
			*d = Duration(def)
		}
	}
	set(&c.Refresh, DefaultRefresh)
	set(&c.Settle, DefaultSettle)
	set(&c.Timeout, DefaultTimeout)
	set(&c.Retry, DefaultRetry)
	for i := range c.Lists {
		l := &c.Lists[i]
		if l.Role == "" {
			l.Role = lists.Label
		}
		set(&l.Refresh, c.Refresh.D())
	}
}

var listName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// reservedNames are the names of the non-list feeds.
var reservedNames = []string{FeedCity, FeedASN, FeedDisposable}

func (c *Config) check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i, l := range c.Lists {
		at := fmt.Sprintf("lists[%d]", i)
		if l.Name != "" {
			at += " (" + l.Name + ")"
		}
		switch {
		case !listName.MatchString(l.Name):
			bad("%s: name %q must be 1-63 lower-case letters, digits, _ or -", at, l.Name)
		case seen[l.Name] || slices.Contains(reservedNames, l.Name):
			bad("%s: name %q is already used", at, l.Name)
		}
		seen[l.Name] = true
		if l.Type != lists.CIDR && l.Type != lists.ASN {
			bad("%s: type %q is not cidr or asn", at, l.Type)
		}
		if !slices.Contains(lists.Roles, l.Role) {
			bad("%s: role %q is not one of hosting, vpn, tor, block, allow, label", at, l.Role)
		}
		if len(l.Sources) == 0 {
			bad("%s: sources: at least one file or URL is needed", at)
		}
		for j, s := range l.Sources {
			if err := checkSource(s); err != nil {
				bad("%s: sources[%d]: %v", at, j, err)
			}
		}
	}
	for field, srcs := range map[string][]string{"geo.city": c.Geo.City, "geo.asn": c.Geo.ASN,
		"email.disposable": c.Email.Disposable} {
		for j, s := range srcs {
			if err := checkSource(s); err != nil {
				bad("%s[%d]: %v", field, j, err)
			}
			// TODO: fetch MMDB files by URL (MaxMind serves tar.gz); today geoipupdate must write them.
			if field == "geo.city" && isURL(s) {
				bad("%s[%d]: MMDB files are read from disk only (update them with geoipupdate)",
					field, j)
			}
		}
	}
	if c.Settle.D() > c.Refresh.D() {
		bad("settle %v is longer than refresh %v", c.Settle.D(), c.Refresh.D())
	}
	return errors.Join(errs...)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func checkSource(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty source")
	}
	if strings.Contains(s, "://") && !isURL(s) {
		return fmt.Errorf("%q: only file paths and http(s) URLs are supported", redact(s))
	}
	if isURL(s) {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a valid URL", redact(s))
		}
	}
	return nil
}

// redact removes what may be a secret from a source before it is shown or
// logged: the user and password of a URL and its query (MaxMind and many
// list providers put a licence key there).
func redact(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
