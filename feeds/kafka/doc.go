// Package kafka is Verdict's Kafka entry point: a consumer group reads auth
// events from a topic, the engine decides each one exactly as it decides an
// HTTP request, and the decision is produced to a decisions topic; records
// that are not valid events go, unchanged, to a dead-letter topic with the
// reason in headers, as do events whose decision the broker refuses for
// good (too large, say) rather than let it block their partition.
// Decisions made over HTTP are published to the same decisions topic
// (Consumer.Publish), so that it holds every decision. The package also
// runs an embedded single-node broker (franz-go's kfake) for development
// and demos.
//
// Delivery is at least once. A record's offset is committed only after its
// decision (or dead letter) and those of every record before it in its
// partition are acknowledged by the broker; a crash therefore means some
// events are read again, never that one is skipped. A redelivered event
// with an id is answered from the engine's dedupe memory — the first
// decision again, not counted twice in velocity or profiles — and at start
// the consumer rebuilds that memory from the decisions topic for the
// events it is about to read again (Consumer.Restore).
//
// Each assigned partition has its own worker: records of a partition are
// decided in offset order, partitions in parallel. A partition whose worker
// falls behind is paused rather than allowed to hold up the others.
//
// See docs/kafka.md for topics, keys, headers, dead-letter reasons and
// failure behaviour.
//
// Metrics (registered on Options.Registerer):
//
//	verdict_kafka_records_consumed_total                 records read from the events topic
//	verdict_kafka_decisions_produced_total{origin}       decisions acknowledged, origin kafka or http
//	verdict_kafka_dead_letters_total{reason}             dead letters acknowledged, by reason
//	verdict_kafka_http_decisions_dropped_total           HTTP decisions that could not be published
//	verdict_kafka_produce_errors_total{kind}             failed produce attempts
//	verdict_kafka_commit_errors_total                    failed offset commits
//	verdict_kafka_records_unproducible_total             records skipped: dead letters refused
//	verdict_kafka_restored_decisions_total               decisions read back into the dedupe memory
//	verdict_kafka_consumer_lag_records{topic,partition}  records of a partition not yet decided
//	verdict_kafka_end_to_end_seconds                     record timestamp to decision acknowledged
package kafka
