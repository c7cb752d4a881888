package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"greenroom/internal/catalog/entity"
	"greenroom/internal/greenroom"
)

// processingVersion names what processing makes of a source's bytes. Bump
// it whenever reading or processing changes its output for the same input
// (read.go, process.go, rules.go, stream.go, entity validation, relations,
// hashing), so that a source recorded by an older build is processed again
// instead of being skipped as unchanged.
const processingVersion = 1

// A source's output is a function of its raw inputs: the bytes of every
// file its walk read (root, Location targets, $text/$json/$yaml
// placeholders; the reader expands no globs or directories), and the
// configuration processing consults (rawConfig). A refresh records them
// (SourceState.Inputs); the next one re-reads just those files, without
// parsing them, and when the bytes and the configuration are the same it
// skips the source: no parse, no processing, no entity write. It does so
// only when the last refresh read every file cleanly (any problem of the
// reader, a URL outage included, records nothing) and lost no conflict to
// another source (whose entity it must claim once the winner lets it go).
// What else processing reads is the store's state of the source itself
// (the last good version of an entity that fails, the entities kept while
// an entity cannot be named), which only the source's refreshes write and
// which deleting one of its entities or retiring it forgets along with
// the recorded inputs.

// inputLog records the files one walk read, in walk order, with a digest
// of each one's bytes.
type inputLog struct {
	names []string
	sums  map[string][sha256.Size]byte
	// unstable is set when a file read twice in the walk gave different
	// bytes: what was made of it is then no function of one version.
	unstable bool
}

func newInputLog() *inputLog {
	return &inputLog{sums: map[string][sha256.Size]byte{}}
}

// add records that the walk read name, whose bytes have the digest sum.
func (l *inputLog) add(name string, sum [sha256.Size]byte) {
	if old, ok := l.sums[name]; ok {
		l.unstable = l.unstable || old != sum
		return
	}
	l.sums[name] = sum
	l.names = append(l.names, name)
}

