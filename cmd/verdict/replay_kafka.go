package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/verdictrisk/verdict/feeds/kafka"
	"github.com/verdictrisk/verdict/rules/replay"
)

// kafkaFlags select a Kafka topic range as the replay's source.
//
// TODO: TLS and SASL flags, as verdictd has (feeds/kafka.SASLMechanism); today replay reads plaintext brokers.
type kafkaFlags struct {
	brokers, topic, from, to string
}

func (k *kafkaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.brokers, "kafka", "", "comma-separated Kafka brokers to read the events from (instead of FILE)")
	fs.StringVar(&k.topic, "topic", kafka.DefaultEventsTopic, "with --kafka: the topic of events")
	fs.StringVar(&k.from, "from", "", "with --kafka: first offset or RFC 3339 time to replay, in every partition (default: the oldest)")
	fs.StringVar(&k.to, "to", "", "with --kafka: offset or RFC 3339 time to stop before, in every partition (default: the end when the replay starts)")
}

func (k *kafkaFlags) open(ctx context.Context) (replay.Source, string, func(), error) {
	o := replay.KafkaOptions{Brokers: splitList(k.brokers), Topic: k.topic}
	var err error
	if o.From, err = replay.ParsePosition(k.from); err != nil {
		return nil, "", nil, fmt.Errorf("--from: %w", err)
	}
	if o.To, err = replay.ParsePosition(k.to); err != nil {
		return nil, "", nil, fmt.Errorf("--to: %w", err)
	}
	if o.Topic == "" {
		return nil, "", nil, fmt.Errorf("--kafka needs --topic")
	}
	src, err := replay.NewKafka(ctx, o)
	if err != nil {
		return nil, "", nil, err
	}
	return src, "Kafka topic " + o.Topic, src.Close, nil
}
