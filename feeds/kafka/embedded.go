package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultEmbeddedAddr is where the embedded broker listens by default, the
// port Kafka clients try first.
const DefaultEmbeddedAddr = "127.0.0.1:9092"

// EmbeddedOptions configure the embedded broker.
type EmbeddedOptions struct {
	// Addr is the listen address, host:port, advertised to clients as it
	// is: give a loopback address. Port 0 picks a free port (see
	// Broker.Addr). Default 127.0.0.1:9092.
	Addr string
	// DataDir keeps the broker's topics, records and committed offsets,
	// so that a restart finds them again. Writes go through the page
	// cache (as Kafka's do by default): a process crash loses nothing, a
	// machine crash may lose the last writes. Empty keeps everything in
	// memory.
	DataDir string
	Logger  *slog.Logger
}

// Broker is an embedded single-node Kafka broker: franz-go's kfake, a real
// implementation of the Kafka protocol in this process. It is meant for a
// development machine, a demo and tests, not for production: one node, no
// replication, no authentication.
//
// TODO: no SASL or TLS on the embedded broker (kfake has both); it listens
// on loopback only, for one machine's use.
type Broker struct {
	c    *kfake.Cluster
	addr string
}

// StartEmbedded starts the embedded broker, loading its DataDir if it has
// one.
func StartEmbedded(o EmbeddedOptions) (*Broker, error) {
	if o.Addr == "" {
		o.Addr = DefaultEmbeddedAddr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker address %q: %w", o.Addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("embedded broker address %q: port %q is not a number", o.Addr, port)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("verdict-embedded"),
		kfake.WithLogger(kfakeLogger{o.Logger.With("component", "kafka-broker")}),
		// kfake listens on 127.0.0.1 with the port it was given; listen
		// where we were asked instead, and so advertise that address.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, port))
		}),
	}
	if o.DataDir != "" {
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{c: c, addr: c.ListenAddrs()[0]}, nil
}

// Addr is the address the broker listens on, host:port.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker and writes its state to its DataDir.
func (b *Broker) Close() { b.c.Close() }

// TopicSpec is a topic for CreateTopics.
type TopicSpec struct {
	Name string
	// Retention is how long records are kept; 0 is the broker's default.
	Retention time.Duration
}

// CreateTopics creates the topics that do not exist yet, with partitions
// partitions (-1: the broker's default) and replicationFactor replicas
// (-1: the broker's default). Existing topics are left as they are.
func CreateTopics(ctx context.Context, o Options, partitions int32, replicationFactor int16,
	topics ...TopicSpec) error {
	if err := o.defaults(); err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(o.clientOpts(), o.ClientOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var errs []error
	for _, t := range topics {
		var configs map[string]*string
		if t.Retention > 0 {
			configs = map[string]*string{
				"retention.ms": kadm.StringPtr(strconv.FormatInt(t.Retention.Milliseconds(), 10))}
		}
		resp, err := adm.CreateTopic(ctx, partitions, replicationFactor, configs, t.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", t.Name, err))
		}
	}
	return errors.Join(errs...)
}

// kfakeLogger passes the broker's warnings and errors to slog.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(msg, args...))
	}
}
