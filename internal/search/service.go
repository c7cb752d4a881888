package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Notices shown with results while the index is not whole.
const (
	NoticeBuilding = "The search index is being built; results may be incomplete for a moment."
	NoticeRepair   = "The search index was damaged and is being rebuilt; results may be incomplete for a moment."
)

// indexBatch is how many documents a rebuild writes per batch.
const indexBatch = 500

// maxBatchBytes bounds the text one batch carries (docBytes): the engine
// analyses a batch whole, holding several times its text meanwhile, so
// a batch of large documents (API definitions, long pages, each up to
// MaxTextBytes) is cut well before indexBatch documents.
const maxBatchBytes = 4 << 20

// docBytes is about how many bytes of text a document brings to a batch.
func docBytes(d Document) int {
	n := len(d.Title) + len(d.Name) + len(d.Text) + len(d.Description) + len(d.Location)
	for _, t := range d.Tags {
		n += len(t)
	}
	for _, k := range d.Keywords {
		n += len(k)
	}
	for _, s := range d.Sections {
		n += len(s.Heading) + len(s.Text)
	}
	return n
}

// Options configure a Service.
type Options struct {
	// Dir holds the index (local mode: <data dir>/search). Empty keeps it
	// in a temporary directory removed on Close.
	Dir    string
	Logger *slog.Logger
	// RebuildOnStart rebuilds in the background at start even when a
	// current index exists, catching up changes made while Greenroom was
	// stopped. A missing, older or damaged index is always rebuilt.
	RebuildOnStart bool
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Backend makes the engines; nil keeps bleve indexes in Dir.
	Backend Backend
}

// Status reports the index's state.
type Status struct {
	Dir         string            `json:"dir"`
	Documents   uint64            `json:"documents"`
	Building    bool              `json:"building"`
	Notice      string            `json:"notice,omitempty"`
	LastBuild   time.Time         `json:"lastBuild,omitzero"`
	BuildTime   time.Duration     `json:"buildTime"`
	Truncated   int               `json:"truncated"`
	SourceError map[string]string `json:"sourceErrors,omitempty"`
	SizeBytes   int64             `json:"sizeBytes"`
}

// Service is search's business logic, shared by every transport: it owns
// the current engine, rebuilds aside and swaps, feeds real-time changes,
// and applies the searcher's visibility and ranking signals.
type Service struct {
	opts    Options
	logger  *slog.Logger
	sources []Source
	tmpDir  bool

	mu      sync.RWMutex // guards eng; queries hold it shared
	eng     Engine
	backend Backend

	build    sync.Mutex // one rebuild at a time
	building atomic.Bool
	notice   atomic.Value // string
	repair   atomic.Bool  // a repair rebuild is queued or running

	pmu     sync.Mutex
	pending []Change // changes that arrived during a rebuild

	smu    sync.Mutex
	status Status

	visibility atomic.Value // func(context.Context) (Visibility, error)
	wg         sync.WaitGroup

	analytics Analytics
	tally     tally

	running chan struct{} // a slot per core for queries running

	relMu      sync.Mutex
	relPending int // documents indexed since the heap was last released
	relTimer   *time.Timer
}

// After indexing at least releaseMin documents, once indexing has been
// quiet for releaseQuiet, the heap it left behind is returned to the
// operating system: building and merging segments allocates many times
// the index's size (at start-up, the catalog's first load arrives as a
// burst of changes), and the Go runtime would keep that memory resident
// for minutes.
const (
	releaseMin   = 100
	releaseQuiet = time.Second
)

func (s *Service) noteIndexed(n int) {
	s.relMu.Lock()
	defer s.relMu.Unlock()
	s.relPending += n
	if s.relPending < releaseMin {
		return
	}
	if s.relTimer == nil {
		s.relTimer = time.AfterFunc(releaseQuiet, s.release)
	} else {
		s.relTimer.Reset(releaseQuiet)
	}
}

func (s *Service) release() {
	s.relMu.Lock()
	s.relPending = 0
	s.relMu.Unlock()
	debug.FreeOSMemory()
}

// analyticsFlush is how often aggregated analytics are written.
const analyticsFlush = 10 * time.Second

