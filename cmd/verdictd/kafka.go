package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verdictrisk/verdict/engine"
	"github.com/verdictrisk/verdict/feeds/kafka"
)

// kafkaConfig is the Kafka part of verdictd's command line. Each flag's
// usage names its default, the Kafka setting it matches and its trade-off;
// docs/kafka.md has the long form.
type kafkaConfig struct {
	brokers                         string
	group, events, decisions, dlq   string
	clientID                        string
	embeddedListen, embeddedData    string
	createTopics                    bool
	partitions, replicas            int
	retention                       time.Duration
	commitInterval, sessionTimeout  time.Duration
	maxInFlight                     int
	tls                             bool
	tlsCA, tlsCert, tlsKey, tlsName string
	sasl, saslUser, saslPassFile    string
}

// kafkaPasswordEnv holds the SASL password when no file is given; a
// password is never a flag, so that it does not show in the process list.
const kafkaPasswordEnv = "VERDICT_KAFKA_SASL_PASSWORD"

func (k *kafkaConfig) register(fs *flag.FlagSet) {
	d := kafka.DefaultOptions
	fs.StringVar(&k.brokers, "kafka", "",
		"Kafka: off when empty (the default); 'embedded' starts an in-process broker; "+
			"else comma-separated seed brokers host:port (bootstrap.servers)")
	fs.StringVar(&k.group, "kafka-group", d.Group,
		"consumer group shared by verdictd instances (group.id); cannot change while running")
	fs.StringVar(&k.events, "kafka-events-topic", d.EventsTopic, "topic of auth events to decide")
	fs.StringVar(&k.decisions, "kafka-decisions-topic", d.DecisionsTopic,
		"topic every decision is produced to, HTTP ones included")
	fs.StringVar(&k.dlq, "kafka-dlq-topic", d.DeadLetterTopic,
		"dead-letter topic: records that are not valid events, unchanged, reason in headers")
	fs.StringVar(&k.clientID, "kafka-client-id", d.ClientID, "client.id shown in broker logs and quotas")
	fs.StringVar(&k.embeddedListen, "kafka-embedded-listen", kafka.DefaultEmbeddedAddr,
		"address of the embedded broker, advertised as given (use a loopback address; port 0 picks one)")
	fs.StringVar(&k.embeddedData, "kafka-embedded-data", "",
		"folder of the embedded broker's topics and offsets (default: kafka/ in --state)")
	fs.BoolVar(&k.createTopics, "kafka-create-topics", false,
		"create missing topics on a real cluster (always done on the embedded one); "+
			"off by default since most clusters' topics are made by their operators")
	fs.IntVar(&k.partitions, "kafka-partitions", 8,
		"partitions of topics verdictd creates (num.partitions): the most instances and cores "+
			"that can share the stream")
	fs.IntVar(&k.replicas, "kafka-replication-factor", -1,
		"replicas of topics verdictd creates (default.replication.factor); -1 is the broker's default")
	fs.DurationVar(&k.retention, "kafka-retention", 7*24*time.Hour,
		"retention.ms of topics verdictd creates (Kafka's default, 7 days)")
	fs.DurationVar(&k.commitInterval, "kafka-commit-interval", d.CommitInterval,
		"how often decided offsets are committed (auto.commit.interval.ms, Kafka default 5s); "+
			"shorter redelivers less after a crash, for more commit requests")
	fs.DurationVar(&k.sessionTimeout, "kafka-session-timeout", d.SessionTimeout,
		"how long a silent member keeps its partitions (session.timeout.ms); shorter fails over "+
			"sooner, but may evict an instance that is only slow")
	fs.IntVar(&k.maxInFlight, "kafka-max-in-flight", d.MaxInFlight,
		"decisions per partition produced and not yet acknowledged; more hides broker latency, "+
			"and more are decided again after a crash")
	fs.BoolVar(&k.tls, "kafka-tls", false, "connect over TLS (security.protocol SSL or SASL_SSL)")
	fs.StringVar(&k.tlsCA, "kafka-tls-ca", "",
		"PEM file of the CAs that sign the brokers' certificates (ssl.truststore; default: the system's)")
	fs.StringVar(&k.tlsCert, "kafka-tls-cert", "", "PEM client certificate for mutual TLS (ssl.keystore)")
	fs.StringVar(&k.tlsKey, "kafka-tls-key", "", "PEM key of --kafka-tls-cert")
	fs.StringVar(&k.tlsName, "kafka-tls-server-name", "",
		"name expected in the brokers' certificates (default: the host of each broker address)")
	fs.StringVar(&k.sasl, "kafka-sasl", "",
		"SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (sasl.mechanism); PLAIN sends the "+
			"password, so use it only with --kafka-tls")
	fs.StringVar(&k.saslUser, "kafka-sasl-user", "", "SASL user name")
	fs.StringVar(&k.saslPassFile, "kafka-sasl-password-file", "",
		"file holding the SASL password (default: the "+kafkaPasswordEnv+" environment variable)")
}

// kafkaService is verdictd's Kafka side: the consumer and, with
// --kafka=embedded, the broker.
type kafkaService struct {
	broker   *kafka.Broker
	consumer *kafka.Consumer
	done     chan error
}

