package config

import (
	"strconv"
	"strings"
)

// Severity grades a Problem.
type Severity int

// The severities, least serious first. Only SeverityError makes Load fail.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Problem is one finding about the configuration, located as precisely as
// the source allows.
type Problem struct {
	Severity Severity
	// File is the config file the value came from, or the name of the
	// APP_CONFIG_ variable that set it. Empty for configs built in code.
	File string
	// Line and Column are 1-based; 0 when unknown (environment values).
	Line, Column int
	// Path is the dotted key path, e.g. backend.listen.port or
	// catalog.locations[2].target. Empty for problems about a whole file.
	Path string
	// Message is the full human-readable description.
	Message string
	// Expected describes the accepted values, when the problem is a type or
	// value error, e.g. "an integer between 1 and 65535".
	Expected string
}

// String formats the problem as
// "app-config.yaml:12:5: backend.listen.port: expected an integer between 1 and 65535, got "abc"".
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
			if p.Column > 0 {
				b.WriteString(":" + strconv.Itoa(p.Column))
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error makes a Problem usable as an error, so Validate can join them.
func (p Problem) Error() string { return p.String() }

// Report is every problem found while loading, in the order found.
type Report struct {
	Problems []Problem
}

// HasErrors reports whether any problem has SeverityError.
func (r Report) HasErrors() bool {
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Filter returns the problems of severity s.
func (r Report) Filter(s Severity) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Err returns a *ProblemsError holding every error-severity problem, or nil
// when there is none.
func (r Report) Err() error {
	errs := r.Filter(SeverityError)
	if len(errs) == 0 {
		return nil
	}
	return &ProblemsError{Problems: errs}
}

// ProblemsError is the error Load returns when the configuration has
// error-severity problems. It wraps each of them.
type ProblemsError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *ProblemsError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, for errors.As(err, &Problem{}).
func (e *ProblemsError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects findings during one Load.
type problems struct {
	list []Problem
}

func (ps *problems) add(sev Severity, at pos, path, msg string) {
	ps.list = append(ps.list, Problem{Severity: sev, File: at.file, Line: at.line, Column: at.col, Path: path, Message: msg})
}

// expected records a type or value error: "expected X, got Y".
func (ps *problems) expected(at pos, path, expected string, got *node) {
	ps.list = append(ps.list, Problem{
		Severity: SeverityError, File: at.file, Line: at.line, Column: at.col, Path: path,
		Message:  "expected " + expected + ", got " + got.describe(),
		Expected: expected,
	})
}
