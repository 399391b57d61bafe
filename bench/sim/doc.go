// Package sim generates labelled streams of authentication events for
// demos, load tests and the detection-quality evaluation (bench/eval).
//
// A stream is built in three steps:
//
//  1. BuildWorld reads real reference data (the DB-IP City Lite files and the
//     ip-location-db ASN ranges that `make data` fetches) and samples, for a
//     few dozen real cities, networks that geolocate there and the operators
//     that announce them. Networks of operators on a hosting list, or on a
//     datacenter or VPN prefix list, are kept apart, so that people browse
//     from consumer networks (and some through VPNs) and attackers may rent
//     servers. Tests and tools without data build the fixture world
//     (WriteFixture, BuildFixtureWorld).
//  2. Generate draws a population of users (home city, internet provider,
//     one to three browsers with real user agents, a heavy-tailed number of
//     logins) with the noise of real traffic: mistyped passwords, lost
//     cookies, browser updates, new phones, mobile carriers behind NAT,
//     shared office addresses, VPN users, trips at home and abroad with
//     hotel networks and roaming phones. Then each Attacker adds its
//     campaign: naive credential stuffing, account takeover by attackers who
//     know more or less of their victim (foreign, VPN, targeted, very
//     targeted), brute force, password spraying, bot signups from
//     datacenters and fake signups through residential proxies.
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
