package feishu

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"greenroom/internal/greenroom"
)

// maxEmbedBytes bounds an image inlined as a data: URI.
const maxEmbedBytes = 2 << 20

// maxDocWarnings bounds the conversion warnings kept per document in a
// report.
const maxDocWarnings = 50

// Run runs a stored migration to its end: scan, convert, write batch by
// batch, add nav entries, commit when asked. A run that finds the
// migration finished does nothing; one that finds files of an interrupted
// attempt removes them first, so a retried job starts clean. It returns an
// error only when the store fails (the job is then retried); everything
// else ends up in the report.
func (s *Service) Run(ctx context.Context, id string) error {
	m, err := s.store.FeishuMigration(ctx, id)
	if err != nil {
		return err
	}
	switch m.Status {
	case StatusQueued:
	case StatusRunning:
		if err := s.undoInterrupted(&m); err != nil {
			return s.finish(ctx, &m, StatusFailed, "cleaning up an interrupted attempt: "+err.Error())
		}
	default:
		return nil
	}
	m.Status = StatusRunning
	m.Report = Report{MigrationID: m.ID, StartedAt: s.now().UTC()}
	if err := s.save(ctx, &m); err != nil {
		return err
	}
	log := s.log.With("migration_id", m.ID)
	log.Info("feishu migration started", "target", m.Request.TargetService)

	root, err := os.OpenRoot(m.Request.TargetDir)
	if err != nil {
		return s.finish(ctx, &m, StatusFailed, fmt.Sprintf("target directory: %v", err))
	}
	defer root.Close()
	mkdocs, err := root.ReadFile("mkdocs.yml")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.finish(ctx, &m, StatusFailed, fmt.Sprintf("mkdocs.yml: %v", err))
	}
	docsDir := "docs"
	if mkdocs != nil {
		if docsDir, err = docsDirOf(mkdocs); err != nil {
			return s.finish(ctx, &m, StatusFailed, err.Error())
		}
	}
	m.Report.DocsDir = docsDir

	files, err := s.scan(ctx, &m)
	if err != nil {
		return s.finish(ctx, &m, StatusFailed, "scan: "+greenroom.ErrorMessage(err))
	}
	plan := s.plan(root, &m, files)
	serviceOwner := ""
	if s.owners != nil {
		o, err := s.owners.Owner(ctx, m.Request.TargetService)
		switch {
		case err == nil:
			serviceOwner = o
		case greenroom.IsNotFound(err):
			m.Report.Warnings = append(m.Report.Warnings, m.Request.TargetService+" is not in the catalog; owners not compared")
		default:
			m.Report.Warnings = append(m.Report.Warnings, "catalog: "+greenroom.ErrorMessage(err))
		}
	}

	batch := max(m.Request.BatchSize, 1)
	for i := 0; i < len(plan); i += batch {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.runBatch(ctx, root, &m, plan, plan[i:min(i+batch, len(plan))], serviceOwner)
		if err := s.save(ctx, &m); err != nil {
			return err
		}
	}

	if !m.Request.DryRun && m.Report.SuccessCount > 0 {
		if err := s.updateNav(root, &m, mkdocs, plan); err != nil {
			m.Report.Warnings = append(m.Report.Warnings, "mkdocs.yml: "+err.Error())
		}
		if m.Request.Git != nil {
			msg := m.Request.Git.Message
			if msg == "" {
				msg = fmt.Sprintf("docs: migrate %d Feishu documents (%s)", m.Report.SuccessCount, m.ID)
			}
			commit, err := s.publisher.Publish(ctx, m.Request.TargetDir, m.Request.Git.Branch, msg, m.Report.GeneratedFiles)
			if err != nil {
				m.Report.Warnings = append(m.Report.Warnings, "git: "+greenroom.ErrorMessage(err))
			}
			m.Report.Commit = commit
			if g := m.Request.Git; err == nil && g.PullRequest {
				base := g.Base
				if base == "" {
					base = "main"
				}
				body := fmt.Sprintf("Migrated by Greenroom (%s): %d documents, %d failed, %d skipped.", m.ID,
					m.Report.SuccessCount, m.Report.FailureCount, m.Report.SkippedCount)
				pr, err := s.publisher.PullRequest(ctx, m.Request.TargetDir, g.Repo, g.Branch, base, msg, body)
				if err != nil {
					m.Report.Warnings = append(m.Report.Warnings, "pull request: "+greenroom.ErrorMessage(err))
				}
				m.Report.PullRequest = pr
			}
		}
	}
	status := StatusSucceeded
	switch {
	case m.Report.FailureCount > 0 && m.Report.SuccessCount == 0:
		status = StatusFailed
	case m.Report.FailureCount > 0:
		status = StatusPartial
	}
	log.Info("feishu migration finished", "status", status, "migrated", m.Report.SuccessCount,
		"failed", m.Report.FailureCount, "skipped", m.Report.SkippedCount)
	return s.finish(ctx, &m, status, "")
}

