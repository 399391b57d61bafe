package sim

// citySpec is a city the world may hold, with what a browser there usually
// reports about itself. The table below fills it by position.
type citySpec struct {
	name, country string
	// match are the city names DB-IP uses for the place. A record also
	// matches when its name is one of these followed by a district in
	// parentheses ("Berlin (Bezirk Mitte)"). Tokyo is mostly filed under
	// its wards, so they are listed.
	match []string
	// tz is the IANA time zone browsers report.
	tz string
	// lang is a typical accept-language header.
	lang     string
	lat, lon float64
	// weight is the city's relative share of users.
	weight int
}

// citySpecs are the cities of the world, chosen to spread users over every
// continent with a weight roughly following their online population.
var citySpecs = []citySpec{
	{"Berlin", "DE", nil, "Europe/Berlin", deLang, 52.52, 13.405, 4},
	{"Hamburg", "DE", nil, "Europe/Berlin", deLang, 53.551, 9.994, 2},
	{"Munich", "DE", nil, "Europe/Berlin", deLang, 48.137, 11.575, 2},
	{"London", "GB", nil, "Europe/London", gbLang, 51.507, -0.128, 6},
	{"Manchester", "GB", nil, "Europe/London", gbLang, 53.481, -2.243, 2},
	{"Dublin", "IE", nil, "Europe/Dublin", "en-IE,en;q=0.9", 53.349, -6.26, 1},
	{"Paris", "FR", nil, "Europe/Paris", frLang, 48.857, 2.352, 4},
	{"Lyon", "FR", nil, "Europe/Paris", frLang, 45.764, 4.836, 1},
	{"Madrid", "ES", nil, "Europe/Madrid", esLang, 40.417, -3.704, 3},
	{"Barcelona", "ES", nil, "Europe/Madrid", "es-ES,es;q=0.9,ca;q=0.8,en;q=0.7", 41.385, 2.173, 2},
	{"Lisbon", "PT", nil, "Europe/Lisbon", "pt-PT,pt;q=0.9,en;q=0.8", 38.722, -9.139, 1},
	{"Rome", "IT", nil, "Europe/Rome", itLang, 41.903, 12.496, 2},
	{"Milan", "IT", nil, "Europe/Rome", itLang, 45.464, 9.19, 2},
	{"Amsterdam", "NL", nil, "Europe/Amsterdam", "nl-NL,nl;q=0.9,en;q=0.8", 52.368, 4.904, 2},
	{"Brussels", "BE", nil, "Europe/Brussels", "fr-BE,fr;q=0.9,nl;q=0.8,en;q=0.7", 50.85, 4.352, 1},
	{"Copenhagen", "DK", nil, "Europe/Copenhagen", "da-DK,da;q=0.9,en;q=0.8", 55.676, 12.568, 1},
	{"Stockholm", "SE", nil, "Europe/Stockholm", "sv-SE,sv;q=0.9,en;q=0.8", 59.329, 18.069, 1},
	{"Warsaw", "PL", nil, "Europe/Warsaw", "pl-PL,pl;q=0.9,en;q=0.8", 52.23, 21.012, 2},
	{"Vienna", "AT", nil, "Europe/Vienna", "de-AT,de;q=0.9,en;q=0.8", 48.208, 16.374, 1},
	{"Zurich", "CH", nil, "Europe/Zurich", "de-CH,de;q=0.9,en;q=0.8", 47.377, 8.542, 1},
	{"Istanbul", "TR", nil, "Europe/Istanbul", "tr-TR,tr;q=0.9,en;q=0.8", 41.008, 28.978, 2},
	{"New York", "US", nil, "America/New_York", usLang, 40.713, -74.006, 6},
	{"Chicago", "US", nil, "America/Chicago", usLang, 41.878, -87.63, 3},
	{"Houston", "US", nil, "America/Chicago", usLang, 29.76, -95.37, 2},
	{"Los Angeles", "US", nil, "America/Los_Angeles", usLang, 34.052, -118.244, 4},
	{"Seattle", "US", nil, "America/Los_Angeles", usLang, 47.606, -122.332, 2},
	{"Miami", "US", nil, "America/New_York", "en-US,en;q=0.9,es;q=0.8", 25.762, -80.192, 2},
	{"Toronto", "CA", nil, "America/Toronto", "en-CA,en;q=0.9", 43.653, -79.383, 3},
	{"Montreal", "CA", nil, "America/Toronto",
		"fr-CA,fr;q=0.9,en-CA;q=0.8,en;q=0.7", 45.502, -73.567, 2},
	{"Mexico City", "MX", nil, "America/Mexico_City",
		"es-MX,es;q=0.9,en;q=0.8", 19.433, -99.133, 3},
	{"São Paulo", "BR", []string{"Sao Paulo", "São Paulo"}, "America/Sao_Paulo",
		ptBRLang, -23.551, -46.633, 4},
	{"Rio de Janeiro", "BR", nil, "America/Sao_Paulo", ptBRLang, -22.907, -43.173, 2},
	{"Buenos Aires", "AR", nil, "America/Argentina/Buenos_Aires",
		"es-AR,es;q=0.9,en;q=0.8", -34.604, -58.382, 2},
	{"Bogotá", "CO", []string{"Bogota", "Bogotá"}, "America/Bogota",
		"es-CO,es;q=0.9,en;q=0.8", 4.711, -74.072, 2},
	{"Santiago", "CL", nil, "America/Santiago", "es-CL,es;q=0.9,en;q=0.8", -33.449, -70.669, 1},
	{"Lima", "PE", nil, "America/Lima", "es-PE,es;q=0.9,en;q=0.8", -12.046, -77.043, 1},
	{"Tokyo", "JP", []string{
		"Tokyo", "Minato", "Minato-ku", "Chiyoda City", "Chiyoda", "Shibuya City", "Shibuya",
		"Shinjuku", "Chuo", "Shinagawa", "Koto-ku", "Taito City", "Toshima City"},
		"Asia/Tokyo", "ja-JP,ja;q=0.9,en;q=0.8", 35.69, 139.692, 4},
	{"Osaka", "JP", nil, "Asia/Tokyo", "ja-JP,ja;q=0.9,en;q=0.8", 34.694, 135.502, 1},
	{"Seoul", "KR", nil, "Asia/Seoul", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", 37.567, 126.978, 2},
	{"Singapore", "SG", nil, "Asia/Singapore", "en-SG,en;q=0.9,zh;q=0.8", 1.352, 103.82, 1},
	{"Jakarta", "ID", nil, "Asia/Jakarta", "id-ID,id;q=0.9,en;q=0.8", -6.208, 106.846, 2},
	{"Manila", "PH", nil, "Asia/Manila", "en-PH,en;q=0.9,fil;q=0.8", 14.6, 120.984, 1},
	{"Mumbai", "IN", nil, "Asia/Kolkata", inLang, 19.076, 72.878, 3},
	{"New Delhi", "IN", []string{"New Delhi", "Delhi"}, "Asia/Kolkata", inLang, 28.614, 77.209, 3},
	{"Bengaluru", "IN", []string{"Bengaluru", "Bangalore"}, "Asia/Kolkata",
		inLang, 12.972, 77.595, 2},
	{"Dubai", "AE", nil, "Asia/Dubai", "en-AE,en;q=0.9,ar;q=0.8", 25.205, 55.271, 1},
	{"Sydney", "AU", nil, "Australia/Sydney", auLang, -33.869, 151.209, 2},
	{"Melbourne", "AU", nil, "Australia/Melbourne", auLang, -37.814, 144.963, 2},
	{"Auckland", "NZ", nil, "Pacific/Auckland", "en-NZ,en;q=0.9", -36.849, 174.763, 1},
	{"Lagos", "NG", nil, "Africa/Lagos", "en-NG,en;q=0.9", 6.524, 3.379, 2},
	{"Nairobi", "KE", nil, "Africa/Nairobi", "en-KE,en;q=0.9,sw;q=0.8", -1.292, 36.822, 1},
	{"Johannesburg", "ZA", nil, "Africa/Johannesburg", "en-ZA,en;q=0.9", -26.204, 28.047, 1},
	{"Cairo", "EG", nil, "Africa/Cairo", "ar-EG,ar;q=0.9,en;q=0.8", 30.044, 31.236, 1},
}

const (
	deLang   = "de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"
	gbLang   = "en-GB,en;q=0.9"
	frLang   = "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"
	esLang   = "es-ES,es;q=0.9,en;q=0.8"
	itLang   = "it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7"
	usLang   = "en-US,en;q=0.9"
	ptBRLang = "pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7"
	inLang   = "en-IN,en;q=0.9,hi;q=0.8"
	auLang   = "en-AU,en;q=0.9"
)

// names returns the DB-IP city names that count as s.
func (s *citySpec) names() []string {
	if len(s.match) > 0 {
		return s.match
	}
	return []string{s.name}
}
