// Package device computes the device signals of an event: what the user agent
// and the Chromium client hints say about the browser, OS and kind of device,
// whether the client is a bot, crawler or headless browser, and a stable
// device fingerprint.
//
// The engine calls Parser.Parse for every event during enrichment and copies
// the Info into signals.Device; Fingerprint gives the device id under which the
// profile remembers known devices and velocity counts distinct users.
//
// Browser, OS and device families come from uap-core's definitions (through
// github.com/ua-parser/uap-go) and keep its names: "Chrome", "Mobile Safari",
// "Mac OS X", "iOS", "Windows", "Other" when nothing matched. A cold parse
// costs a fraction of a millisecond of regular expressions even with the
// prefilter (prefilter.go), so results are cached by user agent; a warm Parse
// only applies the client hints.
package device

import (
	"fmt"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/ua-parser/uap-go/uaparser"
)

// Info is what a user agent (and client hints) say about the client.
type Info struct {
	// Browser and BrowserVersion, e.g. "Chrome" and "131.0.0"; the version is
	// the full one ("131.0.6778.86") when client hints supplied it.
	Browser, BrowserVersion string
	// OS and OSVersion, e.g. "Windows" and "10", "Mac OS X" and "10.15.7".
	OS, OSVersion string
	// Type is "desktop", "mobile", "tablet", "bot" or "other".
	Type string
	// Bot is true for a crawler, script or automation tool (curl,
	// python-requests, Go-http-client, headless browsers...) and for an
	// empty or malformed user agent.
	Bot bool
	// Headless is true for HeadlessChrome, PhantomJS and the
	// Puppeteer/Playwright/Selenium markers, in the user agent or the
	// sec-ch-ua brands.
	Headless bool
	// Malformed is true for an empty or clearly malformed user agent: shorter
	// than 10 bytes, with control bytes or invalid UTF-8, or without any
	// product/version token.
	Malformed bool
	// BotMatch names what made Bot true: a built-in marker such as "curl/",
	// a crawler pattern, "uap:spider", "malformed" or "hints:headless". It
	// is for explanations and tests; empty when Bot is false.
	BotMatch string
	// HintsMismatch is true when the client hints contradict the user agent:
	// another platform, or no brand of the browser the user agent names.
	// Spoofed user agents on automated Chromium often give themselves away
	// like this. Hints are only compared for Chromium-based user agents.
	HintsMismatch bool
}

// Options configures a Parser. The zero value is usable.
type Options struct {
	// CacheSize is the number of distinct user agents whose parse results
	// are kept. Default (zero value): 10000, a few MB, which covers the long
	// tail of real browsers in production traffic. A negative value turns
	// the cache off, so every Parse pays the full cold cost (for tests and
	// benchmarks). Larger caches help only if traffic has more distinct
	// user agents than that; an attacker rotating random user agents cannot
	// evict the popular ones (see cache.go).
	CacheSize int
	// CrawlersFile is the path to crawler-user-agents.json from the npm
	// package crawler-user-agents (MIT licence): a JSON array of objects
	// with a "pattern" regular expression each. Patterns are compiled once
	// here; a pattern that does not compile is an error naming its entry.
	// Default (empty): only the built-in automation markers are used, which
	// miss most declared search and SEO crawlers.
	CrawlersFile string
}

// DefaultCacheSize is the CacheSize used when Options.CacheSize is zero.
const DefaultCacheSize = 10000

// Parser parses user agents and client hints. It is safe for concurrent use.
// Close releases the cache's background goroutines.
type Parser struct {
	uap      *uaparser.Parser
	filter   *prefilter
	crawlers *crawlers
	cache    *ristretto.Cache[string, *entry]
}

// NewParser returns a Parser configured by opts.
func NewParser(opts Options) (*Parser, error) {
	p := &Parser{}
	var err error
	if opts.CrawlersFile != "" {
		if p.crawlers, err = loadCrawlers(opts.CrawlersFile); err != nil {
			return nil, err
		}
	}
	// uap-go keeps its own cache, which we do not want in the way of ours:
	// one entry is the smallest size it accepts.
	if p.uap, err = uaparser.New(uaparser.WithCacheSize(1)); err != nil {
		return nil, fmt.Errorf("load user agent definitions: %w", err)
	}
	p.filter = newPrefilter(p.uap)
	size := opts.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 {
		if p.cache, err = newCache(size); err != nil {
			return nil, fmt.Errorf("device cache: %w", err)
		}
	}
	return p, nil
}

// Crawlers returns the number of crawler patterns loaded from
// Options.CrawlersFile.
func (p *Parser) Crawlers() int {
	if p.crawlers == nil {
		return 0
	}
	return p.crawlers.len()
}

// Close stops the cache's goroutines. Call it once no Parse is running
// (ristretto does not allow Close concurrently with its writes); Parse still
// works afterwards, without the cache.
func (p *Parser) Close() {
	if p.cache != nil {
		p.cache.Close()
	}
}

// Parse parses a user agent and, when header is not nil, the Chromium client
// hints sec-ch-ua, sec-ch-ua-full-version-list, sec-ch-ua-platform,
// sec-ch-ua-platform-version and sec-ch-ua-mobile, looked up through
// header(name) with lower-case names. For a reduced Chromium user agent
// (frozen "Chrome/131.0.0.0", "Windows NT 10.0", "Android 10; K") the hints'
// full browser version and platform version are preferred.
//
// A warm Parse (user agent in the cache) does not allocate.
func (p *Parser) Parse(ua string, header func(name string) string) Info {
	e := p.lookup(ua)
	info := e.info
	if header != nil && e.chromium {
		applyHints(&info, e, header)
	}
	return info
}

// lookup returns the cached analysis of ua, computing and caching it on a
// miss.
func (p *Parser) lookup(ua string) *entry {
	if p.cache != nil {
		if e, ok := p.cache.Get(ua); ok {
			return e
		}
	}
	e := p.analyse(ua)
	if p.cache != nil {
		p.cache.Set(ua, e, 1)
	}
	return e
}
