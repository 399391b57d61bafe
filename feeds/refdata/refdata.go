// Package refdata runs the reference data feeds that enrichment reads: the
// geo city and ASN databases, the disposable e-mail domains and the network
// lists (hosting, VPN, Tor, blocklists, allowlists). Each feed is named,
// comes from files in the data folder or from http(s) URLs, and is reloaded
// on a schedule and whenever one of its files changes on disk (fsnotify).
//
// A reload builds the new copy beside the one in use and swaps it in
// atomically; lookups running at that moment finish on the old copy. A
// reload that fails — a source gone, a download that is an error page, a
// database caught half-written, a copy with under a tenth of the entries
// of a large one in use (ErrShrunk) — keeps the last good copy and records
// the error, which Status, /v1/feeds, `verdict feeds` and the metrics show
// with the copy's age. Files are read into memory, never memory-mapped, so a file
// overwritten in place cannot crash the process, and a changed file is read
// only once it has stayed quiet for Settle and did not change while it was
// read; a changed MMDB file is also walked whole before it is used.
//
// The engine reads the feeds through the views City, ASN, Disposable and
// Lists, which load the copy in use for every lookup. A feed without a copy
// makes its signal family missing in every decision; a list older than its
// max_age makes network_lists missing while it still answers.
//
// The user-agent crawler patterns are read once at start (Devices).
//
// Metrics (Collector), all labelled by feed name:
//
//	verdict_feed_loaded{feed}                          1 when a copy is in use
//	verdict_feed_entries{feed}                         entries in the copy in use
//	verdict_feed_age_seconds{feed}                     time since the last successful load
//	verdict_feed_last_success_timestamp_seconds{feed}  when a load last succeeded
//	verdict_feed_last_load_successful{feed}            1 when the last attempt succeeded
//	verdict_feed_stale{feed}                           1 when older than its max_age
//	verdict_feed_problems{feed}                        junk lines and warnings in the copy in use
//	verdict_feed_load_errors_total{feed}               failed loads since start
package refdata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/verdictrisk/verdict/feeds/lists"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/email"
	"github.com/verdictrisk/verdict/signals/geo"
)

// File names in the data folder.
const (
	MaxMindCityFile = "GeoLite2-City.mmdb"
	MaxMindASNFile  = "GeoLite2-ASN.mmdb"
	GeoIP2CityFile  = "GeoIP2-City.mmdb"
	CrawlersFile    = "crawler-user-agents.json"
	DisposableFile  = "disposable-email-domains.json"
	DisposableWild  = "disposable-email-wildcard.json"
	// FeedsFile is the feeds configuration looked for in the data folder
	// when no other is given.
	FeedsFile = "feeds.yaml"
	// CacheDir is where downloads are kept inside a state folder.
	CacheDir = "feeds"
)