// inputsDigest combines the files' names and digests, in order.
func inputsDigest(names []string, sums [][sha256.Size]byte) string {
	h := sha256.New()
	for i, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(sums[i][:])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// rawState is SourceState.Inputs, as JSON.
type rawState struct {
	Config string `json:"c"` // rawConfig when the refresh ran
	Digest string `json:"d"` // inputsDigest of Files
	// Files are the files read, in walk order, each as a target relative
	// to the source's root (resolveTarget gives the name back): short for
	// the many files of one directory.
	Files []string `json:"f"`
	// Problems are the refresh's problems, every one a ProcessingError
	// (else nothing is recorded), for the skipped refreshes to report.
	Problems []storedProblem `json:"p,omitempty"`
}

// storedProblem is a ProcessingError of the source without its name.
type storedProblem struct {
	File string `json:"f"`
	Line int    `json:"l,omitempty"`
	Ref  string `json:"r,omitempty"`
	Path string `json:"p,omitempty"`
	Rule string `json:"m"`
}

// rawInputs is what one refresh of a source learnt about its raw inputs,
// for the SourceState it saves.
type rawInputs struct {
	config string
	log    *inputLog
	// clean is set when the reader reported no problem and read every
	// file (no URL outage).
	clean bool
}

// encode returns SourceState.Inputs for a refresh that stored hash and
// found problems, or "" when the next refresh must not skip the source.
func (ri rawInputs) encode(src Source, hash string, problems []error) string {
	if !ri.clean || ri.config == "" || hash == "" || ri.log == nil || ri.log.unstable || len(ri.log.names) == 0 {
		return ""
	}
	st := rawState{Config: ri.config, Files: make([]string, len(ri.log.names))}
	sums := make([][sha256.Size]byte, len(ri.log.names))
	for i, name := range ri.log.names {
		rel, ok := relativeName(src.Root, name)
		if !ok {
			return ""
		}
		st.Files[i], sums[i] = rel, ri.log.sums[name]
	}
	st.Digest = inputsDigest(ri.log.names, sums)
	for _, p := range problems {
		pe, ok := p.(*ProcessingError)
		if !ok {
			return ""
		}
		st.Problems = append(st.Problems, storedProblem{File: pe.File, Line: pe.Line, Ref: pe.Ref, Path: pe.Path, Rule: pe.Rule})
	}
	b, err := json.Marshal(st)
	if err != nil {
		return ""
	}
	return string(b)
}

// relativeName is name as a target relative to root that resolveTarget
// turns back into name: a URL as it is, a file of root's directory (or
// below) relative to it, any other file from the tree's root.
func relativeName(root, name string) (string, bool) {
	cands := []string{name}
	if dir := path.Dir(root); !isURL(name) && dir != "." {
		cands = []string{"/" + name}
		if rel, ok := strings.CutPrefix(name, dir+"/"); ok {
			cands = []string{rel, "/" + name}
		}
	}
	for _, c := range cands {
		if got, err := resolveTarget(root, c); err == nil && got == name {
			return c, true
		}
	}
	return "", false
}

// rawConfig fingerprints everything besides the files' bytes that
// processing a source depends on: the processing version, the source
// itself (name, root, allowed kinds, the URLs its tree gives its files),
// the custom kinds' schemas, the catalog rules, the generated Location
// entity of a registered location, and whether URLs can be read. "" when
// it cannot be told, which records nothing. Called with s.mu held.
func (s *Service) rawConfig(src Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "v%d\x00%q\x00%q\x00%q\x00%s\x00urls=%t\x00", processingVersion, src.Name, src.Root, src.AllowKinds, s.kinds, s.loc.urls != nil)
	if u, ok := src.FS.(interface{ FileURL(name string) string }); ok {
		fmt.Fprintf(h, "fileurl=%q\x00", u.FileURL(path.Clean(src.Root)))
	}
	if r := s.proc.rules; r != nil {
		b, err := json.Marshal(r.rules)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "rules=%s\x00", b)
	} else {
		h.Write([]byte("no rules\x00"))
	}
	if loc, ok := s.registeredAs(src.Name); ok {
		b, err := json.Marshal(generatedEntity(src, loc))
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "generated=%s\x00", b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// customKindsDigest fingerprints the custom kinds a Service validates.
func customKindsDigest(custom []entity.CustomKind) string {
	h := sha256.New()
	for _, k := range custom {
		fmt.Fprintf(h, "%q\x00%q\x00%d\x00", k.APIVersion, k.Kind, len(k.Schema))
		h.Write(k.Schema)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// unchangedInputs reports whether src's raw inputs are those its last
// refresh recorded, re-reading every file it read (bytes only), with the
// problems that refresh found. Any doubt (no state, a file that cannot be
// read now, a URL that fails) is false: the source is then refreshed as
// usual.
func (s *Service) unchangedInputs(ctx context.Context, src Source, config string) ([]error, bool) {
	if config == "" {
		return nil, false
	}
	prev, err := s.store.SourceState(ctx, src.Name)
	if err != nil || prev.Hash == "" || prev.Inputs == "" {
		if err != nil && !greenroom.IsNotFound(err) {
			s.logger.Debug("source inputs unknown", "source", src.Name, "err", err)
		}
		return nil, false
	}
	var st rawState
	if err := json.Unmarshal([]byte(prev.Inputs), &st); err != nil || st.Config != config || len(st.Files) == 0 {
		return nil, false
	}
	names := make([]string, len(st.Files))
	for i, f := range st.Files {
		if names[i], err = resolveTarget(src.Root, f); err != nil {
			return nil, false
		}
	}
	sums, err := s.readSums(ctx, src, names)
	if err != nil {
		s.logger.Debug("source inputs changed", "source", src.Name, "err", err)
		return nil, false
	}
	if inputsDigest(names, sums) != st.Digest {
		return nil, false
	}
	problems := make([]error, len(st.Problems))
	for i, p := range st.Problems {
		problems[i] = &ProcessingError{Source: src.Name, File: p.File, Line: p.Line, Ref: p.Ref, Path: p.Path, Rule: p.Rule}
	}
	return problems, true
}

// readSums reads the files names (of src's tree, or URLs) and returns the
// digest of each one's bytes: the tree's files on all processors, URLs one
// at a time. The first failure is the error.
func (s *Service) readSums(ctx context.Context, src Source, names []string) ([][sha256.Size]byte, error) {
	sums := make([][sha256.Size]byte, len(names))
	var local []int
	for i, name := range names {
		if !isURL(name) {
			local = append(local, i)
			continue
		}
		if s.loc.urls == nil {
			return nil, errNoURLReader
		}
		data, err := s.loc.urls.ReadURL(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(data) > maxFileBytes {
			return nil, fmt.Errorf("%s: file is larger than %d bytes", name, maxFileBytes)
		}
		sums[i] = sha256.Sum256(data)
	}
	if len(local) == 0 {
		return sums, nil
	}
	if src.FS == nil {
		return nil, errors.New("a relative path needs a file tree to read from")
	}
	var next atomic.Int64
	var failed atomic.Bool
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(local)) {
		wg.Go(func() {
			for !failed.Load() {
				k := int(next.Add(1)) - 1
				if k >= len(local) {
					return
				}
				i := local[k]
				err := ctx.Err()
				if err == nil {
					sums[i], err = fileSum(src.FS, names[i])
				}
				if err != nil {
					once.Do(func() { first = fmt.Errorf("%s: %w", names[i], err) })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return sums, nil
}

// fileSum is the digest of a file's bytes, as readBounded would return
// them, read through a small buffer rather than whole.
func fileSum(fsys fs.FS, name string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := fsys.Open(name)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return sum, err
	}
	if n > maxFileBytes {
		return sum, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// skipUnchanged ends the refresh of a source whose inputs are unchanged:
// its entities stay as they are; only its refresh time moves.
func (s *Service) skipUnchanged(ctx context.Context, src Source, problems []error) (sourceOutcome, error) {
	if err := s.store.MarkSourceRefreshed(ctx, src.Name); err != nil {
		return sourceOutcome{}, err
	}
	s.logger.Debug("source unchanged", "source", src.Name, "problems", len(problems))
	return sourceOutcome{problems: problems}, nil
}
