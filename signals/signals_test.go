package signals

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEverySignalDocumented checks that every signal rules can read is
// described in docs/signals.md (the reference) and listed in docs/rules.md
// (the analyst's table), by its full name in backticks.
func TestEverySignalDocumented(t *testing.T) {
	var names []string
	set := reflect.TypeFor[Set]()
	for i := range set.NumField() {
		fam := set.Field(i)
		prefix := fam.Tag.Get("expr")
		if prefix == "-" || prefix == "velocity" || fam.Type.Kind() != reflect.Struct {
			continue
		}
		for j := range fam.Type.NumField() {
			f := fam.Type.Field(j)
			if tag := f.Tag.Get("expr"); tag != "" && tag != "-" && tag != "properties" {
				names = append(names, prefix+"."+tag)
			}
		}
	}
	if len(names) < 50 {
		t.Fatalf("found only %d signals; the walk over Set is broken", len(names))
	}
	for _, doc := range []string{"../docs/signals.md", "../docs/rules.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !strings.Contains(string(b), "`"+n+"`") {
				t.Errorf("%s does not mention `%s`", doc, n)
			}
		}
	}
}
