package rules

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/verdictrisk/verdict/signals"
)

// FuzzCompile feeds arbitrary rule files to the parser and compiler. Whatever
// the input, loading must not panic, must return either a set or a list of
// errors that each name the file, and a set that loads must evaluate.
// `go test` runs the seeds; `go test -fuzz FuzzCompile ./rules` explores.
func FuzzCompile(f *testing.F) {
	pack, err := fs.ReadFile(DefaultFS(), "verdict.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pack)
	for _, seed := range []string{
		"",
		"rules: [",
		"thresholds: {step_up: 80, deny: 50}",
		"lists:\n  - {name: l, kind: cidr, values: [10.0.0.0/8, x]}\n",
		"counters:\n  - {name: c, key: ip.address, distinct: user.key, window: 7d}\n" +
			"rules:\n  - {name: r, when: velocity.c > 2, score: 50, message: '{{ velocity.c }}'}\n",
		"rules:\n  - name: r\n    when: >\n      ip.tor &&\n      ip.countri == 1\n    score: 1\n",
		"rules:\n  - {name: r, when: 'device.browser matches \"(\"', score: 1}\n",
		"rules:\n  - {name: r, when: 'true', action: allow, expires: 2020-01-01, mode: shadow}\n",
		"rules:\n  - {name: r, when: 'missing(\"geo\") || in_list(\"x\", 1)', score: 1}\n",
		"rules:\n  - name: r\n    when: \"a\\u00e9 == 1\"\n    message: \"{{\"\n",
		"- a\n- b\n",
		"rules:\n  - {name: r, when: '1..100000 | map(# * 2) | len() > 0', score: 1}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Load(fstest.MapFS{"r.yaml": {Data: data}}, ".")
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not a list of rule errors: %v", err)
			}
			for _, e := range errs {
				if e.File != "r.yaml" || e.Msg == "" {
					t.Fatalf("error without file or message: %#v", e)
				}
			}
			return
		}
		for _, w := range set.Warnings {
			if !w.Warn {
				t.Fatalf("a set loaded with an error: %v", w)
			}
		}
		var res Result
		set.Evaluate(new(vm.VM), signals.Set{Velocity: new(signals.Counts)}, time.Now(), true, &res)
		for _, k := range set.Counters {
			k.Apply(new(vm.VM), signals.Set{Velocity: new(signals.Counts)}, "")
		}
	})
}
