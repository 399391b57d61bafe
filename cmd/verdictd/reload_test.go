package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/verdictrisk/verdict/signals/geo/geotest"
)

const adminToken = "test-admin-token-0123456789"

// rulesDaemon starts verdictd on a copy of the default pack with the admin
// API on, and returns it with its rules folder.
func rulesDaemon(t *testing.T, data, state, rulesDir string) *daemon {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, data, state, "--rules", rulesDir, "--admin-token-file", tok)
}

func copyDefaultPack(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "rules", "default", "verdict.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "verdict.yaml"), string(b))
	return dir
}

// writeFile writes beside and renames, as deploy tools and editors do, so
// that the watcher never reads half a file.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func (d *daemon) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (d *daemon) version(t *testing.T) string {
	t.Helper()
	var r struct {
		Version string `json:"rules_version"`
	}
	json.Unmarshal([]byte(d.get(t, "/readyz")), &r)
	return r.Version
}

// metric returns the value of the metric line that starts with series.
func (d *daemon) metric(t *testing.T, series string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(d.get(t, "/metrics")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			return v
		}
	}
	return ""
}

func (d *daemon) admin(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, d.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// load sends decisions from a few clients until stopped and counts every
// answer that is not a decision.
type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, fail atomic.Int64
	mu       sync.Mutex
	versions map[string]int
	errs     []string
}

func startLoad(d *daemon, clients int) *load {
	l := &load{stop: make(chan struct{}), versions: map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	for c := range clients {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"type":"login","outcome":"succeeded","ip":"10.%d.%d.1",`+
					`"user":{"id":"u%d-%d"},"user_agent":%q}`, c, i%250, c, i%50, ua)
				l.one(client, d.url, body)
			}
		})
	}
	return l
}

func (l *load) one(client *http.Client, url, body string) {
	resp, err := client.Post(url+"/v1/decide", "application/json", strings.NewReader(body))
	if err != nil {
		l.failed(err.Error())
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var dec struct {
		Version string `json:"rules_version"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &dec) != nil {
		l.failed(fmt.Sprintf("%d %s", resp.StatusCode, b))
		return
	}
	l.ok.Add(1)
	l.mu.Lock()
	l.versions[dec.Version]++
	l.mu.Unlock()
}

func (l *load) failed(msg string) {
	l.fail.Add(1)
	l.mu.Lock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, msg)
	}
	l.mu.Unlock()
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

