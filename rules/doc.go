// Package rules is the analyst-facing half of Verdict: the YAML rule format,
// its compiler, its linter and its evaluation. A rule set is a folder of
// rule files declaring thresholds, named lists, velocity counters and rules;
// docs/rules.md is the reference.
//
// Expressions are written in expr (github.com/expr-lang/expr) and compiled
// once, at load, against the typed signal environment signals.Set: a
// misspelt signal, an undeclared counter or list, or a type mismatch is a
// load error that names the file, line, column and rule, never a silent
// false at run time. At run time rules only execute compiled bytecode.
//
// The engine evaluates a Set per event (Set.Evaluate) after it has computed
// the signals and updated the counters (Counter.Apply). A reload compiles a
// new Set beside the running one; the engine swaps it in atomically.
package rules