// SetAnalytics makes the service record aggregated search analytics
// (queries, zero-result queries, click positions) into a; call it before
// Start.
func (s *Service) SetAnalytics(a Analytics) { s.analytics = a }

// Click records that the result at rank (1-based) was opened for term.
func (s *Service) Click(term string, rank int) error {
	t, err := CleanTerm(term)
	if err != nil {
		return err
	}
	if rank < 1 || rank > maxClickRank {
		return greenroom.Errorf(greenroom.CodeInvalid, "rank %d: choose 1 to %d", rank, maxClickRank)
	}
	if s.analytics != nil {
		s.tally.click(s.now(), t, rank)
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// FlushAnalytics writes the aggregated analytics now.
func (s *Service) FlushAnalytics(ctx context.Context) error {
	if s.analytics == nil {
		return nil
	}
	qs, cs := s.tally.take()
	if err := s.analytics.RecordSearchAnalytics(ctx, qs, cs); err != nil {
		s.tally.put(qs, cs)
		return err
	}
	return nil
}

func (s *Service) flushLoop(ctx context.Context) {
	t := time.NewTicker(analyticsFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.FlushAnalytics(fctx); err != nil {
				s.logger.Warn("search analytics flush", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.FlushAnalytics(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("search analytics flush", "err", err)
			}
		}
	}
}

// NewService returns a service over sources; Start opens or builds the
// index.
func NewService(opts Options, sources ...Source) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, logger: opts.Logger, sources: sources, running: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if s.opts.Dir == "" {
		d, err := os.MkdirTemp("", "greenroom-search-")
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		s.opts.Dir, s.tmpDir = d, true
	}
	if err := os.MkdirAll(s.opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("search: index dir: %w", err)
	}
	s.notice.Store("")
	s.backend = opts.Backend
	if s.backend == nil {
		s.backend = bleveBackend{dir: s.opts.Dir}
	}
	return s, nil
}

// SetVisibility installs the hook that says what the request's principal
// may read (the authorization engine's catalog read filter). Without one
// every document is visible, as in a portal without authorization.
func (s *Service) SetVisibility(fn func(ctx context.Context) (Visibility, error)) {
	s.visibility.Store(fn)
}

func (s *Service) visible(ctx context.Context) (Visibility, error) {
	fn, _ := s.visibility.Load().(func(context.Context) (Visibility, error))
	if fn == nil {
		return Everything, nil
	}
	v, err := fn(ctx)
	if err != nil {
		return Visibility{}, fmt.Errorf("search: visibility: %w", err)
	}
	return v, nil
}

// current is the name of the file naming the live index directory.
const currentFile = "CURRENT"

// Start opens the index named by CURRENT, or starts building one (queries
// answer from an empty index meanwhile, with a notice), and runs the
// sources' feeds until ctx is done. It returns once queries can be served.
func (s *Service) Start(ctx context.Context) error {
	eng, err := s.backend.Open(ctx)
	rebuild, notice := s.opts.RebuildOnStart, ""
	switch {
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		rebuild, notice = true, NoticeBuilding
	case errors.Is(err, ErrSchema):
		s.logger.Info("search index of an older schema, rebuilding", "err", err)
		rebuild, notice = true, NoticeBuilding
	default:
		s.logger.Error("search index damaged, rebuilding", "err", err)
		rebuild, notice = true, NoticeRepair
	}
	if err != nil {
		if eng, err = s.backend.New(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.eng = eng
	s.mu.Unlock()
	s.notice.Store(notice)
	for _, src := range s.sources {
		if f, ok := src.(Feed); ok {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.watch(ctx, src.Name(), f)
			}()
		}
	}
	if s.analytics != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.flushLoop(ctx)
		}()
	}
	if rebuild {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.Rebuild(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("search rebuild", "err", err)
			}
		}()
	}
	return nil
}

