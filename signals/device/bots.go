package device

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// automationMarkers are lower-case substrings of the user agents that HTTP
// libraries, command-line tools, attack and scanning tools send by default.
// A real browser never contains them. okhttp is included although mobile
// apps use it: an app that logs users in should send its own user agent.
var automationMarkers = []string{
	"curl/", "wget/", "python-requests", "python-urllib", "python-httpx", "aiohttp/",
	"go-http-client", "okhttp", "java/", "apache-httpclient", "commons-httpclient",
	"libwww-perl", "lwp::", "scrapy", "httpie/", "node-fetch", "axios/", "undici",
	"postmanruntime", "insomnia/", "guzzlehttp", "restsharp", "powershell/", "winhttp",
	"mechanize", "openbullet", "silverbullet", "sentry mba", "sentrymba", "sqlmap",
	"nikto", "nmap", "masscan", "zgrab", "(hydra)",
}

// headlessMarkers are lower-case substrings of headless and automated
// browsers; each also marks the client a bot.
var headlessMarkers = []string{
	"headlesschrome", "phantomjs", "slimerjs", "htmlunit", "puppeteer", "playwright",
	"selenium", "webdriver",
}

// detectBot sets Bot, Headless and BotMatch from the user agent s, its
// lower-case form, the crawler patterns and uap-core's verdict.
func (p *Parser) detectBot(info *Info, s, lower string, uapSpider bool) {
	for _, m := range headlessMarkers {
		if strings.Contains(lower, m) {
			info.Headless, info.Bot, info.BotMatch = true, true, m
			return
		}
	}
	match := ""
	for _, m := range automationMarkers {
		if strings.Contains(lower, m) {
			match = m
			break
		}
	}
	if match == "" && p.crawlers != nil {
		match = p.crawlers.match(s)
	}
	if match == "" && uapSpider {
		match = "uap:spider"
	}
	if match == "" && info.Malformed {
		match = "malformed"
	}
	info.Bot, info.BotMatch = match != "", match
}

// crawlers matches user agents against crawler-user-agents patterns. Most of
// the ~1500 patterns are plain strings, found together in one pass through a
// literal index instead of 1500 searches; the few real regular expressions
// run one by one.
type crawlers struct {
	literals *litIndex
	regexps  []*regexp.Regexp
}

func (c *crawlers) len() int { return c.literals.len() + len(c.regexps) }

// match returns a pattern that matches ua, or "".
func (c *crawlers) match(ua string) string {
	found := ""
	c.literals.scan(ua, func(id int32) bool {
		found = c.literals.lits[id]
		return false
	})
	if found != "" {
		return found
	}
	for _, re := range c.regexps {
		if re.MatchString(ua) {
			return re.String()
		}
	}
	return ""
}

// add compiles one pattern into c.
func (c *crawlers) add(pattern string) error {
	if pattern == "" {
		return errors.New("empty pattern")
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	if lit, complete := re.LiteralPrefix(); complete {
		c.literals.add(lit)
		return nil
	}
	c.regexps = append(c.regexps, re)
	return nil
}

// loadCrawlers reads a crawler-user-agents.json file: a JSON array of objects
// whose "pattern" member is a regular expression. Other members are ignored.
// Errors name the entry by its index and pattern: the file is generated, not
// edited by hand, so its line numbers help nobody.
func loadCrawlers(path string) (*crawlers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crawler patterns: %w", err)
	}
	var items []struct {
		Pattern *string `json:"pattern"`
	}
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("crawler patterns %s: want a JSON array of objects: %w", path, err)
	}
	c := &crawlers{literals: newLitIndex()}
	for n, item := range items {
		if item.Pattern == nil {
			return nil, fmt.Errorf("crawler patterns %s: entry %d: no \"pattern\" member", path, n)
		}
		if err := c.add(*item.Pattern); err != nil {
			return nil, fmt.Errorf("crawler patterns %s: entry %d %q: %w", path, n, *item.Pattern, err)
		}
	}
	return c, nil
}
