package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"greenroom/internal/greenroom"
	"greenroom/internal/yamltree"
)

// Limits bound what one location may make the reader do.
const (
	maxFileBytes     = 10 << 20
	maxLocationDepth = 16
	maxDocuments     = 10000
	// maxSourceFiles and maxSourceBytes bound a whole source, placeholder
	// targets included: a tree of Location entities fans out, and over URLs
	// every file is a request.
	maxSourceFiles = 10000
	maxSourceBytes = 256 << 20
)

// yamlLimits bound the parse of each file, placeholder targets included.
// MaxStructural is ten times yamltree's default so that files of several
// megabytes of ordinary entities (about 50 structural characters each)
// parse; a hostile file at that limit costs goccy/go-yaml about 1.4 GB of
// allocations, 1 GB at peak, and 3 s. Keys per mapping keep the default.
var yamlLimits = yamltree.Limits{
	MaxBytes:      maxFileBytes,
	MaxNodes:      1_000_000,
	MaxDepth:      64,
	MaxStructural: 1_000_000,
}

// LocationError is a problem with one file of a location, located as
// precisely as the parser allows. It never stops the other files.
type LocationError struct {
	File string
	// Line and Column are 1-based; 0 when unknown or when the problem is
	// about a whole document.
	Line, Column int
	Message      string
	// Err is the cause when the file could not be read, e.g. an error
	// with code not_found.
	Err error
}

// Unwrap returns the cause.
func (e *LocationError) Unwrap() error { return e.Err }

