package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/rules"
	"github.com/verdictrisk/verdict/signals/device"
	"github.com/verdictrisk/verdict/signals/profile"
	"github.com/verdictrisk/verdict/signals/velocity"
)

const (
	testEvents    = "events"
	testDecisions = "decisions"
	testDLQ       = "dlq"
	testGroup     = "group"
	testParts     = 4
)

// cluster is a kfake broker on a random port with the three topics.
type cluster struct {
	*kfake.Cluster
	addr string
	net  *kfake.VirtualNetwork // set when the cluster runs on a virtual network
}

func newCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	base := []kfake.Opt{kfake.NumBrokers(1),
		kfake.SeedTopics(testParts, testEvents, testDecisions), kfake.SeedTopics(1, testDLQ),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &cluster{Cluster: c, addr: c.ListenAddrs()[0]}
}

// newVirtualCluster is newCluster on an in-memory network, for synctest.
func newVirtualCluster(t testing.TB) *cluster {
	var vn kfake.VirtualNetwork
	c := newCluster(t, kfake.Ports(9092), kfake.ListenFn(vn.Listen))
	c.net = &vn
	return c
}

func (c *cluster) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.addr)}
	if c.net != nil {
		opts = append(opts, kgo.Dialer(c.net.DialContext))
	}
	return opts
}

