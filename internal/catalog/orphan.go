package catalog

import (
	"context"
	"fmt"
	"slices"

	"greenroom/internal/greenroom"
)

// OrphanAnnotation marks a served entity that no current source supplies
// any more, as Backstage's stitcher does. The catalog owns it: it is set
// on orphans and removed from every other entity, whatever the input said.
const OrphanAnnotation = "backstage.io/orphan"

// OrphanStrategy is catalog.orphanStrategy: what becomes of orphans.
type OrphanStrategy string

// The orphan strategies Backstage defines.
const (
	// OrphanKeep keeps orphans, annotated, until a user deletes them
	// (DELETE /entities/by-uid/:uid) or a source claims them again.
	OrphanKeep OrphanStrategy = "keep"
	// OrphanDelete deletes orphans at the cleanup pass that ends every full
	// refresh. It is Backstage's default since v1.41.
	OrphanDelete OrphanStrategy = "delete"
)

// DefaultOrphanStrategy is the strategy when catalog.orphanStrategy is not
// set: "delete", as Backstage's processing engine defaults to since v1.41
// (older releases kept orphans).
const DefaultOrphanStrategy = OrphanDelete

// SetOrphanStrategy sets catalog.orphanStrategy; an unknown strategy is a
// greenroom.CodeInvalid error and changes nothing.
func (s *Service) SetOrphanStrategy(st OrphanStrategy) error {
	if st != OrphanKeep && st != OrphanDelete {
		return greenroom.Errorf(greenroom.CodeInvalid, "orphan strategy %q: expected keep or delete", st)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orphans = st
	return nil
}

// refreshPass is what one full Refresh learns while it refreshes the
// current sources one by one, for the steps that follow: retiring the
// sources that are gone, letting a source whose entity lost a conflict
// claim it once the winner dropped it, and deleting orphans.
type refreshPass struct {
	order      []string           // source names in refresh order
	problems   map[string][]error // by source name
	conflicted []Source           // sources with refs another source owned
	orphaned   bool               // some source made an orphan
	// bulk is set when a source's batches began a bulk load, which the
	// pass holds until it ends (bulkload.go); bulkEnded once endBulkPass
	// completed it. restitch holds the lowercased refs it stitches then.
	bulk, bulkEnded bool
	restitch        map[string]bool
	// last is set while the last current source is refreshed.
	last bool
}

func newRefreshPass() *refreshPass {
	return &refreshPass{problems: map[string][]error{}}
}

// add records one source's refresh; a source refreshed again replaces its
// earlier problems.
func (p *refreshPass) add(src Source, out sourceOutcome) {
	if _, again := p.problems[src.Name]; !again {
		p.order = append(p.order, src.Name)
	}
	p.problems[src.Name] = out.problems
	if out.conflicts > 0 && !slices.ContainsFunc(p.conflicted, func(c Source) bool { return c.Name == src.Name }) {
		p.conflicted = append(p.conflicted, src)
	}
	if out.orphaned > 0 {
		p.orphaned = true
	}
}

// allProblems returns every source's problems in refresh order.
func (p *refreshPass) allProblems() []error {
	var out []error
	for _, name := range p.order {
		out = append(out, p.problems[name]...)
	}
	return out
}

// finishPass ends a full refresh whose sources have all been refreshed:
// the entities of sources that are no longer current become orphans; the
// sources that lost a conflict are refreshed again when something became an
// orphan, so that they claim what the winner dropped; then, with the
// delete strategy, orphans are deleted. Events are published after each
// step's transaction.
func (s *Service) finishPass(ctx context.Context) error {
	p := s.pass
	known, err := s.store.KnownSources(ctx)
	if err != nil {
		return fmt.Errorf("list sources: %w", err)
	}
	for _, name := range known {
		if _, current := p.problems[name]; current || IsPushSource(name) || IsProviderSource(name) {
			continue // push and provider sources are not locations: only a replace push or their provider retires them
		}
		res, err := s.store.RetireSource(ctx, name)
		if err != nil {
			return fmt.Errorf("retire source %s: %w", name, err)
		}
		s.publish(res.Changes)
		if res.Orphaned > 0 {
			p.orphaned = true
		}
		s.logger.Info("source retired", "source", name, "orphaned", res.Orphaned)
	}
	if p.orphaned {
		for _, src := range slices.Clone(p.conflicted) {
			if _, err := s.refreshSource(ctx, src); err != nil {
				return fmt.Errorf("refresh %s again: %w", src.Name, err)
			}
		}
	}
	if s.orphans == OrphanDelete || s.orphans == "" {
		return s.deleteOrphans(ctx)
	}
	return nil
}

// deleteOrphans is the cleanup pass of the delete strategy.
func (s *Service) deleteOrphans(ctx context.Context) error {
	res, err := s.store.DeleteOrphans(ctx)
	if err != nil {
		return fmt.Errorf("delete orphans: %w", err)
	}
	s.publish(res.Changes)
	if res.Deleted > 0 {
		s.logger.Info("orphans deleted", "count", res.Deleted)
	}
	return nil
}
