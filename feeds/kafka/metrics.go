package kafka

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	consumed    prometheus.Counter
	produced    *prometheus.CounterVec
	fromKafka   prometheus.Counter
	fromHTTP    prometheus.Counter
	deadLetters *prometheus.CounterVec
	dropped     prometheus.Counter
	produceErrs *prometheus.CounterVec
	commitErrs  prometheus.Counter
	// unproducible counts source records given up (see worker.fallBack).
	unproducible prometheus.Counter
	restored     prometheus.Counter
	lag          *prometheus.GaugeVec
	endToEnd     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_kafka_records_consumed_total",
			Help: "Records read from the events topic, valid or not, redeliveries included.",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_kafka_decisions_produced_total",
			Help: "Decisions acknowledged by the broker on the decisions topic, by where the event came from (kafka or http).",
		}, []string{"origin"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_kafka_dead_letters_total",
			Help: "Records acknowledged on the dead-letter topic, by reason code.",
		}, []string{"reason"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_kafka_http_decisions_dropped_total",
			Help: "Decisions made over HTTP that could not be published (buffer full or produce failed); the HTTP caller had its answer.",
		}),
		produceErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verdict_kafka_produce_errors_total",
			Help: "Produce attempts that failed, then retried or replaced by a dead letter, by topic kind (decisions or dead_letters).",
		}, []string{"kind"}),
		unproducible: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_kafka_records_unproducible_total",
			Help: "Event records skipped because the brokers refused for good both their decision (or dead letter) and a dead letter stripped of the record; each is logged.",
		}),
		commitErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_kafka_commit_errors_total",
			Help: "Offset commits that failed; the offsets are committed with the next one.",
		}),
		restored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "verdict_kafka_restored_decisions_total",
			Help: "Decisions read back from the decisions topic at start into the dedupe memory.",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "verdict_kafka_consumer_lag_records",
			Help: "Records of an assigned events partition not yet decided: the high watermark of the last fetch minus the next offset to decide.",
		}, []string{"topic", "partition"}),
		endToEnd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "verdict_kafka_end_to_end_seconds",
			Help: "Time from an event record's timestamp to the broker's acknowledgement of its decision or dead letter.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				1, 2.5, 5, 10, 30},
		}),
	}
	m.fromKafka = m.produced.WithLabelValues("kafka")
	m.fromHTTP = m.produced.WithLabelValues("http")
	if reg != nil {
		reg.MustRegister(m.consumed, m.produced, m.deadLetters, m.dropped, m.produceErrs,
			m.commitErrs, m.unproducible, m.restored, m.lag, m.endToEnd)
	}
	return m
}

func (m *metrics) lagGauge(topic string, part int32) prometheus.Gauge {
	return m.lag.WithLabelValues(topic, strconv.Itoa(int(part)))
}

func (m *metrics) dropLag(topic string, part int32) {
	m.lag.DeleteLabelValues(topic, strconv.Itoa(int(part)))
}
