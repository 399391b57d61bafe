// Package refdata opens the reference data that `make data` puts in the data
// folder: the DB-IP City Lite geo databases, the ip-location-db ASN ranges,
// the crawler user-agent patterns and the disposable e-mail domains (or
// MaxMind GeoIP2/GeoLite2 files when a user has them). Each source that is
// absent is reported, once, as a missing signal; verdictd still runs.
package refdata

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

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
)

// Data is the reference data found in a folder. Fields are nil when their
// source is absent.
type Data struct {
	City       *geo.CityDB
	ASN        *geo.ASNDB
	Devices    *device.Parser
	Disposable *email.Domains
	// Missing names the sources that were not found, for the start-up log.
	Missing []string
}

// Open opens what dir holds. A file that is present but broken is an error:
// running on silently wrong data is worse than refusing to start.
func Open(dir string, log *slog.Logger) (*Data, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Data{}
	var errs []error
	errs = append(errs, d.openCity(dir), d.openASN(dir), d.openDevices(dir), d.openDisposable(dir))
	if err := errors.Join(errs...); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (d *Data) openCity(dir string) error {
	var paths []string
	for _, f := range []string{GeoIP2CityFile, MaxMindCityFile} {
		if p := filepath.Join(dir, f); exists(p) {
			paths = []string{p}
			break
		}
	}
	if paths == nil {
		for _, f := range []string{geo.CityIPv4File, geo.CityIPv6File} {
			if p := filepath.Join(dir, f); exists(p) {
				paths = append(paths, p)
			}
		}
	}
	if len(paths) == 0 {
		d.Missing = append(d.Missing, "geo")
		return nil
	}
	city, err := geo.OpenCity(paths...)
	if err != nil {
		return fmt.Errorf("geo data: %w", err)
	}
	d.City = city
	return nil
}

func (d *Data) openASN(dir string) error {
	if p := filepath.Join(dir, MaxMindASNFile); exists(p) {
		asn, err := geo.OpenASNMMDB(p)
		if err != nil {
			return fmt.Errorf("asn data: %w", err)
		}
		d.ASN = asn
		return nil
	}
	var paths []string
	for _, f := range []string{geo.ASNIPv4File, geo.ASNIPv6File} {
		if p := filepath.Join(dir, f); exists(p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		d.Missing = append(d.Missing, "asn")
		return nil
	}
	asn, err := geo.OpenASNCSV(paths...)
	if err != nil {
		return fmt.Errorf("asn data: %w", err)
	}
	d.ASN = asn
	return nil
}

func (d *Data) openDevices(dir string) error {
	opts := device.Options{}
	if p := filepath.Join(dir, CrawlersFile); exists(p) {
		opts.CrawlersFile = p
	} else {
		d.Missing = append(d.Missing, "crawler_patterns")
	}
	p, err := device.NewParser(opts)
	if err != nil {
		return fmt.Errorf("user-agent data: %w", err)
	}
	d.Devices = p
	return nil
}

func (d *Data) openDisposable(dir string) error {
	var paths []string
	for _, f := range []string{DisposableFile, DisposableWild} {
		if p := filepath.Join(dir, f); exists(p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		d.Missing = append(d.Missing, "email_domains")
		return nil
	}
	dom, err := email.LoadDomainFiles(paths...)
	if err != nil {
		return fmt.Errorf("disposable domains: %w", err)
	}
	d.Disposable = dom
	return nil
}

// Close closes the databases.
func (d *Data) Close() error {
	if d.City != nil {
		return d.City.Close()
	}
	return nil
}

// ErrNoData is returned by Check when the folder holds no geo data at all.
var ErrNoData = errors.New("no reference data; run `make data`")

// Check opens dir and verifies the geo data answers as real data does.
func Check(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return ErrNoData
	}
	d, err := Open(dir, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	if d.City == nil && d.ASN == nil {
		return ErrNoData
	}
	return geo.Check(d.City, d.ASN)
}