func (s *Service) finish(ctx context.Context, m *Migration, status, errMsg string) error {
	m.Status = status
	m.Error = errMsg
	m.Report.FinishedAt = s.now().UTC()
	if m.Report.Warnings == nil {
		m.Report.Warnings = []string{}
	}
	if m.Report.GeneratedFiles == nil {
		m.Report.GeneratedFiles = []string{}
	}
	if m.Report.Documents == nil {
		m.Report.Documents = []DocumentResult{}
	}
	return s.save(ctx, m)
}

// scan lists the documents to migrate: the request's ids, or every docx
// below the folder (breadth first, bounded). Other kinds of file are
// reported as skipped.
func (s *Service) scan(ctx context.Context, m *Migration) ([]File, error) {
	req := m.Request
	if len(req.DocumentIDs) > 0 {
		var out []File
		for _, id := range req.DocumentIDs {
			d, err := s.source.Document(ctx, id)
			switch code := greenroom.ErrorCode(err); {
			case err == nil:
				out = append(out, File{Token: id, Name: d.Title, Type: "docx"})
			case code == greenroom.CodeForbidden || code == greenroom.CodeNotFound:
				s.skip(m, File{Token: id}, err)
			default:
				return nil, err
			}
		}
		return out, nil
	}
	type folder struct {
		token, path string
		names       []string
		depth       int
	}
	queue := []folder{{token: req.FolderToken}}
	var out []File
	for visited := 0; len(queue) > 0; visited++ {
		if visited >= maxFolders {
			m.Report.Warnings = append(m.Report.Warnings, fmt.Sprintf("more than %d folders; the rest were not scanned", maxFolders))
			break
		}
		f := queue[0]
		queue = queue[1:]
		items, err := s.source.ListFolder(ctx, f.token)
		if err != nil {
			if visited > 0 && greenroom.ErrorCode(err) == greenroom.CodeForbidden {
				m.Report.Warnings = append(m.Report.Warnings, fmt.Sprintf("folder %s: no permission; not scanned", f.path))
				continue
			}
			return nil, err
		}
		for _, it := range items {
			it.Path, it.Folders = f.path, f.names
			switch it.Type {
			case "folder":
				if f.depth+1 >= maxFolderDepth {
					m.Report.Warnings = append(m.Report.Warnings, fmt.Sprintf("folder %s/%s: deeper than %d levels; not scanned", f.path, it.Name, maxFolderDepth))
					continue
				}
				sub := Slug(it.Name)
				if sub == "" {
					sub = it.Token
				}
				queue = append(queue, folder{token: it.Token, path: path.Join(f.path, sub),
					names: append(slices.Clip(f.names), it.Name), depth: f.depth + 1})
			case "docx":
				if len(out) >= MaxDocuments {
					m.Report.Warnings = append(m.Report.Warnings, fmt.Sprintf("more than %d documents; %s and later ones not migrated", MaxDocuments, it.Name))
					return out, nil
				}
				out = append(out, it)
			default:
				m.Report.Documents = append(m.Report.Documents, DocumentResult{ID: it.Token, Title: it.Name, Status: DocSkipped,
					Reason: fmt.Sprintf("a %s, not a docx document: not migrated", it.Type)})
				m.Report.SkippedCount++
			}
		}
	}
	return out, nil
}