// TestReloadUnderLoad: while clients decide over real HTTP, new rule files
// are picked up, a broken file is rejected and the running set stays, the
// admin API and SIGHUP reload, and not one request fails. After a restart
// with broken files, the last good set runs.
func TestReloadUnderLoad(t *testing.T) {
	data, state := t.TempDir(), t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	dir := copyDefaultPack(t)
	d := rulesDaemon(t, data, state, dir)
	v1 := d.version(t)
	l := startLoad(d, 4)
	sawDecisions := func(n int64) {
		t.Helper()
		start := l.ok.Load()
		waitUntil(t, "decisions flow", func() bool { return l.ok.Load() >= start+n })
	}
	sawDecisions(50)

	// A new rule file is picked up by itself.
	office := filepath.Join(dir, "office.yaml")
	writeFile(t, office, "lists:\n  - {name: office, kind: cidr, values: [10.0.0.0/8]}\n"+
		"rules:\n  - {name: office, when: 'in_list(\"office\", ip.address)', action: allow}\n")
	waitUntil(t, "the new file is loaded", func() bool { return d.version(t) != v1 })
	v2 := d.version(t)
	sawDecisions(50)

	// A broken file is rejected; the running set stays and says why.
	broken := filepath.Join(dir, "broken.yaml")
	writeFile(t, broken, "rules:\n  - {name: broken, when: ip.countri == \"RU\", score: 10}\n")
	waitUntil(t, "the broken file is rejected", func() bool {
		return d.metric(t, `verdict_rules_last_reload_successful{set="live"}`) == "0"
	})
	if v := d.version(t); v != v2 {
		t.Errorf("version after a broken file = %s, want %s", v, v2)
	}
	code, body := d.admin(t, "POST", "/v1/admin/reload", adminToken)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "rules_invalid") ||
		!strings.Contains(body, `broken.yaml:2:29: rule \"broken\": unknown signal ip.countri`) {
		t.Errorf("admin reload of a broken set: %d %s", code, body)
	}
	if code, _ := d.admin(t, "POST", "/v1/admin/reload", "wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("admin reload with a wrong token: %d", code)
	}
	if code, _ := d.admin(t, "POST", "/v1/admin/reload", ""); code != http.StatusUnauthorized {
		t.Errorf("admin reload without a token: %d", code)
	}
	code, body = d.admin(t, "GET", "/v1/admin/rules", adminToken)
	if code != 200 || !strings.Contains(body, `"version":"`+v2) || !strings.Contains(body, "ip.countri") {
		t.Errorf("admin rules: %d %s", code, body)
	}
	sawDecisions(50)

	// Removing it recovers; SIGHUP and the admin API reload on demand.
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the set loads again", func() bool {
		return d.metric(t, `verdict_rules_last_reload_successful{set="live"}`) == "1"
	})
	if err := os.WriteFile(filepath.Join(dir, "verdict.yaml"),
		bytes.Replace(must(os.ReadFile(filepath.Join(dir, "verdict.yaml"))), []byte("step_up: 50"),
			[]byte("step_up: 45"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, "SIGHUP reloads", func() bool { v := d.version(t); return v != v2 && v != v1 })
	v3 := d.version(t)
	if code, body := d.admin(t, "POST", "/v1/admin/reload", adminToken); code != 200 ||
		!strings.Contains(body, `"result":"unchanged"`) {
		t.Errorf("admin reload of an unchanged set: %d %s", code, body)
	}
	sawDecisions(50)
	l.finish()

	if n := l.fail.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed during reloads: %v", n, n+l.ok.Load(), l.errs)
	}
	if len(l.versions) < 2 || l.versions[v1] == 0 || l.versions[v3] == 0 {
		t.Errorf("decisions by rules version: %v (want %s, %s and %s)", l.versions, v1, v2, v3)
	}
	t.Logf("%d decisions, none failed, by rules version: %v", l.ok.Load(), l.versions)

	// Restart with broken files: the last good set runs.
	d.stop(t)
	writeFile(t, office, "rules: [")
	d = rulesDaemon(t, data, state, dir)
	if v := d.version(t); v != v3 {
		t.Errorf("after a restart with broken files the version is %s, want the last good %s", v, v3)
	}
	if !strings.Contains(d.log.String(), "starting with the last good set") ||
		d.metric(t, `verdict_rules_last_reload_successful{set="live"}`) != "0" {
		t.Errorf("the start on the last good set is not reported:\n%s", d.log)
	}
	// The start log and the admin API name the set's true source, and no
	// load has succeeded since the start.
	lastGood := filepath.Join(state, "rules.last-good.json")
	if src := logField(d.log.String(), "rules loaded", "source"); src != lastGood {
		t.Errorf("rules loaded from %q, want the last good file %s", src, lastGood)
	}
	code, body = d.admin(t, "GET", "/v1/admin/rules", adminToken)
	if code != 200 || !strings.Contains(body, `"source":"last good set"`) ||
		!strings.Contains(body, `"last_good":"`+lastGood+`"`) ||
		strings.Contains(body, "0001-01-01") || strings.Contains(body, "last_success") {
		t.Errorf("admin rules after a start on the last good set: %d %s", code, body)
	}
}

// logField is the value of key in the first JSON log line with message msg.
func logField(log, msg, key string) any {
	for _, line := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec[key]
		}
	}
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestShadowRules: a candidate set given with --shadow-rules decides beside
// the live set, shows in explanations and metrics, and never changes the
// action.
func TestShadowRules(t *testing.T) {
	data := t.TempDir()
	if _, err := geotest.Fixture(data); err != nil {
		t.Fatal(err)
	}
	shadow := t.TempDir()
	writeFile(t, filepath.Join(shadow, "r.yaml"),
		"rules:\n  - {name: all-logins, when: 'event.type == \"login\"', action: deny}\n")
	d := startDaemon(t, data, t.TempDir(), "--shadow-rules", shadow)
	body := `{"type":"login","ip":"10.1.1.1","user":{"id":"u"},"user_agent":"` + ua + `"}`
	resp, err := http.Post(d.url+"/v1/decide?explain=true", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var dec struct {
		Action    string
		ShadowSet struct{ Action string } `json:"shadow_set"`
	}
	json.NewDecoder(resp.Body).Decode(&dec)
	resp.Body.Close()
	if dec.Action != "allow" || dec.ShadowSet.Action != "deny" {
		t.Errorf("live %q, shadow set %q; want allow and deny", dec.Action, dec.ShadowSet.Action)
	}
	if v := d.metric(t, `verdict_shadow_set_decisions_total{result="disagree"}`); v != "1" {
		t.Errorf("disagreements = %q, want 1", v)
	}
	if !strings.Contains(d.log.String(), "shadow rule set disagrees") {
		t.Errorf("no disagreement logged:\n%s", d.log)
	}
}
