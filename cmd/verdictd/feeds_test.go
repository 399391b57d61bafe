package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/signals/geo"
	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

type feedStatus struct {
	Name      string
	Loaded    bool
	Entries   int
	LastOK    bool   `json:"last_ok"`
	LastError string `json:"last_error"`
	Sources   []string
}

func (d *daemon) feeds(t *testing.T) map[string]feedStatus {
	t.Helper()
	resp, err := http.Get(d.url + "/v1/feeds")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Feeds []feedStatus }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	m := map[string]feedStatus{}
	for _, f := range out.Feeds {
		m[f.Name] = f
	}
	return m
}

type netDecision struct {
	Action  string
	Signals struct {
		IP struct {
			Country, City string
			Hosting       bool
			Lists         []string
		}
	}
}

func (d *daemon) decideNet(t *testing.T, event map[string]any) netDecision {
	t.Helper()
	var out netDecision
	b, _ := json.Marshal(d.decideRaw(t, event))
	json.Unmarshal(b, &out)
	return out
}

func (d *daemon) decideRaw(t *testing.T, event map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(event)
	resp, err := http.Post(d.url+"/v1/decide", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("decide: %d %s", resp.StatusCode, raw)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

// TestFeedsHotReload is the "done when": a datacenter address says
// ip.hosting: true, and replacing a list file and an MMDB file on disk
// changes decisions within seconds, with no restart and no error.
func TestFeedsHotReload(t *testing.T) {
	data := t.TempDir()
	world, err := geotest.Fixture(data)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, data, t.TempDir())
	ev := func(ip string) map[string]any {
		return map[string]any{"type": "login", "outcome": "succeeded", "ip": ip,
			"user": map[string]any{"id": "u-" + ip}, "user_agent": ua}
	}
	do := world.MustPlace("DigitalOcean").Addr4().String()
	if got := d.decideNet(t, ev(do)); !got.Signals.IP.Hosting {
		t.Fatalf("datacenter address: %+v", got.Signals.IP)
	}
	feeds := d.feeds(t)
	if f := feeds["datacenter"]; !f.Loaded || f.Entries != 2 || !f.LastOK ||
		f.Sources[0] != "lists/datacenter-ipv4.txt" {
		t.Errorf("datacenter feed: %+v", f)
	}
	if len(feeds) != 6 {
		t.Errorf("feeds = %v", feeds)
	}

	// A list replaced by rename.
	tokyo := world.MustPlace("Tokyo").Addr4().String()
	list := filepath.Join(data, "lists/datacenter-ipv4.txt")
	replace(t, list, "167.99.0.0/16\n14.8.0.0/16\n")
	waitFor(t, "list reload", func() bool { return d.decideNet(t, ev(tokyo)).Signals.IP.Hosting })

	// The city database replaced by rename: Tokyo's block moves to Osaka.
	city := filepath.Join(data, geo.CityIPv4File)
	next := city + ".next"
	var recs []geotest.City
	for _, p := range world.Places {
		if p.Country == "" {
			continue
		}
		c := geotest.City{Prefix: p.IPv4.String(), Country: p.Country, Region: p.Region,
			City: p.City, Lat: p.Lat, Lon: p.Lon}
		if p.Name == "Tokyo" {
			c.Region, c.City, c.Lat, c.Lon = "Osaka", "Osaka", 34.69, 135.50
		}
		recs = append(recs, c)
	}
	if err := geotest.WriteDBIPCity(next, 4, recs); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, city); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "city database reload", func() bool {
		return d.decideNet(t, ev(tokyo)).Signals.IP.City == "Osaka"
	})
	if f := d.feeds(t)[FeedCityName]; !f.LastOK || f.LastError != "" {
		t.Errorf("city feed after the swap: %+v", f)
	}
	if strings.Contains(d.log.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", d.log)
	}

	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`verdict_feed_entries{feed="datacenter"} 3`,
		`verdict_feed_loaded{feed="geo_city"} 1`, `verdict_feed_load_errors_total{feed="bad_asn"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// FeedCityName is the city feed's name (refdata.FeedCity), spelt out as an
// operator reads it in /v1/feeds.
const FeedCityName = "geo_city"

func replace(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: decisions did not change within 15s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