func (s *Service) skip(m *Migration, f File, err error) {
	reason := "no permission to read the document"
	if greenroom.ErrorCode(err) == greenroom.CodeNotFound {
		reason = "the document does not exist"
	}
	m.Report.Documents = append(m.Report.Documents, DocumentResult{ID: f.Token, Title: f.Name, Status: DocSkipped,
		Reason: reason + " (" + greenroom.ErrorMessage(err) + ")"})
	m.Report.SkippedCount++
}

// planned is a document with its page path (relative to docs_dir).
type planned struct {
	File
	Page string
}

// plan gives every document a page path that is new: never one that
// exists in the target, never one given to another document.
func (s *Service) plan(root *os.Root, m *Migration, files []File) []planned {
	taken := map[string]bool{}
	out := make([]planned, 0, len(files))
	for _, f := range files {
		dir := m.Request.DocsPath
		if m.Request.PreserveHierarchy && f.Path != "" {
			dir = path.Join(dir, f.Path)
		}
		base := Slug(f.Name)
		if base == "" {
			base = strings.ToLower(f.Token)
		}
		p := path.Join(dir, base+".md")
		for n := 2; taken[p] || exists(root, path.Join(m.Report.DocsDir, p)); n++ {
			p = path.Join(dir, fmt.Sprintf("%s-%d.md", base, n))
		}
		taken[p] = true
		out = append(out, planned{File: f, Page: p})
	}
	return out
}

func exists(root *os.Root, name string) bool {
	_, err := root.Lstat(name)
	return err == nil
}

// staged is a file to write, relative to the target root.
type staged struct {
	path string
	data []byte
}

// assets downloads or inlines the images of one document and resolves
// user names, caching both for the migration.
type assets struct {
	src     Source
	pageDir string // relative to the target root
	files   *[]staged
	mu      sync.Mutex
	users   map[string]string
}

func (a *assets) Image(ctx context.Context, token, mode string) (string, error) {
	m, err := a.src.Media(ctx, token)
	if err != nil {
		return "", err
	}
	ct, _, _ := mime.ParseMediaType(m.ContentType)
	if mode == ImagesEmbed {
		if len(m.Data) > maxEmbedBytes {
			return "", fmt.Errorf("%d bytes, too large to embed", len(m.Data))
		}
		if !strings.HasPrefix(ct, "image/") {
			ct = "application/octet-stream"
		}
		return "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(m.Data), nil
	}
	ext := map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
		"image/svg+xml": ".svg", "image/bmp": ".bmp"}[ct]
	if ext == "" {
		ext = ".bin"
	}
	name := "assets/" + token + ext
	a.mu.Lock()
	*a.files = append(*a.files, staged{path: path.Join(a.pageDir, name), data: m.Data})
	a.mu.Unlock()
	return name, nil
}

func (a *assets) UserName(ctx context.Context, id string) (string, error) {
	a.mu.Lock()
	n, ok := a.users[id]
	a.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := a.src.UserName(ctx, id)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.users[id] = n
	a.mu.Unlock()
	return n, nil
}