func (e *LocationError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

// reader walks a location: each file's documents, and the targets of
// Location entities relative to the file that names them. A file is named
// either by a path within fsys or by an absolute http(s) URL, read through
// urls; relative targets in a URL-read file resolve against its URL.
type reader struct {
	ctx      context.Context
	fsys     fs.FS
	urls     URLReader
	seen     map[string]bool
	files    int
	bytes    int
	entities []rawEntity
	errs     []error
	// incomplete is set when a URL could not be read for a reason other
	// than its absence (an outage, a timeout, a refused host): what was read
	// is then not what the source holds.
	incomplete bool
	// prefetched holds files of the tree read and parsed ahead, on all
	// processors, by name; readFile takes each in its turn.
	prefetched map[string]*prefetch
	// prefetching counts the prefetch workers, all done before readTree
	// returns: the file system may be closed after.
	prefetching sync.WaitGroup
	// ahead bounds the files read and parsed ahead but not yet taken, so
	// that a location of many files is held a few files at a time; stop,
	// closed when the walk ends, releases workers waiting for a place.
	ahead chan struct{}
	stop  chan struct{}
	// emit, when set, receives each entity in its turn instead of
	// entities (streamTree).
	emit func(rawEntity)
	// inputs, when set, records every file read, in its turn, with the
	// digest of its bytes (rawinputs.go).
	inputs *inputLog
}

// prefetch is one file read and parsed ahead of its turn.
type prefetch struct {
	done chan struct{}
	// state is prefetchPending until a worker starts on the file
	// (prefetchStarted) or the walk reaches it first and reads it itself
	// (prefetchTaken), so that a walk never waits for a worker that waits
	// for a place.
	state atomic.Int32
	held  bool              // holds a place in ahead until taken
	data  int               // bytes read
	sum   [sha256.Size]byte // of the bytes, when the walk records its inputs
	docs  []any
	lines []int
	err   error // reading
	perr  error // parsing
}

const (
	prefetchPending int32 = iota
	prefetchStarted
	prefetchTaken
)

// rawEntity is one document as read, with where it was found.
type rawEntity struct {
	File string // path within the source's file system, or the file's URL
	Line int    // line of the document's first value
	Data map[string]any
}

// readTree reads root and every file its Location entities reach. root is
// a path within fsys or an http(s) URL. When a URL could not be read for a
// reason other than a 404 it returns no entities, only the problems, so
// that the caller keeps what the source supplied before rather than losing
// the unread files' entities to an outage.
func readTree(ctx context.Context, fsys fs.FS, root string, urls URLReader) ([]rawEntity, []error) {
	r := newReader(ctx, fsys, urls)
	r.walk(root)
	if r.incomplete {
		return nil, r.errs
	}
	return r.entities, r.errs
}

// streamTree is readTree handing each entity to emit in its turn, in the
// same order, instead of returning them all: at most maxAhead files are
// held parsed ahead. incomplete reports what readTree signals by returning
// no entities (a URL that could not be read for a reason other than its
// absence), known only at the end. inputs, when not nil, records every
// file read.
func streamTree(ctx context.Context, fsys fs.FS, root string, urls URLReader, emit func(rawEntity), inputs *inputLog) (problems []error, incomplete bool) {
	r := newReader(ctx, fsys, urls)
	r.emit = emit
	r.inputs = inputs
	r.walk(root)
	return r.errs, r.incomplete
}

// maxAhead bounds the files parsed ahead of their turn.
var maxAhead = 2 * runtime.GOMAXPROCS(0)

func newReader(ctx context.Context, fsys fs.FS, urls URLReader) *reader {
	return &reader{ctx: ctx, fsys: fsys, urls: urls, seen: map[string]bool{},
		ahead: make(chan struct{}, maxAhead), stop: make(chan struct{})}
}

// walk reads root and what it reaches, then stops the prefetch workers.
func (r *reader) walk(root string) {
	if isURL(root) {
		r.readFile(root, 0)
	} else {
		r.readFile(path.Clean(root), 0)
	}
	close(r.stop) // files prefetched but never taken hold their places
	r.prefetching.Wait()
}

// withGenerated puts a registered location's generated Location entity
// before what its target supplied, unless nothing could be read at all:
// the source then keeps what it had.
func withGenerated(src Source, loc Location, raws []rawEntity, problems []error) []rawEntity {
	if len(raws) == 0 && len(problems) > 0 {
		return raws
	}
	return append([]rawEntity{generatedEntity(src, loc)}, raws...)
}

// isURL reports whether a reader file name is a URL rather than a path:
// paths are cleaned, so they never hold "//".
func isURL(name string) bool { return strings.Contains(name, "://") }

func (r *reader) fail(file string, line int, format string, args ...any) {
	r.errs = append(r.errs, &LocationError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (r *reader) readFile(name string, depth int) {
	if r.seen[name] {
		return // a Location cycle or a file named twice: read once
	}
	r.seen[name] = true
	if depth > maxLocationDepth {
		r.fail(name, 0, "locations nested deeper than %d", maxLocationDepth)
		return
	}
	docs, lines, err := r.readDocuments(name)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.prefetchTargets(name, docs)
	for i, doc := range docs {
		if doc == nil {
			continue // "--- null" or "--- ~", ignored as Backstage does
		}
		ent, ok := doc.(map[string]any)
		if !ok {
			r.fail(name, lines[i], "document %d is not an object", i+1)
			continue
		}
		if err := r.resolvePlaceholders(name, ent, 0); err != nil {
			r.fail(name, lines[i], "document %d: %v", i+1, err)
			continue
		}
		// Appended before its targets are read, so that entities come in
		// file order: a Location before what it points at.
		docs[i] = nil // held by the entity from here on
		if r.emit != nil {
			r.emit(rawEntity{File: name, Line: lines[i], Data: ent})
		} else {
			r.entities = append(r.entities, rawEntity{File: name, Line: lines[i], Data: ent})
		}
		if kind, _ := ent["kind"].(string); strings.EqualFold(kind, "Location") {
			for _, t := range locationTargets(ent) {
				next, err := resolveTarget(name, t)
				if err == nil && isURL(next) && r.urls == nil {
					err = errNoURLReader
				}
				if err != nil {
					r.fail(name, lines[i], "location target %q: %v", t, err)
					continue
				}
				r.readFile(next, depth+1)
			}
		}
	}
}

// readDocuments reads and parses one file, or takes it prefetched; the
// error is the file's LocationError.
func (r *reader) readDocuments(name string) ([]any, []int, error) {
	p := r.prefetched[name]
	delete(r.prefetched, name)
	if p != nil && !p.state.CompareAndSwap(prefetchPending, prefetchTaken) {
		<-p.done
		if p.held {
			<-r.ahead
		}
		err := r.countFile()
		if err == nil {
			err = p.err
		}
		if err == nil {
			err = r.countBytes(p.data)
		}
		if err != nil {
			return nil, nil, &LocationError{File: name, Message: err.Error(), Err: err}
		}
		if p.perr != nil {
			return nil, nil, locate(name, p.perr)
		}
		if r.inputs != nil {
			r.inputs.add(name, p.sum)
		}
		return p.docs, p.lines, nil
	}
	data, err := r.read(name)
	if err != nil {
		return nil, nil, &LocationError{File: name, Message: err.Error(), Err: err}
	}
	docs, lines, err := decodeDocuments(name, data)
	if err != nil {
		return nil, nil, locate(name, err)
	}
	return docs, lines, nil
}

// maxPrefetch bounds the files read ahead for the Location entities of
// one file (each at most maxFileBytes).
const maxPrefetch = 64

// prefetchTargets starts reading and parsing, on all processors but in
// the background, the local files that the Location entities among docs
// (of the file base) name, so that a location of many files parses on
// every core. They are taken, counted against the bounds and their
// problems reported in their turn, as if read then; a file already seen
// or not reached is parsed for nothing. URLs are read in their turn.
func (r *reader) prefetchTargets(base string, docs []any) {
	if r.fsys == nil {
		return
	}
	var names []string
	for _, doc := range docs {
		ent, ok := doc.(map[string]any)
		if kind, _ := ent["kind"].(string); !ok || !strings.EqualFold(kind, "Location") {
			continue
		}
		for _, t := range locationTargets(ent) {
			next, err := resolveTarget(base, t)
			if err != nil || isURL(next) || r.seen[next] || r.prefetched[next] != nil || len(names) >= maxPrefetch {
				continue
			}
			names = append(names, next)
		}
	}
	if len(names) < 2 {
		return
	}
	if r.prefetched == nil {
		r.prefetched = map[string]*prefetch{}
	}
	jobs := make(chan *prefetchJob, len(names))
	for _, name := range names {
		p := &prefetch{done: make(chan struct{})}
		r.prefetched[name] = p
		jobs <- &prefetchJob{name, p}
	}
	close(jobs)
	fsys, sum := r.fsys, r.inputs != nil
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		r.prefetching.Go(func() {
			for j := range jobs {
				select {
				case r.ahead <- struct{}{}:
				case <-r.stop: // the walk is over: nobody takes it
					close(j.p.done)
					continue
				}
				if !j.p.state.CompareAndSwap(prefetchPending, prefetchStarted) {
					<-r.ahead // the walk read it itself
					close(j.p.done)
					continue
				}
				j.p.held = true
				data, err := readBounded(fsys, j.name)
				j.p.data, j.p.err = len(data), err
				if err == nil && sum {
					j.p.sum = sha256.Sum256(data)
				}
				if err == nil {
					j.p.docs, j.p.lines, j.p.perr = decodeDocuments(j.name, data)
				}
				close(j.p.done)
			}
		})
	}
}

type prefetchJob struct {
	name string
	p    *prefetch
}

// countFile and countBytes count one file, before it is read, and its
// bytes, after, against the source's bounds.
func (r *reader) countFile() error {
	if r.files >= maxSourceFiles {
		return fmt.Errorf("location reads more than %d files", maxSourceFiles)
	}
	r.files++
	return nil
}

func (r *reader) countBytes(n int) error {
	r.bytes += n
	if r.bytes > maxSourceBytes {
		return fmt.Errorf("location reads more than %d bytes in all", maxSourceBytes)
	}
	return nil
}

// read returns the content of one file, counted against the source's
// bounds.
func (r *reader) read(name string) ([]byte, error) {
	if err := r.countFile(); err != nil {
		return nil, err
	}
	var data []byte
	var err error
	if isURL(name) {
		data, err = r.readURL(name)
	} else if r.fsys == nil {
		err = errors.New("a relative path needs a file tree to read from") // cannot happen: URL roots resolve to URLs
	} else {
		data, err = readBounded(r.fsys, name)
	}
	if err != nil {
		return nil, err
	}
	if err := r.countBytes(len(data)); err != nil {
		return nil, err
	}
	if r.inputs != nil {
		r.inputs.add(name, sha256.Sum256(data))
	}
	return data, nil
}

// errNoURLReader is the problem of a URL to read when the Service has no
// URLReader.
var errNoURLReader = greenroom.Errorf(greenroom.CodeInvalid, "reading URLs is not configured on this server")

func (r *reader) readURL(rawURL string) ([]byte, error) {
	if r.urls == nil {
		return nil, errNoURLReader
	}
	if err := r.ctx.Err(); err != nil {
		r.incomplete = true
		return nil, err
	}
	data, err := r.urls.ReadURL(r.ctx, rawURL)
	if err != nil {
		switch greenroom.ErrorCode(err) {
		case greenroom.CodeNotFound, greenroom.CodeInvalid, greenroom.CodeTooLarge:
			// The file is missing or unreadable as it stands: a problem of
			// the location itself, like a missing file on disk.
		default:
			r.incomplete = true
		}
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	return data, nil
}

// resolveTarget names the file a target refers to from the file base: an
// absolute http(s) URL as it is; a relative one against base's URL when
// base was read over HTTP, else against base's directory. A target starting
// with "/" in a file tree is taken from the tree's root, which for a
// FileSource is the file system's root.
func resolveTarget(base, target string) (string, error) {
	if isURL(target) || isURL(base) {
		ref, err := url.Parse(target)
		if err != nil {
			return "", fmt.Errorf("not a valid URL or path: %v", urlErrorDetail(err))
		}
		if isURL(base) {
			b, err := url.Parse(base)
			if err != nil {
				return "", err
			}
			ref = b.ResolveReference(ref)
		}
		if s := strings.ToLower(ref.Scheme); (s != "http" && s != "https") || ref.Host == "" {
			return "", errors.New("only relative paths and http(s) URLs can be read")
		}
		ref.Fragment, ref.RawFragment = "", ""
		return ref.String(), nil
	}
	if strings.HasPrefix(target, "/") {
		return path.Clean(strings.TrimPrefix(target, "/")), nil
	}
	return path.Join(path.Dir(base), target), nil
}

// urlErrorDetail drops the operation and URL that url.Error repeats, the
// caller having named the target already.
func urlErrorDetail(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func readBounded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	return data, nil
}

// decodeDocuments parses every document of a YAML stream into plain
// values; empty documents are left out, explicit nulls are nil.
func decodeDocuments(name string, data []byte) (docs []any, lines []int, err error) {
	if err := checkUTF8(name, data); err != nil {
		return nil, nil, err
	}
	nodes, err := yamltree.ParseDocuments(name, data, yamlLimits, nil)
	if err != nil {
		return nil, nil, err
	}
	if len(nodes) > maxDocuments {
		return nil, nil, fmt.Errorf("more than %d documents", maxDocuments)
	}
	docs = make([]any, len(nodes))
	lines = make([]int, len(nodes))
	for i, n := range nodes {
		docs[i] = n.Interface()
		lines[i] = n.Pos().Line
	}
	return docs, lines, nil
}

// checkUTF8 refuses a file that is not UTF-8 (YAML's encoding for the
// catalog's files), located at its first bad byte. The YAML parser would
// read each such byte as U+FFFD, as Node.js does when Backstage reads the
// file; the catalog says so instead of storing names and descriptions
// with characters the author never wrote.
func checkUTF8(name string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return &yamltree.Error{Pos: yamltree.Pos{File: name, Line: line, Column: col},
				Message: fmt.Sprintf("the file is not valid UTF-8: byte 0x%02X", data[i])}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

// locate turns a parse error into a LocationError with its line and
// column.
func locate(file string, err error) error {
	var ye *yamltree.Error
	if errors.As(err, &ye) {
		return &LocationError{File: file, Line: ye.Line, Column: ye.Column, Message: ye.Message}
	}
	return &LocationError{File: file, Message: err.Error()}
}

func locationTargets(ent map[string]any) []string {
	spec, _ := ent["spec"].(map[string]any)
	var out []string
	if t, ok := spec["target"].(string); ok && t != "" {
		out = append(out, t)
	}
	if ts, ok := spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// resolvePlaceholders replaces Backstage's $text, $json and $yaml
// placeholders with the content of the file they name, relative to base.
func (r *reader) resolvePlaceholders(base string, v any, depth int) error {
	if depth > 64 {
		return errors.New("document nested deeper than 64 levels")
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if m, ok := child.(map[string]any); ok && len(m) == 1 {
				if resolved, ok, err := r.placeholder(base, m); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				} else if ok {
					t[k] = resolved
					continue
				}
			}
			if err := r.resolvePlaceholders(base, child, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, child := range t {
			if err := r.resolvePlaceholders(base, child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *reader) placeholder(base string, m map[string]any) (any, bool, error) {
	for key, target := range m {
		if key != "$text" && key != "$json" && key != "$yaml" {
			return nil, false, nil
		}
		s, ok := target.(string)
		if !ok || s == "" {
			return nil, false, greenroom.Errorf(greenroom.CodeInvalid, "%s needs a relative path or an http(s) URL", key)
		}
		name, err := resolveTarget(base, s)
		if err == nil && isURL(name) && r.urls == nil {
			err = errNoURLReader
		}
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", key, s, err)
		}
		data, err := r.read(name)
		if err != nil {
			return nil, false, fmt.Errorf("%s %s: %w", key, s, err)
		}
		switch key {
		case "$text":
			return string(data), true, nil
		case "$json":
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, false, fmt.Errorf("$json %s: %w", s, err)
			}
			return v, true, nil
		default:
			n, err := yamltree.Parse(name, data, yamlLimits, nil)
			if err != nil {
				return nil, false, fmt.Errorf("$yaml: %w", err)
			}
			return n.Interface(), true, nil
		}
	}
	return nil, false, nil
}
