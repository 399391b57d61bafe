package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// SyntaxError turns the YAML library's error for a file that is not valid
// YAML into an Error at the place to fix, with a hint for the common
// mistakes. The library gives two places: where it gave up (Mark) and
// where the construct it was reading started (ContextMark). The first is
// the place for most mistakes (a line indented wrong, an unquoted ": ");
// the second for a key without its colon and a quote never closed, which
// the library only notices lines later. Rule files and rule test files
// report their syntax errors through it.
func SyntaxError(file string, data []byte, err error) *Error {
	var le *yaml.LoadError
	if !errors.As(err, &le) {
		return legacySyntaxError(file, err)
	}
	lines := strings.Split(string(data), "\n")
	at, msg := le.Mark, le.Message
	ctx := contextPhrase(le.ContextMsg, le.ContextMark.Line, le.ContextMark.Column, at.Line)
	switch {
	case le.ContextMsg == "while scanning a simple key":
		// The key is where the colon is missing; the library reports the
		// line after it.
		at, msg, ctx = le.ContextMark, "this key has no ':' after it", ""
	case le.ContextMsg == "while scanning a quoted scalar" && strings.Contains(msg, "end of stream"):
		at, msg, ctx = le.ContextMark, "the quoted value that starts here is not closed", ""
	}
	e := &Error{File: file, Line: at.Line, Col: at.Column, parent: err}
	line, col := clampToText(lines, e.Line, e.Col)
	if line != e.Line && strings.Contains(le.ContextMsg, "flow") {
		msg, ctx = "the file ends before a [ or { is closed", ""
	}
	e.Line, e.Col = line, col
	e.Msg = msg + ctx + syntaxHint(msg, charAt(lines, e.Line, e.Col))
	return e
}

// contextPhrase names, in the words of the rule file, the construct the
// library was reading when it gave up, and where it starts; nothing when
// that is the line of the error itself.
func contextPhrase(ctx string, line, col, errLine int) string {
	if ctx == "" || line == 0 {
		return ""
	}
	switch ctx {
	case "while parsing a block collection":
		return fmt.Sprintf(" (in the list that starts at line %d)", line)
	case "while parsing a block mapping":
		return fmt.Sprintf(" (in the mapping that starts at line %d)", line)
	case "while parsing a flow sequence":
		return fmt.Sprintf(" (in the [ at line %d, column %d)", line, col)
	case "while parsing a flow mapping":
		return fmt.Sprintf(" (in the { at line %d, column %d)", line, col)
	}
	if line == errLine {
		return ""
	}
	return fmt.Sprintf(" (%s at line %d)", ctx, line)
}

// syntaxHint adds what usually causes a syntax error, given the message
// and the character the error points at.
func syntaxHint(msg string, at rune) string {
	switch {
	case strings.HasPrefix(msg, "mapping values are not allowed"):
		return ": a value containing ': ' must be quoted"
	case strings.Contains(msg, "did not find expected '-' indicator"),
		strings.Contains(msg, "did not find expected key"):
		return ": this line is not indented like the entries above it"
	case at == '\t' || strings.Contains(msg, "tab character"):
		return ": indent with spaces, not tabs"
	case strings.HasPrefix(msg, "found character that cannot start any token"):
		return fmt.Sprintf(": a value starting with %q must be quoted", at)
	}
	return ""
}

// clampToText moves a position past the end of the file (the library's
// "end of stream") to the end of the last line with text, so that the
// line shown under the error is the one where the file stops.
func clampToText(lines []string, line, col int) (int, int) {
	last := len(lines)
	for last > 0 && strings.TrimSpace(lines[last-1]) == "" {
		last--
	}
	if last == 0 || line <= last {
		return line, col
	}
	return last, utf8.RuneCountInString(strings.TrimRight(lines[last-1], "\r")) + 1
}

// charAt is the character at a 1-based line and column, or 0.
func charAt(lines []string, line, col int) rune {
	if line < 1 || line > len(lines) || col < 1 {
		return 0
	}
	for i, r := range []rune(lines[line-1]) {
		if i == col-1 {
			return r
		}
	}
	return 0
}

// legacySyntaxError reads the line from an error that carries no
// position but its text, "yaml: line N: message".
func legacySyntaxError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg, parent: err}
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		e.Line = line
		e.Msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return e
}