// runBatch converts the batch's documents and writes them all, or none.
func (s *Service) runBatch(ctx context.Context, root *os.Root, m *Migration, all, batch []planned, serviceOwner string) {
	pages := make(map[string]string, len(all))
	for _, p := range all {
		pages[p.Token] = p.Page
	}
	users := map[string]string{}
	var files []staged
	var results []DocumentResult
	var failure string
	for _, p := range batch {
		res := DocumentResult{ID: p.Token, Title: p.Name, Path: path.Join(m.Report.DocsDir, p.Page)}
		members, err := s.source.Members(ctx, p.Token, "docx")
		switch {
		case err == nil:
			res.Owner = Owner(s.rules, members)
			if res.Owner == "" && len(s.rules) > 0 {
				res.Warnings = append(res.Warnings, "no permissionMapping rule matches its collaborators; the page keeps the service's owner")
			}
			if res.Owner != "" && serviceOwner != "" && !sameOwner(res.Owner, serviceOwner) {
				res.Warnings = append(res.Warnings, fmt.Sprintf("its Feishu owners map to %s, but %s is owned by %s", res.Owner, m.Request.TargetService, serviceOwner))
			}
		case greenroom.ErrorCode(err) == greenroom.CodeForbidden:
			res.Warnings = append(res.Warnings, "its permissions cannot be read; owner not mapped")
		default:
			res.Warnings = append(res.Warnings, "permissions: "+greenroom.ErrorMessage(err))
		}
		blocks, err := s.source.Blocks(ctx, p.Token)
		if code := greenroom.ErrorCode(err); code == greenroom.CodeForbidden || code == greenroom.CodeNotFound {
			s.skip(m, p.File, err)
			continue
		}
		var md Result
		if err == nil {
			var docFiles []staged
			a := &assets{src: s.source, pageDir: path.Dir(res.Path), files: &docFiles, users: users}
			conv, cerr := NewConverter(m.Request.Conversion, a)
			if cerr == nil && m.Request.Conversion.PreserveComments {
				conv, cerr = s.withComments(ctx, conv, p.Token, &res)
			}
			if cerr != nil {
				err = cerr
			} else if md, err = conv.Convert(ctx, blocks); err == nil {
				text := rewriteLinks(md.Markdown, p.Page, pages)
				files = append(files, staged{path: res.Path, data: []byte(text)})
				files = append(files, docFiles...)
				for i, w := range md.Warnings {
					if i == maxDocWarnings {
						res.Warnings = append(res.Warnings, fmt.Sprintf("… and %d more warnings", len(md.Warnings)-i))
						break
					}
					res.Warnings = append(res.Warnings, w.String())
				}
			}
		}
		if err != nil {
			res.Status, res.Reason = DocFailed, greenroom.ErrorMessage(err)
			failure = fmt.Sprintf("%s (%s): %s", p.Name, p.Token, res.Reason)
		}
		results = append(results, res)
	}
	if failure == "" && !m.Request.DryRun {
		written, dirs, err := writeAll(root, files)
		if err != nil {
			failure = "writing files: " + err.Error()
		} else {
			m.Report.Files = append(m.Report.Files, written...)
			m.Report.Dirs = append(dirs, m.Report.Dirs...)
		}
	}
	for _, r := range results {
		switch {
		case failure != "" && r.Status == "":
			r.Status, r.Reason = DocFailed, "batch rolled back: "+failure
		case failure == "" && m.Request.DryRun:
			r.Status = DocPlanned
		case failure == "":
			r.Status = DocMigrated
		}
		if r.Status == DocFailed {
			m.Report.FailureCount++
		} else {
			m.Report.SuccessCount++
		}
		m.Report.Documents = append(m.Report.Documents, r)
	}
	if failure == "" {
		for _, f := range files {
			m.Report.GeneratedFiles = append(m.Report.GeneratedFiles, f.path)
		}
	}
}

