package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDomainsContains(t *testing.T) {
	d := NewDomains([]string{"mailinator.com", " Temp-Mail.ORG ", "*.33mail.com", "bücher-weg.de", "x.example.net"})
	tests := []struct {
		domain string
		want   bool
	}{
		{"mailinator.com", true},
		{"MAILINATOR.COM", true},
		{"mailinator.com.", true},
		{"a.mailinator.com", true},
		{"a.b.c.mailinator.com", true},
		{"temp-mail.org", true},
		{"anything.33mail.com", true},
		{"33mail.com", true},
		{"xn--bcher-weg-q9a.de", true},
		{"sub.x.example.net", true},
		{"example.net", false},
		{"y.example.net", false},
		{"notmailinator.com", false},
		{"mailinator.co", false},
		{"com", false},
		{"", false},
		{".", false},
		{strings.Repeat("a.", 130) + "mailinator.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			if got := d.Contains(tt.domain); got != tt.want {
				t.Errorf("Contains(%q) = %v, want %v", tt.domain, got, tt.want)
			}
		})
	}
	if got := d.Len(); got != 5 {
		t.Errorf("Len() = %d, want 5", got)
	}
	var none *Domains
	if none.Contains("mailinator.com") || none.Len() != 0 {
		t.Error("nil Domains should be empty")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDomains(t *testing.T) {
	tests := []struct {
		name, file, content string
		wantLen             int
		in                  []string // domains that must match
	}{
		{
			name: "npm index.json", file: "index.json",
			content: "[\n  \"0-mail.com\",\n  \"gmaıl.net\",\n  \"Mailinator.com\"\n]\n",
			wantLen: 3,
			in:      []string{"0-mail.com", "xn--gmal-nza.net", "mailinator.com", "a.mailinator.com"},
		},
		{
			name: "text list", file: "list.txt",
			content: "# disposable\n\nmailinator.com\n  temp-mail.org  # inline comment\n*.33mail.com\n",
			wantLen: 3,
			in:      []string{"mailinator.com", "temp-mail.org", "x.33mail.com"},
		},
		{name: "empty array", file: "e.json", content: " [ ] "},
		{name: "empty text", file: "e.txt", content: "# nothing\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := LoadDomains(writeFile(t, tt.file, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tt.wantLen {
				t.Errorf("Len() = %d, want %d", d.Len(), tt.wantLen)
			}
			for _, dom := range tt.in {
				if !d.Contains(dom) {
					t.Errorf("Contains(%q) = false", dom)
				}
			}
			if d.Contains("example.com") {
				t.Error("Contains(example.com) = true")
			}
		})
	}
}

func TestLoadDomainFilesUnites(t *testing.T) {
	a := writeFile(t, "index.json", `["mailinator.com"]`)
	b := writeFile(t, "wildcard.json", `["33mail.com"]`)
	d, err := LoadDomainFiles(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Contains("mailinator.com") || !d.Contains("x.33mail.com") || d.Len() != 2 {
		t.Errorf("union wrong: len %d", d.Len())
	}
}

func TestLoadDomainsErrors(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []string // substrings of the error, in order
	}{
		{"text junk", "l.txt", "ok.com\nnot a domain\n", []string{"l.txt:2:", `"not a domain"`}},
		{"text single label", "l.txt", "# c\n\ncom\n", []string{"l.txt:3:", "needs at least two labels"}},
		{"json junk", "l.json", "[\n \"ok.com\",\n \"bad..com\"\n]", []string{"l.json:3:", "empty label"}},
		{"json not string", "l.json", "[\n \"ok.com\",\n 42\n]", []string{"l.json:3:", "entry 1"}},
		{"json truncated", "l.json", "[\n \"ok.com\",\n", []string{"l.json:"}},
		{"several errors", "l.txt", "a b\nok.com\nc d\n", []string{"l.txt:1:", "l.txt:3:"}},
		{"missing file", "", "", []string{"domain list:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing")
			if tt.file != "" {
				path = writeFile(t, tt.file, tt.content)
			}
			_, err := LoadDomains(path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

func TestLoadDomainsStopsAfterTooManyErrors(t *testing.T) {
	path := writeFile(t, "l.txt", strings.Repeat("bad entry\n", 50))
	_, err := LoadDomains(path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if diff := cmp.Diff(maxLoadErrors+1, len(lines)); diff != "" {
		t.Errorf("error lines (-want +got):\n%s\n%s", diff, err)
	}
}

func TestContainsDoesNotAllocate(t *testing.T) {
	d := NewDomains([]string{"mailinator.com"})
	allocs := testing.AllocsPerRun(100, func() {
		d.Contains("A.B.Mailinator.com")
		d.Contains("example.org")
	})
	if allocs != 0 {
		t.Errorf("Contains allocates %v times", allocs)
	}
}
