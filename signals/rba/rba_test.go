package rba

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"testing"
)

// history is a user's logins as a History.
type history struct {
	logins int
	counts [NumLevels]map[string]int
}

func (h *history) Logins() int                 { return h.logins }
func (h *history) Count(l Level, v string) int { return h.counts[l][v] }

func (h *history) add(x Login) {
	h.logins++
	for l := range NumLevels {
		if h.counts[l] == nil {
			h.counts[l] = map[string]int{}
		}
		h.counts[l][x[l]]++
	}
}

func (h *history) each(l Level, fn func(string, int)) {
	for v, n := range h.counts[l] {
		fn(v, n)
	}
}

var (
	aliceHome = Login{"1.1.1.1", "100", "DE", "ua-a", "Chrome 131", "Windows 10", "desktop"}
	aliceWork = Login{"2.2.2.2", "100", "DE", "ua-a", "Chrome 131", "Windows 10", "desktop"}
	bobHome   = Login{"3.3.3.3", "200", "FR", "ua-b", "Firefox 133", "Windows 10", "desktop"}
	carolHome = Login{"4.4.4.4", "300", "US", "ua-c", "Mobile Safari 18", "iOS 18", "mobile"}
)

// fixedDataSet learns six logins of three users: alice twice from home and
// once from work, bob twice, carol once.
func fixedDataSet(t testing.TB, m *Model, tenant string) map[string]*history {
	t.Helper()
	users := map[string]*history{"alice": {}, "bob": {}, "carol": {}}
	for _, l := range []struct {
		user string
		x    Login
	}{
		{"alice", aliceHome}, {"bob", bobHome}, {"alice", aliceHome}, {"carol", carolHome},
		{"alice", aliceWork}, {"bob", bobHome},
	} {
		h := users[l.user]
		m.Learn(tenant, &l.x, h.logins == 0)
		h.add(l.x)
	}
	return users
}

