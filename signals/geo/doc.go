// Package geo turns a client address into where it is and whose network it is
// on: country, region, city, coordinates and accuracy radius from a city
// database, and the autonomous system number and organisation from an ASN
// database. The engine calls it while enriching every event, so lookups are
// built for the hot path: they are safe for concurrent use and a warm lookup
// allocates nothing.
//
// # Data
//
// City data comes from MaxMind DB (MMDB) files in one of two layouts, which
// OpenCity tells apart by itself:
//
//   - the flat DB-IP City Lite layout of the ip-location-db project
//     (country_code, state1, city, latitude, …), shipped as one IPv4 and one
//     IPv6 file;
//   - the nested MaxMind GeoIP2/GeoLite2 City layout (country, subdivisions,
//     city, location), one file for both families.
//
// ASN data comes from the ip-location-db CSV files (start,end,asn,org with
// inclusive ranges) through OpenASNCSV, or from a MaxMind GeoLite2-ASN file
// through OpenASNMMDB. Both are turned into sorted range arrays searched by
// binary search.
//
// OpenDir opens the standard file names that scripts/fetch-data.sh writes, and
// Check verifies that a loaded data set answers for well-known public
// addresses.
//
// # Semantics
//
// IPv4-mapped IPv6 addresses are looked up as IPv4. A lookup that finds no
// record, or a record without any location, reports false and a zero value; it
// never reports a found zero record. Private and reserved ranges are absent
// from public data sets and so miss; a database that deliberately maps them
// (an in-house MMDB for office networks) is answered as written.
//
// The country is where the address is used (MaxMind "country"), never where
// its block is registered ("registered_country"). A record without a city is
// a country-level centroid and is marked CountryOnly, so travel checks can
// ignore its coordinates.
//
// A missing geo result degrades the decision's signals; it never fails a
// decision. The engine names the missing family in the decision.
package geo
