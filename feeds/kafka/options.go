package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Default topic and group names.
const (
	DefaultEventsTopic     = "verdict.events"
	DefaultDecisionsTopic  = "verdict.decisions"
	DefaultDeadLetterTopic = "verdict.events.dlq"
	DefaultGroup           = "verdict"
	DefaultClientID        = "verdictd"
)

// Options configure a Consumer. Only Brokers is required; every other zero
// value takes the default its comment names.
type Options struct {
	// Brokers are the seed brokers, host:port. Kafka: bootstrap.servers.
	Brokers []string

	// Group is the consumer group verdictd instances share: the events
	// topic's partitions are divided among its members. Default "verdict".
	// Kafka: group.id. It cannot change while running: committed offsets
	// belong to the group.
	Group string
	// EventsTopic is read. Default "verdict.events".
	EventsTopic string
	// DecisionsTopic receives a decision for every event, and the
	// decisions made over HTTP. Default "verdict.decisions".
	DecisionsTopic string
	// DeadLetterTopic receives every record that is not a valid event,
	// unchanged, with the reason in headers. Default "verdict.events.dlq".
	DeadLetterTopic string
	// ClientID names this client in the brokers' logs and quotas. Default
	// "verdictd". Kafka: client.id.
	ClientID string

	// MaxEventBytes bounds a record's value: a larger one is a dead letter
	// (record_too_large) without being decoded. Default 64 KiB, the HTTP
	// API's limit for one event, so that both entry points accept the same
	// events.
	MaxEventBytes int
	// MaxInFlight bounds the decisions of one partition that are produced
	// but not yet acknowledged. A partition whose decisions are slow to be
	// acknowledged waits alone; the others go on. Default 1,024. Higher
	// hides more broker latency at the cost of more records to decide
	// again after a crash. No Kafka equivalent (compare
	// max.in.flight.requests.per.connection, which counts requests).
	MaxInFlight int
	// MaxQueued bounds the fetched records of one partition that wait for
	// its worker; beyond it the partition's fetching pauses until the
	// worker has caught up, so that a slow partition costs memory for at
	// most this many records and does not stall the others. Default 4,096.
	MaxQueued int
	// CommitInterval is how often the offsets of acknowledged decisions
	// are committed. Default 1s; at least 100ms. Kafka: auto.commit.interval.ms (whose
	// default is 5s). Shorter means fewer events decided again after a
	// crash (they are answered from the dedupe memory, not counted twice)
	// at the cost of more commit requests.
	CommitInterval time.Duration
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to others. Default 45s. Kafka:
	// session.timeout.ms. Shorter moves the partitions of a crashed
	// instance sooner but risks evicting one that is only paused (a long
	// GC, a busy machine).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a member may take to give partitions
	// up in a rebalance: to finish the records in flight and commit.
	// Default 60s. Kafka: rebalance.timeout.ms (max.poll.interval.ms in
	// the Java client).
	RebalanceTimeout time.Duration
	// ShutdownTimeout bounds a graceful stop, and the hand-over of revoked
	// partitions: in-flight decisions still unacknowledged after it are
	// not committed and are decided again by the next owner. Default 30s.
	ShutdownTimeout time.Duration
	// RestoreWindow is how far back, at most, the decisions topic is read
	// at start to rebuild the engine's dedupe memory for events that will
	// be redelivered (see Restore). It should equal the engine's
	// DedupeWindow. Default 1h; negative turns restoring off.
	RestoreWindow time.Duration

	// TLS, if set, encrypts every connection. Kafka:
	// security.protocol=SSL (or SASL_SSL with SASL).
	TLS *tls.Config
	// SASL, if set, authenticates every connection (PLAIN, SCRAM-SHA-256,
	// SCRAM-SHA-512; see SASLMechanism). Kafka: sasl.mechanism and
	// sasl.jaas.config. Use PLAIN only over TLS: it sends the password.
	SASL sasl.Mechanism

	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// ClientOpts are added last to the options of both franz-go clients
	// (the group consumer and the producer). Tests use it for a dialer.
	ClientOpts []kgo.Opt
}

// DefaultOptions are the values the zero fields of Options take.
var DefaultOptions = Options{
	Group:            DefaultGroup,
	EventsTopic:      DefaultEventsTopic,
	DecisionsTopic:   DefaultDecisionsTopic,
	DeadLetterTopic:  DefaultDeadLetterTopic,
	ClientID:         DefaultClientID,
	MaxEventBytes:    64 << 10,
	MaxInFlight:      1024,
	MaxQueued:        4096,
	CommitInterval:   time.Second,
	SessionTimeout:   45 * time.Second,
	RebalanceTimeout: 60 * time.Second,
	ShutdownTimeout:  30 * time.Second,
	RestoreWindow:    time.Hour,
}

func (o *Options) defaults() error {
	if len(o.Brokers) == 0 {
		return errors.New("kafka: no brokers")
	}
	d := DefaultOptions
	setDefault(&o.Group, d.Group)
	setDefault(&o.EventsTopic, d.EventsTopic)
	setDefault(&o.DecisionsTopic, d.DecisionsTopic)
	setDefault(&o.DeadLetterTopic, d.DeadLetterTopic)
	setDefault(&o.ClientID, d.ClientID)
	setDefault(&o.MaxEventBytes, d.MaxEventBytes)
	setDefault(&o.MaxInFlight, d.MaxInFlight)
	setDefault(&o.MaxQueued, d.MaxQueued)
	setDefault(&o.CommitInterval, d.CommitInterval)
	setDefault(&o.SessionTimeout, d.SessionTimeout)
	setDefault(&o.RebalanceTimeout, d.RebalanceTimeout)
	setDefault(&o.ShutdownTimeout, d.ShutdownTimeout)
	setDefault(&o.RestoreWindow, d.RestoreWindow)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// clientOpts are the options both clients share: brokers, identity,
// security, logging.
func (o *Options) clientOpts() []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.WithLogger(kgoLogger{o.Logger}),
	}
	if o.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(o.TLS.Clone()))
	}
	if o.SASL != nil {
		opts = append(opts, kgo.SASL(o.SASL))
	}
	return opts
}

// kgoLogger passes franz-go's warnings and errors to slog; its info and
// debug lines (every rebalance step, every metadata refresh) stay out.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, msg, append(keyvals, "source", "franz-go")...)
}

// SASL mechanism names, as Kafka spells them.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASLMechanism returns the franz-go mechanism for name (PLAIN,
// SCRAM-SHA-256 or SCRAM-SHA-512, case-insensitive) with a user and
// password.
func SASLMechanism(name, user, pass string) (sasl.Mechanism, error) {
	if user == "" {
		return nil, errors.New("SASL needs a user name")
	}
	switch strings.ToUpper(name) {
	case SASLPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case SASLScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case SASLScramSHA512:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("SASL mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", name)
}
