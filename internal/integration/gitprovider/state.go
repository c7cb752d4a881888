package gitprovider

import (
	"sync"
	"time"
)

// Bounds of what a State keeps.
const (
	maxStateProblems    = 50
	maxStateProblemText = 1000
)

// State is what a provider's runs in this process found, for an admin
// page or `greenroom catalog providers`.
type State struct {
	Name   string // the catalog provider name, e.g. "git-infra"
	Kind   string // KindGit or KindDirectory
	Target string // the repository URL (without credentials) or the directory
	// LastRun is when the last run ended; LastSuccess when a run last
	// ended without error (applied or found nothing new).
	LastRun     time.Time
	LastSuccess time.Time
	// LastError is the last run's error, "" when it succeeded.
	LastError string
	// NextRun is when this process queued the next run.
	NextRun time.Time
	// Commit is the commit last applied (git only).
	Commit string
	// Files is the number of catalog files last applied.
	Files int
	// Skipped says the last successful run found nothing changed and
	// left the catalog alone.
	Skipped bool
	// Problems are the processing problems of the last apply (a file that
	// does not parse, an invalid entity), each naming its file; at most 50.
	Problems []string
	// Retired and Orphaned count what the last apply removed.
	Retired, Orphaned int
}

// stateBox guards a provider's State.
type stateBox struct {
	mu sync.Mutex
	s  State
}

func (b *stateBox) get() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	s.Problems = append([]string(nil), s.Problems...)
	return s
}

func (b *stateBox) update(f func(*State)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
}

// problemTexts renders processing problems, bounded.
func problemTexts(errs []error) []string {
	var out []string
	for _, e := range errs {
		if len(out) == maxStateProblems {
			break
		}
		s := e.Error()
		if len(s) > maxStateProblemText {
			s = s[:maxStateProblemText] + "…"
		}
		out = append(out, s)
	}
	return out
}