func (s *Service) watch(ctx context.Context, name string, f Feed) {
	for ctx.Err() == nil {
		err := f.Watch(ctx, s.Apply)
		if ctx.Err() != nil {
			return
		}
		s.logger.Warn("search feed stopped, restarting", "source", name, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Apply indexes a real-time change; during a rebuild it is also replayed
// on the new index before the swap.
func (s *Service) Apply(ctx context.Context, c Change) error {
	if s.building.Load() {
		s.pmu.Lock()
		s.pending = append(s.pending, c)
		s.pmu.Unlock()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.eng == nil {
		return greenroom.Errorf(greenroom.CodeUnavailable, "search is not started")
	}
	if err := apply(ctx, s.eng, c); err != nil {
		return err
	}
	s.noteIndexed(len(c.Upsert) + len(c.Delete))
	return nil
}

// apply indexes c's upserts, in batches within indexBatch documents and
// maxBatchBytes, then its deletions.
func apply(ctx context.Context, eng Engine, c Change) error {
	docs := make([]Document, 0, min(len(c.Upsert), indexBatch))
	size := 0
	for i, d := range c.Upsert {
		d = d.normalise()
		docs = append(docs, d)
		size += docBytes(d)
		if i < len(c.Upsert)-1 && len(docs) < indexBatch && size < maxBatchBytes {
			continue
		}
		if err := eng.Index(ctx, docs); err != nil {
			return err
		}
		clear(docs)
		docs, size = docs[:0], 0
	}
	if len(c.Delete) > 0 {
		return eng.Delete(ctx, c.Delete)
	}
	return nil
}

// Rebuild collects every source into a new index beside the current one
// and swaps it in; queries keep using the current index meanwhile. A
// failing source is logged and reported in Status; the others are indexed.
func (s *Service) Rebuild(ctx context.Context) error {
	s.build.Lock()
	defer s.build.Unlock()
	s.pmu.Lock()
	s.pending = nil
	s.pmu.Unlock()
	s.building.Store(true)
	defer s.building.Store(false)
	started := time.Now()
	eng, err := s.backend.New(ctx)
	if err != nil {
		return err
	}
	srcErrs := map[string]string{}
	truncated := 0
	batch := make([]Document, 0, indexBatch)
	batchBytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := eng.Index(ctx, batch)
		clear(batch)
		batch, batchBytes = batch[:0], 0
		return err
	}
	for _, src := range s.sources {
		err := src.Collect(ctx, func(d Document) error {
			d = d.normalise()
			if d.Truncated {
				truncated++
				s.logger.Info("search document truncated for indexing", "key", d.Key(), "bytes", MaxTextBytes)
			}
			batch = append(batch, d)
			if batchBytes += docBytes(d); len(batch) >= indexBatch || batchBytes >= maxBatchBytes {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		clear(batch)
		batch, batchBytes = batch[:0], 0
		if err != nil {
			if ctx.Err() != nil {
				s.backend.Discard(eng)
				return ctx.Err()
			}
			s.logger.Error("search source failed", "source", src.Name(), "err", err)
			srcErrs[src.Name()] = err.Error()
		}
	}
	// One segment answers cheaper than the batches' many (an engine
	// without segments has no Compact).
	if c, ok := any(eng).(interface{ Compact(context.Context) error }); ok {
		if err := c.Compact(ctx); err != nil {
			s.logger.Warn("search: compact", "err", err)
		}
	}
	// Replay what changed meanwhile, then swap under the write lock so no
	// change is lost between the replay and the swap.
	s.mu.Lock()
	s.pmu.Lock()
	pending := s.pending
	s.pending = nil
	s.building.Store(false)
	s.pmu.Unlock()
	for _, c := range pending {
		if err := apply(ctx, eng, c); err != nil {
			s.mu.Unlock()
			s.backend.Discard(eng)
			return err
		}
	}
	old := s.eng
	if err := s.backend.Commit(ctx, eng); err != nil {
		s.mu.Unlock()
		s.backend.Discard(eng)
		return err
	}
	s.eng = eng
	s.mu.Unlock()
	if old != nil && old != eng {
		s.backend.Discard(old)
	}
	n, _ := eng.Count()
	s.noteIndexed(int(n))
	s.smu.Lock()
	s.status.LastBuild = time.Now()
	s.status.BuildTime = time.Since(started)
	s.status.Truncated = truncated
	s.status.SourceError = srcErrs
	s.smu.Unlock()
	s.notice.Store("")
	s.repair.Store(false)
	s.logger.Info("search index built", "documents", n, "duration", time.Since(started).Round(time.Millisecond), "failed_sources", len(srcErrs))
	return nil
}

func writeCurrent(dir, name string) error {
	tmp := filepath.Join(dir, currentFile+".tmp")
	if err := os.WriteFile(tmp, []byte(name+"\n"), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, currentFile))
}

// damaged reacts to an engine error that is not the caller's: the index is
// rebuilt in the background (once) with a visible notice.
func (s *Service) damaged(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errClosed) || errors.Is(err, ErrTransient) {
		return
	}
	if !s.repair.CompareAndSwap(false, true) {
		return
	}
	s.logger.Error("search index failed a query, rebuilding", "err", err)
	s.notice.Store(NoticeRepair)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := s.Rebuild(ctx); err != nil {
			s.logger.Error("search repair rebuild", "err", err)
			s.repair.Store(false)
		}
	}()
}

// Search runs a query as the request's principal: validated, restricted
// to what the principal may read, their own teams' entities ranked up.
func (s *Service) Search(ctx context.Context, q Query) (Result, error) {
	q, err := q.Validate()
	if err != nil {
		return Result{}, err
	}
	vis, err := s.visible(ctx)
	if err != nil {
		return Result{}, err
	}
	if p := access.FromContext(ctx); p != nil && len(q.OwnerRefs) == 0 {
		q.OwnerRefs = p.OwnershipRefs
	}
	// At most one query per core runs; the others wait their turn in
	// order. A query is pure CPU work: running more at once than there
	// are cores gains nothing, and the Go scheduler then lets a query
	// that was preempted (by the collector, every few milliseconds under
	// a query load) wait behind dozens of others — the p99.
	select {
	case s.running <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("search: %w", ctx.Err())
	}
	defer func() { <-s.running }()
	s.mu.RLock()
	eng := s.eng
	if eng == nil {
		s.mu.RUnlock()
		return Result{}, greenroom.Errorf(greenroom.CodeUnavailable, "search is starting")
	}
	res, err := eng.Search(ctx, q, vis)
	s.mu.RUnlock()
	if err != nil {
		s.damaged(err)
		return Result{Notice: s.Notice()}, greenroom.Errorf(greenroom.CodeUnavailable, "search is unavailable for a moment: %v", err)
	}
	res.Notice = s.Notice()
	if s.analytics != nil && q.Offset == 0 && q.Term != "" {
		s.tally.query(s.now(), q.Term, res.Total == 0)
	}
	return res, nil
}

// Suggest completes what the user is typing, restricted like Search.
func (s *Service) Suggest(ctx context.Context, prefix string, types []string, limit int) ([]Suggestion, error) {
	prefix, err := CleanTerm(prefix)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > SuggestLimit*2 {
		limit = SuggestLimit
	}
	vis, err := s.visible(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.eng == nil {
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "search is starting")
	}
	out, err := s.eng.Suggest(ctx, prefix, types, vis, limit)
	if err != nil {
		go s.damaged(err)
		return nil, greenroom.Errorf(greenroom.CodeUnavailable, "search is unavailable for a moment")
	}
	return out, nil
}

// Notice returns the current degradation notice, "" when all is well.
func (s *Service) Notice() string {
	n, _ := s.notice.Load().(string)
	return n
}

// Status reports the index's state.
func (s *Service) Status() Status {
	s.smu.Lock()
	st := s.status
	s.smu.Unlock()
	st.Dir = s.opts.Dir
	st.Building = s.building.Load()
	st.Notice = s.Notice()
	s.mu.RLock()
	if s.eng != nil {
		st.Documents, _ = s.eng.Count()
		if sz, ok := s.eng.(sizer); ok {
			st.SizeBytes = sz.Size()
		}
	}
	s.mu.RUnlock()
	return st
}

// Close waits for background work (cancel Start's context first) and
// closes the index.
func (s *Service) Close() error {
	s.wg.Wait()
	s.relMu.Lock()
	if s.relTimer != nil {
		s.relTimer.Stop()
	}
	s.relMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.eng != nil {
		err = s.eng.Close()
		s.eng = nil
	}
	if s.tmpDir {
		os.RemoveAll(s.opts.Dir)
	}
	return err
}