// TestScoreByHand checks scores against values worked out by hand from the
// formula over the fixed data set. Its global counts: N = 6 logins of 3
// users; IP 1.1.1.1:2 2.2.2.2:1 3.3.3.3:2 4.4.4.4:1; ASN 100:3 200:2 300:1;
// country DE:3 FR:2 US:1; UA a:3 b:2 c:1; browser Chrome:3 Firefox:2
// Safari:1; OS Windows:5 iOS:1; device desktop:5 mobile:1. Unseen values
// for smoothing: IP 1+3 ASNs+3 countries = 7; UA 1+3+2+2 = 8.
func TestScoreByHand(t *testing.T) {
	const w1, w2, w3, w4 = 0.5386653840551359, 0.2680451498625666, 0.18818295100109536,
		0.0051065150812021525
	m := New(Options{})
	users := fixedDataSet(t, m, "")
	tests := []struct {
		name     string
		user     string
		x        Login
		ip, ua   float64 // the feature factors p(x)/p(x|u)
		risk     float64
		log10    float64
		unscored bool
	}{
		{
			// IP: global 0.6·2/13 + 0.3·3/6 + 0.1·3/6 = 0.292308;
			//     alice   0.6·2/3 + 0.3·3/3 + 0.1·3/3 = 0.8.
			// UA: global w1·3/14 + w2·3/6 + w3·5/6 + w4·5/6 = 0.410525;
			//     alice w1+w2+w3+w4 = 1.
			// p(u|attack)/p(u|legit) = (1/3)/(3/6) = 2/3.
			name: "alice at home", user: "alice", x: aliceHome,
			ip: 0.292308 / 0.8, ua: 0.410525, risk: 0.292308 / 0.8 * 0.410525 * 2 / 3,
			log10: -1.0000009,
		},
		{
			// IP: global 0.6·1/13 (smoothed, never seen) = 0.046154;
			//     alice 0, so global/4: factor 4.
			// UA: global w1·1/14 + w4·5/6 = 0.042732; alice w4·3/3.
			name: "attacker on alice", user: "alice",
			x:  Login{"9.9.9.9", "999", "CN", "ua-z", "Chrome 120", "Linux", "desktop"},
			ip: 4, ua: (w1/14 + w4*5/6) / w4, risk: 4 * (w1/14 + w4*5/6) / w4 * 2 / 3,
			log10: 1.3485925,
		},
		{
			// IP: global 0.6·1/13 + 0.3·2/6 + 0.1·2/6 = 0.179487;
			//     bob 0.6·0 + 0.3·2/2 + 0.1·2/2 = 0.4.
			// UA: global w1·2/14 + w2·2/6 + w3·5/6 + w4·5/6 = 0.327375; bob 1.
			// (1/3)/(2/6) = 1.
			name: "bob on a new address of his operator", user: "bob",
			x:  Login{"3.3.3.9", "200", "FR", "ua-b", "Firefox 133", "Windows 10", "desktop"},
			ip: (0.6/13 + 0.3*2/6 + 0.1*2/6) / 0.4, ua: w1*2/14 + w2*2/6 + w3*5/6 + w4*5/6,
			risk: 0.4487179 * 0.3273751, log10: -0.8329809,
		},
		{name: "a user without history", user: "dave", x: aliceHome, unscored: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := users[tc.user]
			if h == nil {
				h = &history{}
			}
			got := m.Score("", &tc.x, h)
			if tc.unscored {
				if got.OK || got.Risk != 0 {
					t.Fatalf("scored without history: %+v", got)
				}
				return
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"ip factor", got.Features[0], tc.ip}, {"ua factor", got.Features[1], tc.ua},
				{"risk", got.Risk, tc.risk}, {"log10", got.Log10, tc.log10},
			} {
				if math.Abs(c.got-c.want) > 1e-5*math.Max(1, math.Abs(c.want)) {
					t.Errorf("%s = %.7f, want %.7f", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestUnlearnAndForgetUndoLearn(t *testing.T) {
	m := New(Options{})
	users := fixedDataSet(t, m, "")
	alice := users["alice"]
	before := m.Score("", &aliceHome, alice)

	x := Login{"5.5.5.5", "500", "BR", "ua-e", "Edge 131", "Windows 11", "desktop"}
	m.Learn("", &x, false)
	if got := m.Score("", &aliceHome, alice); got.Risk == before.Risk {
		t.Fatal("a learnt login did not change the score")
	}
	m.Unlearn("", &x, false)
	if got := m.Score("", &aliceHome, alice); math.Abs(got.Risk-before.Risk) > 1e-12 {
		t.Errorf("after unlearn risk = %v, want %v", got.Risk, before.Risk)
	}
	if s := m.Stats(); s.Values[IP] != 4 || s.Values[ASN] != 3 || s.Logins != 6 {
		t.Errorf("stats after unlearn = %+v", s)
	}

	carol := users["carol"]
	m.Forget("", carol.logins, carol.each)
	logins, n, _ := m.TenantStats("")
	if logins != 5 || n != 2 {
		t.Errorf("after forgetting carol: %d logins %d users, want 5 and 2", logins, n)
	}
	if s := m.Stats(); s.Values[Country] != 2 || s.Values[DeviceType] != 1 {
		t.Errorf("carol's values survived: %+v", s.Values)
	}
}

func TestTenantsAreApart(t *testing.T) {
	m := New(Options{})
	fixedDataSet(t, m, "shop-a")
	alice := &history{}
	alice.add(aliceHome)
	if got := m.Score("shop-b", &aliceHome, alice); got.OK {
		t.Errorf("tenant shop-b scored from shop-a's tables: %+v", got)
	}
	m.Learn("shop-b", &aliceHome, true)
	got := m.Score("shop-b", &aliceHome, alice)
	// One login of one user: every global likelihood is the user's own,
	// except the smoothed address level: 0.6·1/(1+3) + 0.4 = 0.55.
	if !got.OK || math.Abs(got.Features[0]-0.55) > 1e-9 {
		t.Errorf("shop-b score = %+v, want an IP factor of 0.55", got)
	}
}

func TestTablesAreBounded(t *testing.T) {
	m := New(Options{MaxValues: 100})
	for i := range 1000 {
		x := Login{fmt.Sprint("10.0.", i/256, ".", i%256), "1", "DE", "ua", "b", "o", "d"}
		m.Learn("", &x, i == 0)
	}
	// A frequent address must survive the churn of one-off ones.
	common := Login{"8.8.8.8", "1", "DE", "ua", "b", "o", "d"}
	for range 50 {
		m.Learn("", &common, false)
	}
	for i := range 1000 {
		x := Login{fmt.Sprint("10.1.", i/256, ".", i%256), "1", "DE", "ua", "b", "o", "d"}
		m.Learn("", &x, false)
	}
	s := m.Stats()
	if s.Values[IP] > 100 || s.Evictions[IP] < 1900 {
		t.Errorf("ip table: %d values, %d evictions", s.Values[IP], s.Evictions[IP])
	}
	if m.tables[IP].m[xxhashOf("8.8.8.8")].n != 50 {
		t.Error("the frequent address was evicted")
	}
	if s.Logins != 2050 {
		t.Errorf("logins = %d", s.Logins)
	}
}

// memWriter is a bucket in memory.
type memWriter map[string][]byte

func (w memWriter) Put(k, v []byte) error { w[string(k)] = append([]byte(nil), v...); return nil }
func (w memWriter) Delete(k []byte) error { delete(w, string(k)); return nil }

func (w memWriter) loadInto(t *testing.T, m *Model) {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := m.Load([]byte(k), w[k]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChangesRoundTrip(t *testing.T) {
	m := New(Options{})
	users := fixedDataSet(t, m, "")
	fixedDataSet(t, m, "other")
	bucket := memWriter{}
	write, done := m.Changes()
	if err := write(bucket); err != nil {
		t.Fatal(err)
	}
	done(true)

	// A change after the flush, a failed flush, then a good one.
	m.Unlearn("", &carolHome, true)
	write, done = m.Changes()
	done(false)
	write, done = m.Changes()
	if err := write(bucket); err != nil {
		t.Fatal(err)
	}
	done(true)

	restored := New(Options{})
	bucket.loadInto(t, restored)
	for _, x := range []Login{aliceHome, bobHome, carolHome} {
		want, got := m.Score("", &x, users["alice"]), restored.Score("", &x, users["alice"])
		if want != got {
			t.Errorf("%v: restored score %+v, want %+v", x, got, want)
		}
	}
	if want, got := m.Stats(), restored.Stats(); want != got {
		t.Errorf("restored stats %+v, want %+v", got, want)
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	m := New(Options{})
	value := binary.BigEndian.AppendUint64([]byte{prefixValue, 0}, 42)
	for _, kv := range [][2][]byte{
		{[]byte("x"), nil},
		{value, []byte{0, 0, 0, 1, 0, 0, 0, 7}}, // tenant 7 unknown
	} {
		if err := m.Load(kv[0], kv[1]); err == nil {
			t.Errorf("Load(%q) accepted", kv[0])
		}
	}
}

func xxhashOf(v string) uint64 { return (&tenant{}).key(v) }

// TestFailedFlushKeepsNewerChanges: a value changed again while a flush
// was writing it keeps its newer count when that flush fails.
func TestFailedFlushKeepsNewerChanges(t *testing.T) {
	m := New(Options{})
	m.Learn("", &aliceHome, true)
	_, done := m.Changes()
	m.Learn("", &aliceHome, false)
	m.Learn("", &bobHome, true)
	done(false)
	bucket := memWriter{}
	write, done := m.Changes()
	if err := write(bucket); err != nil {
		t.Fatal(err)
	}
	done(true)
	restored := New(Options{})
	bucket.loadInto(t, restored)
	if got, want := restored.Stats(), m.Stats(); got != want {
		t.Errorf("restored %+v, want %+v", got, want)
	}
	h := &history{}
	h.add(aliceHome)
	if got, want := restored.Score("", &aliceHome, h), m.Score("", &aliceHome, h); got != want {
		t.Errorf("restored score %+v, want %+v", got, want)
	}
}