// openKafka starts the embedded broker if asked, creates the topics if
// asked, and builds the consumer; it joins the group in runKafka.
func (s *service) openKafka() error {
	k := s.cfg.kafka
	if k.brokers == "" {
		return nil
	}
	opts, err := s.kafkaOptions()
	if err != nil {
		return err
	}
	ks := &kafkaService{}
	s.kafka = ks
	create := k.createTopics
	if k.brokers == "embedded" {
		if err := s.startBroker(&opts); err != nil {
			return err
		}
		create = true
	}
	if create {
		if err := createTopics(opts, k); err != nil {
			return err
		}
	}
	if ks.consumer, err = kafka.New(s.stack.Engine, opts); err != nil {
		return err
	}
	return nil
}

func (s *service) startBroker(opts *kafka.Options) error {
	k := s.cfg.kafka
	dir := k.embeddedData
	if dir == "" {
		dir = filepath.Join(s.cfg.stateDir, "kafka")
	}
	b, err := kafka.StartEmbedded(kafka.EmbeddedOptions{Addr: k.embeddedListen, DataDir: dir,
		Logger: s.log})
	if err != nil {
		return err
	}
	s.kafka.broker = b
	opts.Brokers = []string{b.Addr()}
	s.log.Info("embedded Kafka broker started", "addr", b.Addr(), "data", dir,
		"produce", fmt.Sprintf("kcat -b %s -t %s -P", b.Addr(), k.events),
		"consume", fmt.Sprintf("kcat -b %s -t %s -C -o end", b.Addr(), k.decisions))
	return nil
}

func createTopics(opts kafka.Options, k kafkaConfig) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := []kafka.TopicSpec{{Name: k.events, Retention: k.retention},
		{Name: k.decisions, Retention: k.retention}, {Name: k.dlq, Retention: k.retention}}
	return kafka.CreateTopics(ctx, opts, int32(k.partitions), int16(k.replicas), topics...)
}

// kafkaOptions turns the flags into consumer options.
func (s *service) kafkaOptions() (kafka.Options, error) {
	k := s.cfg.kafka
	o := kafka.Options{Group: k.group, EventsTopic: k.events, DecisionsTopic: k.decisions,
		DeadLetterTopic: k.dlq, ClientID: k.clientID, CommitInterval: k.commitInterval,
		SessionTimeout: k.sessionTimeout, MaxInFlight: k.maxInFlight,
		RestoreWindow: s.cfg.dedupeWindow, Logger: s.log, Registerer: s.registry}
	if k.brokers != "embedded" {
		o.Brokers = splitList(k.brokers)
	}
	if k.partitions < 1 {
		return o, fmt.Errorf("--kafka-partitions %d: want at least 1", k.partitions)
	}
	if k.commitInterval < 100*time.Millisecond {
		return o, fmt.Errorf("--kafka-commit-interval %s: want at least 100ms", k.commitInterval)
	}
	var err error
	if o.TLS, err = k.tlsConfig(); err != nil {
		return o, err
	}
	if k.sasl != "" {
		pass, err := k.password()
		if err != nil {
			return o, err
		}
		if o.SASL, err = kafka.SASLMechanism(k.sasl, k.saslUser, pass); err != nil {
			return o, fmt.Errorf("--kafka-sasl: %w", err)
		}
	}
	return o, nil
}

func (k kafkaConfig) password() (string, error) {
	if k.saslPassFile == "" {
		return os.Getenv(kafkaPasswordEnv), nil
	}
	b, err := os.ReadFile(k.saslPassFile)
	if err != nil {
		return "", fmt.Errorf("--kafka-sasl-password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// tlsConfig is nil without --kafka-tls.
func (k kafkaConfig) tlsConfig() (*tls.Config, error) {
	if !k.tls {
		if k.tlsCA != "" || k.tlsCert != "" || k.tlsKey != "" {
			return nil, errors.New("--kafka-tls-ca, --kafka-tls-cert and --kafka-tls-key need --kafka-tls")
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: k.tlsName}
	if k.tlsCA != "" {
		pem, err := os.ReadFile(k.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--kafka-tls-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--kafka-tls-ca %s: no PEM certificate in it", k.tlsCA)
		}
	}
	if (k.tlsCert == "") != (k.tlsKey == "") {
		return nil, errors.New("--kafka-tls-cert and --kafka-tls-key go together")
	}
	if k.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(k.tlsCert, k.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--kafka-tls-cert: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// onDecision publishes HTTP decisions when Kafka is on.
func (s *service) onDecision() func(*engine.Event, *engine.Decision) {
	if s.kafka == nil {
		return nil
	}
	return s.kafka.consumer.Publish
}

// runKafka starts consuming; the returned channel gets Run's result.
func (s *service) runKafka(ctx context.Context) <-chan error {
	if s.kafka == nil {
		return nil
	}
	s.kafka.done = make(chan error, 1)
	go func() { s.kafka.done <- s.kafka.consumer.Run(ctx) }()
	return s.kafka.done
}

// waitKafka waits for the consumer to finish its graceful stop.
func (s *service) waitKafka() {
	if s.kafka != nil && s.kafka.done != nil {
		if err := <-s.kafka.done; err != nil {
			s.log.Error("kafka consumer", "err", err)
		}
		s.kafka.done = nil
	}
}

// closeKafka flushes the producer and stops the embedded broker, which
// writes its state to disk.
//
// After a crash the velocity counters come back from the last periodic
// snapshot (keepState): the events decided since, answered from the
// restored dedupe memory, are missing from the counts, never doubled.
func (s *service) closeKafka() {
	if s.kafka == nil {
		return
	}
	if s.kafka.consumer != nil {
		s.kafka.consumer.Close()
	}
	if s.kafka.broker != nil {
		s.kafka.broker.Close()
	}
	s.kafka = nil
}