func (c *cluster) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(c.clientOpts(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// state is what survives a restart of verdictd: profiles and counters.
type state struct {
	profiles *profile.Store
	velocity *velocity.Store
}

func newState(t testing.TB) state {
	p, err := profile.Open(profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return state{profiles: p, velocity: velocity.NewStore(velocity.Options{})}
}

// newEngine is a fresh process's engine over st: its dedupe memory starts
// empty.
func newEngine(t testing.TB, st state) *engine.Engine {
	t.Helper()
	return newEngineWith(t, st, engine.Options{})
}

// newEngineWith is newEngine with options other than the sources.
func newEngineWith(t testing.TB, st state, o engine.Options) *engine.Engine {
	t.Helper()
	set, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := device.NewParser(device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the consumers that use it, so it closes after them.
	t.Cleanup(dev.Close)
	o.Rules, o.Devices, o.Profiles, o.Velocity = set, dev, st.profiles, st.velocity
	e, err := engine.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (c *cluster) options(extra ...kgo.Opt) Options {
	return Options{Brokers: []string{c.addr}, Group: testGroup, EventsTopic: testEvents,
		DecisionsTopic: testDecisions, DeadLetterTopic: testDLQ,
		CommitInterval: 100 * time.Millisecond, SessionTimeout: time.Second,
		RebalanceTimeout: 5 * time.Second, ShutdownTimeout: 10 * time.Second,
		Registerer: prometheus.NewRegistry(),
		// A refused request refreshes metadata; franz-go waits at least
		// MetadataMinAge (5s) between refreshes, which tests need not.
		ClientOpts: append(append(c.clientOpts()[1:], kgo.MetadataMinAge(50*time.Millisecond)),
			extra...)}
}

// running is a consumer started by a test.
type running struct {
	*Consumer
	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, eng *engine.Engine, o Options, hook func(*kgo.Record)) *running {
	t.Helper()
	c, err := New(eng, o)
	if err != nil {
		t.Fatal(err)
	}
	c.beforeDecide = hook
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Consumer: c, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop is a graceful shutdown, as on SIGTERM.
func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		r.t.Errorf("consumer: %v", err)
	}
	r.Close()
}

// event is a failed login of user from ip, id "<prefix>-<n>".
func event(prefix string, n int, user, ip string) []byte {
	return []byte(fmt.Sprintf(`{"id":"%s-%d","type":"login","outcome":"failed",`+
		`"time":"2026-12-03T08:00:%02d.%03dZ","ip":"%s","user":{"id":"%s"}}`,
		prefix, n, n/1000%60, n%1000, ip, user))
}

// produce writes records and waits for the broker to have them all.
func produce(t testing.TB, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// failedLogins are n failed logins of distinct users from one address, so
// that velocity.failed_logins_per_ip counts them: keyed by the address,
// they share a partition and are decided in order.
func failedLogins(prefix string, from, to int, ip string) []*kgo.Record {
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		rs = append(rs, &kgo.Record{Topic: testEvents, Key: []byte(ip),
			Value: event(prefix, i, "u"+strconv.Itoa(i), ip)})
	}
	return rs
}

// decided is one decision record as read back.
type decided struct {
	rec      *kgo.Record
	Action   string `json:"action"`
	EventID  string `json:"event_id"`
	ID       string `json:"decision_id"`
	Repeated bool   `json:"repeated"`
	Signals  struct {
		Velocity map[string]int `json:"velocity"`
	} `json:"signals"`
}

// readTopic reads topic from the start until until says it has enough, or
// fails the test after a minute.
func readTopic(t testing.TB, c *cluster, topic string, until func([]*kgo.Record) bool,
	opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := c.client(t, append([]kgo.Opt{kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100 * time.Millisecond)},
		opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []*kgo.Record
	for !until(out) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d records after a minute, not enough", topic, len(out))
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// decisions reads the decisions topic until every id in ids has one.
func decisions(t testing.TB, c *cluster, ids []string, opts ...kgo.Opt) map[string][]decided {
	t.Helper()
	byID := map[string][]decided{}
	readTopic(t, c, testDecisions, func(rs []*kgo.Record) bool {
		for _, r := range rs[countAll(byID):] {
			var d decided
			if err := json.Unmarshal(r.Value, &d); err != nil {
				t.Fatalf("decision at offset %d: %v", r.Offset, err)
			}
			d.rec = r
			byID[d.EventID] = append(byID[d.EventID], d)
		}
		for _, id := range ids {
			if len(byID[id]) == 0 {
				return false
			}
		}
		return true
	}, opts...)
	return byID
}

func countAll(m map[string][]decided) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, prefix+"-"+strconv.Itoa(i))
	}
	return out
}

// firstDecisions checks that every id has exactly one decision that is
// not a repeat, and returns those.
func firstDecisions(t testing.TB, byID map[string][]decided, ids []string) map[string]decided {
	t.Helper()
	out := map[string]decided{}
	for _, id := range ids {
		for _, d := range byID[id] {
			if d.Repeated {
				continue
			}
			if prev, ok := out[id]; ok {
				t.Errorf("event %s decided twice: decisions %s and %s", id, prev.ID, d.ID)
			}
			out[id] = d
		}
		if _, ok := out[id]; !ok {
			t.Errorf("event %s has no first decision (%d repeats)", id, len(byID[id]))
		}
	}
	return out
}

// checkCounts checks that the failed-login counter of one address saw
// each of n events exactly once: the first decisions' counts are 1..n.
func checkCounts(t testing.TB, first map[string]decided, n int) {
	t.Helper()
	seen := map[int]string{}
	for id, d := range first {
		k := d.Signals.Velocity["failed_logins_per_ip"]
		if other, dup := seen[k]; dup || k < 1 || k > n {
			t.Errorf("event %s: failed_logins_per_ip = %d (also %q); want a distinct count in 1..%d",
				id, k, other, n)
		}
		seen[k] = id
	}
}

// waitCommitted waits until the group has committed every partition's end
// offset of topic.
func waitCommitted(t testing.TB, c *cluster, topic string) {
	t.Helper()
	adm := kadm.NewClient(c.client(t))
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err := adm.ListEndOffsets(ctx, topic)
		committed, err2 := adm.FetchOffsets(ctx, testGroup)
		cancel()
		behind := ""
		if err == nil && err2 == nil {
			ends.Each(func(o kadm.ListedOffset) {
				got, _ := committed.Lookup(topic, o.Partition)
				if o.Offset > 0 && got.At != o.Offset {
					behind += fmt.Sprintf(" p%d at %d of %d", o.Partition, got.At, o.Offset)
				}
			})
			if behind == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets not committed to the end:%s %v %v", behind, err, err2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// offsetLog records the offsets a consumer decided, per partition.
type offsetLog struct {
	mu   sync.Mutex
	seen map[int32]map[int64]int
}

func (l *offsetLog) hook(r *kgo.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[int32]map[int64]int{}
	}
	if l.seen[r.Partition] == nil {
		l.seen[r.Partition] = map[int64]int{}
	}
	l.seen[r.Partition][r.Offset]++
}

// checkContiguous fails unless every offset below each partition's end
// was decided at least once.
func (l *offsetLog) checkContiguous(t testing.TB, ends map[int32]int64) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			if l.seen[p][o] == 0 {
				t.Errorf("partition %d offset %d was never decided", p, o)
			}
		}
	}
}

// killSwitch is a dialer that can cut every connection it made and refuse
// new ones: to the broker, the client vanishes as a crashed process does,
// without committing or leaving its group.
type killSwitch struct {
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	mu     sync.Mutex
	conns  []net.Conn
	killed bool
}

func (k *killSwitch) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		return nil, fmt.Errorf("dial %s: killed", addr)
	}
	conn, err := k.dial(ctx, network, addr)
	if err == nil {
		k.conns = append(k.conns, conn)
	}
	return conn, err
}

func (k *killSwitch) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed = true
	for _, c := range k.conns {
		c.Close()
	}
}
