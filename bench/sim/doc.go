// Package sim generates labelled streams of authentication events for
// demos, load tests and, later, the detection-quality evaluation.
//
// A stream is built in three steps:
//
//  1. BuildWorld reads real reference data (the DB-IP City Lite files and the
//     ip-location-db ASN ranges that `make data` fetches) and samples, for a
//     few dozen real cities, networks that geolocate there and the operators
//     that announce them. Operators on a list of hosting and VPN networks are
//     kept apart, so that people browse from consumer networks and attackers
//     may rent servers. Tests build the world from geotest.Fixture data.
//  2. Generate draws a population of users (home city, internet provider,
//     one to three browsers with real user agents), their signups and logins
//     over some weeks, and then lets each Attacker add its campaign:
//     credential stuffing, account takeover, a burst of fake signups.
//  3. Write prints the events as JSON lines, sorted by time, each as
//     {"label": {...}, "event": {...}}. The event is exactly the engine's
//     event schema, so a tool strips the label and sends the event as is;
//     the label says who made the event and whether its decision matters.
//
// Everything random comes from math/rand/v2 PCG sources derived from one
// seed, one source per user and per attacker, so the same seed and the same
// data give byte-identical output, and adding an attacker does not change
// the legitimate traffic.
package sim