// writeAll writes files that must not exist yet, creating folders; on any
// error it removes what it wrote and created, and returns the error.
func writeAll(root *os.Root, files []staged) ([]WrittenFile, []string, error) {
	var written []WrittenFile
	var dirs []string
	undo := func() {
		for _, w := range written {
			_ = root.Remove(w.Path)
		}
		for _, d := range dirs {
			_ = root.Remove(d)
		}
	}
	for _, f := range files {
		if _, err := cleanRel(f.path); err != nil {
			undo()
			return nil, nil, fmt.Errorf("%s: %w", f.path, err)
		}
		// Create missing folders one by one, remembering them (deepest
		// first) so rollback removes exactly those.
		var missing []string
		for d := path.Dir(f.path); d != "." && d != "/" && !exists(root, d); d = path.Dir(d) {
			missing = append(missing, d)
		}
		for i := len(missing) - 1; i >= 0; i-- {
			if err := root.Mkdir(missing[i], 0o755); err != nil {
				undo()
				return nil, nil, err
			}
			dirs = append([]string{missing[i]}, dirs...)
		}
		fh, err := root.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && strings.Contains(f.path, "/assets/") {
			continue // the same image used twice
		}
		if err != nil {
			undo()
			return nil, nil, err
		}
		_, werr := fh.Write(f.data)
		cerr := fh.Close()
		written = append(written, WrittenFile{Path: f.path, SHA256: hash(f.data)})
		if err := errors.Join(werr, cerr); err != nil {
			undo()
			return nil, nil, err
		}
	}
	return written, dirs, nil
}

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// updateNav adds the migrated pages to mkdocs.yml (creating it when
// missing) and records the edit.
func (s *Service) updateNav(root *os.Root, m *Migration, before []byte, plan []planned) error {
	migrated := map[string]bool{}
	for _, d := range m.Report.Documents {
		if d.Status == DocMigrated {
			migrated[d.ID] = true
		}
	}
	var pages []NavPage
	for _, p := range plan {
		if !migrated[p.Token] {
			continue
		}
		var sections []string
		if m.Request.PreserveHierarchy {
			sections = p.Folders
		}
		title := p.Name
		if title == "" {
			title = p.Token
		}
		pages = append(pages, NavPage{Title: title, Sections: sections, Path: p.Page})
	}
	ref, _ := greenroom.ParseEntityRef(m.Request.TargetService, "component", "default")
	out, edit, err := addNav(before, ref.Name, m.Request.NavSection, pages)
	if err != nil {
		return err
	}
	m.Report.Nav = edit
	if edit.Block == "" {
		if edit.Note != "" {
			m.Report.Warnings = append(m.Report.Warnings, edit.Note)
		}
		return nil
	}
	if edit.Created {
		fh, err := root.OpenFile("mkdocs.yml", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			m.Report.Nav = NavEdit{}
			return err
		}
		_, werr := fh.Write(out)
		if err := errors.Join(werr, fh.Close()); err != nil {
			m.Report.Nav = NavEdit{}
			return err
		}
		m.Report.Files = append(m.Report.Files, WrittenFile{Path: "mkdocs.yml", SHA256: hash(out)})
	} else if err := root.WriteFile("mkdocs.yml", out, 0o644); err != nil {
		m.Report.Nav = NavEdit{}
		return err
	}
	m.Report.GeneratedFiles = append(m.Report.GeneratedFiles, "mkdocs.yml")
	return nil
}

// undoInterrupted removes what an interrupted attempt wrote.
func (s *Service) undoInterrupted(m *Migration) error {
	if len(m.Report.Files) == 0 && m.Report.Nav.Block == "" {
		return nil
	}
	root, err := os.OpenRoot(m.Request.TargetDir)
	if err != nil {
		return err
	}
	defer root.Close()
	rb := undo(root, &m.Report)
	if len(rb.Kept) > 0 {
		return fmt.Errorf("files changed since: %s", strings.Join(rb.Kept, ", "))
	}
	return nil
}

// withComments gives conv the document's comment texts, when the source
// can read them; a source that cannot is a warning, not a failure.
func (s *Service) withComments(ctx context.Context, conv *Converter, token string, res *DocumentResult) (*Converter, error) {
	cs, ok := s.source.(CommentSource)
	if !ok {
		res.Warnings = append(res.Warnings, "comments cannot be read from this source; not preserved")
		return conv, nil
	}
	comments, err := cs.Comments(ctx, token, "docx")
	switch code := greenroom.ErrorCode(err); {
	case err == nil:
		return conv.WithComments(comments), nil
	case code == greenroom.CodeForbidden || code == greenroom.CodeNotFound:
		res.Warnings = append(res.Warnings, "comments: "+greenroom.ErrorMessage(err)+"; not preserved")
		return conv, nil
	}
	return nil, err
}
