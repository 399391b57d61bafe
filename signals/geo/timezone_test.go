package geo

import (
	"strings"
	"testing"
	"time"
)

func TestZoneAt(t *testing.T) {
	tests := []struct {
		name        string
		country     string
		lat, lon    float64
		countryOnly bool
		want        string
	}{
		{"one zone", "DE", 53.55, 10.0, false, "Europe/Berlin"},
		{"one zone, country level", "FR", 46.2, 2.2, true, "Europe/Paris"},
		{"Chicago", "US", 41.88, -87.63, false, "America/Chicago"},
		{"Los Angeles", "US", 34.05, -118.24, false, "America/Los_Angeles"},
		{"New York", "US", 40.71, -74.0, false, "America/New_York"},
		{"Perth", "AU", -31.95, 115.86, false, "Australia/Perth"},
		{"Sao Paulo", "BR", -23.55, -46.63, false, "America/Sao_Paulo"},
		{"several zones, country level", "US", 39.8, -98.6, true, ""},
		{"unknown country", "XX", 0, 0, false, ""},
		{"no country", "", 10, 10, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ZoneAt(tt.country, tt.lat, tt.lon, tt.countryOnly); got != tt.want {
				t.Errorf("ZoneAt(%q, %v, %v, %v) = %q, want %q", tt.country, tt.lat, tt.lon,
					tt.countryOnly, got, tt.want)
			}
		})
	}
}

func TestOffsetGap(t *testing.T) {
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		a, b   string
		at     time.Time
		want   float64
		wantOK bool
	}{
		{"Europe/Berlin", "Europe/Berlin", winter, 0, true},
		{"Europe/Berlin", "Europe/Paris", summer, 0, true},
		{"Europe/London", "Europe/Berlin", winter, 1, true},
		{"America/New_York", "Europe/Berlin", winter, 6, true},
		{"Asia/Kolkata", "Asia/Dhaka", winter, 0.5, true},
		// Daylight saving moves the gap: Sydney and London are 11 hours
		// apart in January, 9 in July.
		{"Australia/Sydney", "Europe/London", winter, 11, true},
		{"Australia/Sydney", "Europe/London", summer, 9, true},
		{"UTC", "Asia/Tokyo", winter, 9, true},
		{"Mars/Olympus_Mons", "Europe/Berlin", winter, 0, false},
		{"Europe/Berlin", "", winter, 0, false},
		{"", "", winter, 0, false},
		{"Local", "Europe/Berlin", winter, 0, false},
		{"../../etc/passwd", "Europe/Berlin", winter, 0, false},
		{strings.Repeat("A", 200), "Europe/Berlin", winter, 0, false},
	}
	for _, tt := range tests {
		got, ok := OffsetGap(tt.a, tt.b, tt.at)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("OffsetGap(%q, %q, %s) = %v, %v; want %v, %v", tt.a, tt.b,
				tt.at.Format(time.DateOnly), got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseZoneTab(t *testing.T) {
	m := zonesByCountry()
	if len(m) < 200 {
		t.Fatalf("embedded zone.tab has %d countries, want over 200", len(m))
	}
	if z := m["JP"]; len(z) != 1 || z[0].name != "Asia/Tokyo" || z[0].lat < 35 || z[0].lat > 36 {
		t.Errorf("JP = %+v", z)
	}
	for _, bad := range []string{"DE\t+5230\tEurope/Berlin", "DE\tEurope/Berlin", "DE\t+52x0+01322\tX",
		"DE\t5230+01322\tX"} {
		if _, err := parseZoneTab(bad); err == nil {
			t.Errorf("parseZoneTab(%q) accepted a bad line", bad)
		}
	}
	lat, lon, err := parseISO6709("-332520+0703500")
	if err != nil || lat > -33.42 || lat < -33.43 || lon < 70.58 || lon > 70.59 {
		t.Errorf("parseISO6709 with seconds = %v, %v, %v", lat, lon, err)
	}
}

func BenchmarkOffsetGap(b *testing.B) {
	at := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		OffsetGap("America/New_York", ZoneAt("US", 41.88, -87.63, false), at)
	}
}