// Options configure Open.
type Options struct {
	// DataDir is the data folder; relative sources are under it. Default
	// "data".
	DataDir string
	// Config is the feed configuration. nil: DataDir/feeds.yaml when it
	// exists, else DefaultConfig.
	Config *Config
	// CacheDir keeps the last good download of every URL source, so a
	// restart while a URL is down starts from it. "" keeps none.
	CacheDir string
	// HTTPClient fetches URL sources; nil uses a client with the
	// configured timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Manager holds every feed. It is safe for concurrent use.
type Manager struct {
	cfg     *Config
	dataDir string
	log     *slog.Logger
	feeds   []*Feed
	city    *Feed
	asn     *Feed
	domains *Feed
	lists   []*Feed
	devices *device.Parser

	mu        sync.Mutex
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Open reads the configuration and loads every feed once. A feed whose
// files are missing, or whose URL cannot be fetched (and has no cached
// copy), starts without a copy and is retried on its schedule; its signals
// are missing meanwhile. A file that exists but does not load is an error:
// starting on silently wrong data is worse than not starting. Call Start to
// keep the feeds fresh, and Close at the end.
func Open(ctx context.Context, o Options) (*Manager, error) {
	if o.DataDir == "" {
		o.DataDir = "data"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, err := configFor(o)
	if err != nil {
		return nil, err
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: cfg.Timeout.D()}
	}
	m := &Manager{cfg: cfg, dataDir: o.DataDir, log: o.Logger.With("component", "feeds")}
	m.build(o)
	var errs []error
	for _, f := range m.feeds {
		if err := f.reload(ctx, true); err != nil && fatalAtStart(f, err) {
			errs = append(errs, fmt.Errorf("feed %s: %w", f.name, err))
		}
	}
	if m.devices, err = openDevices(o.DataDir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func configFor(o Options) (*Config, error) {
	if o.Config != nil {
		return o.Config, nil
	}
	p := filepath.Join(o.DataDir, FeedsFile)
	if _, err := os.Stat(p); err == nil {
		return LoadConfig(p)
	}
	return DefaultConfig(), nil
}

// fatalAtStart reports whether a first load's failure should stop the
// start: local files that exist and are broken. A missing file or an
// unreachable URL is not.
func fatalAtStart(f *Feed, err error) bool {
	if errors.Is(err, ErrNotFound) {
		return false
	}
	for _, s := range f.srcs {
		if s.url != "" {
			return false
		}
	}
	return true
}

func (m *Manager) build(o Options) {
	mk := func(name, kind, desc string, role lists.Role, specs []string, load loader,
		refresh, maxAge time.Duration) *Feed {
		f := &Feed{name: name, kind: kind, desc: desc, role: role, load: load,
			refresh: refresh, maxAge: maxAge, settle: m.cfg.Settle.D(), retry: m.cfg.Retry.D(),
			client: o.HTTPClient, log: m.log, now: o.Now, kick: make(chan struct{}, 1)}
		for i, spec := range specs {
			f.srcs = append(f.srcs, m.source(o, name, spec, i))
		}
		m.feeds = append(m.feeds, f)
		return f
	}
	refresh := m.cfg.Refresh.D()
	m.city = mk(FeedCity, KindCity, "Geo city database", "", m.cityFiles(), loadCity, refresh, 0)
	m.asn = mk(FeedASN, KindASN, "Autonomous system ranges", "", m.asnFiles(), loadASN, refresh, 0)
	m.domains = mk(FeedDisposable, KindDomains, "Disposable e-mail domains", "",
		m.disposableFiles(), loadDomains, refresh, 0)
	for _, l := range m.cfg.Lists {
		kind := KindCIDR
		if l.Type == lists.ASN {
			kind = KindASNList
		}
		m.lists = append(m.lists, mk(l.Name, kind, l.Description, l.Role, l.Sources,
			listLoader(l), l.Refresh.D(), l.MaxAge.D()))
	}
}

// source resolves the i-th source of a feed.
func (m *Manager) source(o Options, feed, spec string, i int) *source {
	if isURL(spec) {
		s := &source{spec: spec, url: spec}
		if o.CacheDir != "" {
			s.cache = filepath.Join(o.CacheDir, fmt.Sprintf("%s.%d", feed, i))
		}
		return s
	}
	p := spec
	if !filepath.IsAbs(p) {
		p = filepath.Join(m.dataDir, p)
	}
	return &source{spec: spec, path: filepath.Clean(p)}
}

// firstPresent returns the first group of files of which at least one
// exists in the data folder, keeping only the files present, or else the
// last group whole (so that its absence is reported and watched for).
func (m *Manager) firstPresent(groups ...[]string) []string {
	for _, g := range groups {
		var present []string
		for _, f := range g {
			if _, err := os.Stat(filepath.Join(m.dataDir, f)); err == nil {
				present = append(present, f)
			}
		}
		if len(present) > 0 {
			return present
		}
	}
	return groups[len(groups)-1]
}

func (m *Manager) cityFiles() []string {
	if len(m.cfg.Geo.City) > 0 {
		return m.cfg.Geo.City
	}
	return m.firstPresent([]string{GeoIP2CityFile}, []string{MaxMindCityFile},
		[]string{geo.CityIPv4File, geo.CityIPv6File})
}

func (m *Manager) asnFiles() []string {
	if len(m.cfg.Geo.ASN) > 0 {
		return m.cfg.Geo.ASN
	}
	return m.firstPresent([]string{MaxMindASNFile}, []string{geo.ASNIPv4File, geo.ASNIPv6File})
}

func (m *Manager) disposableFiles() []string {
	if len(m.cfg.Email.Disposable) > 0 {
		return m.cfg.Email.Disposable
	}
	return m.firstPresent([]string{DisposableFile, DisposableWild})
}

func geoFiles(srcs []lists.Source) []geo.File {
	out := make([]geo.File, len(srcs))
	for i, s := range srcs {
		out[i] = geo.File{Name: s.Name, Data: s.Data}
	}
	return out
}

// loadCity opens and verifies the city files. Verifying costs about a
// second per DB-IP file, on every load, the first included: a file copied
// half while verdictd was down is as torn as one replaced under it.
func loadCity(srcs []lists.Source) (loaded, error) {
	db, err := geo.OpenCityFiles(geo.CityOptions{}, geoFiles(srcs)...)
	if err != nil {
		return loaded{}, err
	}
	n, err := db.Verify()
	if err != nil {
		return loaded{}, err
	}
	return loaded{value: db, entries: n, info: db.Info()}, nil
}

func loadASN(srcs []lists.Source) (loaded, error) {
	db, err := geo.OpenASNFiles(geoFiles(srcs)...)
	if err != nil {
		return loaded{}, err
	}
	return loaded{value: db, entries: db.Len(), info: db.Info()}, nil
}

// TODO: skip and report bad domain entries as the network lists do; today one refuses the file.
func loadDomains(srcs []lists.Source) (loaded, error) {
	files := make([]email.DomainFile, len(srcs))
	for i, s := range srcs {
		files[i] = email.DomainFile{Name: s.Name, Data: s.Data}
	}
	d, err := email.ParseDomainFiles(files...)
	if err != nil {
		return loaded{}, err
	}
	return loaded{value: d, entries: d.Len()}, nil
}

func listLoader(c ListConfig) loader {
	return func(srcs []lists.Source) (loaded, error) {
		l, res, err := lists.Parse(c.Name, c.Type, c.Role, srcs)
		if err != nil {
			return loaded{result: res}, err
		}
		return loaded{value: l, entries: l.Len(), result: res}, nil
	}
}

func openDevices(dir string) (*device.Parser, error) {
	opts := device.Options{}
	// TODO: reload the crawler patterns when the file changes, as the other feeds do.
	if p := filepath.Join(dir, CrawlersFile); exists(p) {
		opts.CrawlersFile = p
	}
	p, err := device.NewParser(opts)
	if err != nil {
		return nil, fmt.Errorf("user-agent data: %w", err)
	}
	return p, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Start keeps the feeds fresh in the background until Close or ctx's end:
// each feed reloads on its schedule, and the folders of file sources are
// watched so that a change is picked up once it settles. A folder that
// cannot be watched (it does not exist yet) is checked on the schedule only.
func (m *Manager) Start(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	var wg sync.WaitGroup
	for _, f := range m.feeds {
		wg.Go(func() { f.run(ctx) })
	}
	if w, err := m.watch(ctx, &wg); err != nil {
		m.log.Warn("file watching unavailable; feeds reload on their schedule only", "err", err)
	} else if w > 0 {
		m.log.Debug("watching feed folders", "folders", w)
	}
	go func() { wg.Wait(); close(m.done) }()
}

// Close stops the background reloads, waits for them and releases the
// user-agent parser.
func (m *Manager) Close() error {
	m.mu.Lock()
	cancel, done := m.cancel, m.done
	m.cancel = nil
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	m.closeOnce.Do(func() {
		if m.devices != nil {
			m.devices.Close()
		}
	})
	return nil
}

// Feeds returns the feeds in configuration order: geo_city, geo_asn,
// disposable_domains, then the lists.
func (m *Manager) Feeds() []*Feed { return m.feeds }

// Feed returns the feed called name, or nil.
func (m *Manager) Feed(name string) *Feed {
	for _, f := range m.feeds {
		if f.name == name {
			return f
		}
	}
	return nil
}

// Status reports every feed.
func (m *Manager) Status() []Status {
	out := make([]Status, len(m.feeds))
	for i, f := range m.feeds {
		out[i] = f.Status()
	}
	return out
}

// Reload loads the named feed now, reading every source, and reports how it
// went; "" reloads every feed.
func (m *Manager) Reload(ctx context.Context, name string) error {
	var errs []error
	for _, f := range m.feeds {
		if name == "" || f.name == name {
			if err := f.reload(ctx, true); err != nil {
				errs = append(errs, fmt.Errorf("feed %s: %w", f.name, err))
			}
			if name != "" {
				return errors.Join(errs...)
			}
		}
	}
	if name != "" {
		return fmt.Errorf("no feed %q", name)
	}
	return errors.Join(errs...)
}

// Missing names the signal families without any data, for the start-up log:
// geo, asn, email_domains, network_lists (when any list has no copy) and
// crawler_patterns.
func (m *Manager) Missing() []string {
	var out []string
	if m.city.cur.Load() == nil {
		out = append(out, "geo")
	}
	if m.asn.cur.Load() == nil {
		out = append(out, "asn")
	}
	if m.domains.cur.Load() == nil {
		out = append(out, "email_domains")
	}
	for _, f := range m.lists {
		if f.cur.Load() == nil {
			out = append(out, "network_lists")
			break
		}
	}
	if !exists(filepath.Join(m.dataDir, CrawlersFile)) {
		out = append(out, "crawler_patterns")
	}
	return out
}

// DataDir returns the data folder relative sources are read from.
func (m *Manager) DataDir() string { return m.dataDir }

// Devices returns the user-agent parser built from the crawler patterns.
func (m *Manager) Devices() *device.Parser { return m.devices }

// ErrNoData is returned by Check when the folder holds no geo data at all.
var ErrNoData = errors.New("no reference data; run `make data`")

// Check opens dir as verdictd would and verifies that the geo data answers
// as real data does (8.8.8.8 is in the US, AS15169).
func Check(ctx context.Context, dir string) (*Manager, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, ErrNoData
	}
	m, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		return nil, err
	}
	city, _ := m.city.value().(*geo.CityDB)
	asn, _ := m.asn.value().(*geo.ASNDB)
	if city == nil && asn == nil {
		return m, ErrNoData
	}
	return m, geo.Check(city, asn)
}

// value returns the copy in use, or nil.
func (f *Feed) value() any {
	if s := f.cur.Load(); s != nil {
		return s.value
	}
	return nil
}
