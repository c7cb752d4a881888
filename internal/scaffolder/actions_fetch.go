package scaffolder

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"

	"greenroom/internal/greenroom"
)

// Skeleton bounds.
const (
	maxSkeletonFiles = 10_000
	maxSkeletonBytes = 200 << 20
	maxFileBytes     = 20 << 20
)

func fetchActions() []*Action {
	return []*Action{
		{
			ID:          "fetch:template",
			Description: "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace.",
			Input: obj([]string{"url"}, map[string]any{
				"url":                   str("Relative path (./skeleton) of the skeleton directory, from the template's location."),
				"targetPath":            str("Target path within the working directory to generate contents to. Defaults to the working directory root."),
				"values":                anyObj("Values to pass on to the templating engine, as ${{ values.x }}."),
				"copyWithoutRender":     strList("Deprecated alias of copyWithoutTemplating."),
				"copyWithoutTemplating": strList("Globs of files and directories to copy without processing their content (names are still templated)."),
				"cookiecutterCompat":    boolean("Enable features to maximise compatibility with templates built for fetch:cookiecutter: {{ cookiecutter.x }}."),
				"templateFileExtension": map[string]any{"type": []any{"string", "boolean"}, "description": "Only template files with this extension (.njk when true), stripping it."},
				"replace":               boolean("Replace files already in the workspace."),
				"trimBlocks":            boolean("Accepted for compatibility."),
				"lstripBlocks":          boolean("Accepted for compatibility."),
				"token":                 str("Accepted for compatibility."),
			}),
			Run: runFetchTemplate,
		},
		{
			ID: "fetch:cookiecutter",
			Description: "Renders a cookiecutter skeleton ({{ cookiecutter.x }}) into the workspace with the Jinja2 engine " +
				"(cookiecutter is Jinja2), without Python or Docker. Hooks and cookiecutter.json prompts are not run.",
			Input: obj([]string{"url"}, map[string]any{
				"url":               str("Relative path of the cookiecutter skeleton, from the template's location."),
				"targetPath":        str("Target path within the working directory. Defaults to the working directory root."),
				"values":            anyObj("Values to pass on to the templating engine, as {{ cookiecutter.x }}."),
				"copyWithoutRender": strList("Globs of files to copy without templating."),
				"extensions":        strList("Accepted for compatibility (Jinja2 extensions are not loaded)."),
				"imageName":         str("Accepted for compatibility (no container is run)."),
			}),
			Run: func(ctx context.Context, ac *ActionContext) error {
				in := map[string]any{}
				for k, v := range ac.Input {
					in[k] = v
				}
				in["cookiecutterCompat"] = true
				ac.Input = in
				return runFetchTemplate(ctx, ac)
			},
		},
		{
			ID:          "fetch:plain",
			Description: "Downloads a directory and places it in the workspace, unchanged.",
			Input: obj([]string{"url"}, map[string]any{
				"url":        str("Relative path of the directory to fetch, from the template's location."),
				"targetPath": str("Target path within the working directory. Defaults to the working directory root."),
				"token":      str("Accepted for compatibility."),
			}),
			Run: runFetchPlain,
		},
		{
			ID:          "fetch:plain:file",
			Description: "Downloads a single file and places it in the workspace.",
			Input: obj([]string{"url", "targetPath"}, map[string]any{
				"url":        str("Relative path of the file to fetch, from the template's location."),
				"targetPath": str("Target path of the file within the working directory."),
				"token":      str("Accepted for compatibility."),
			}),
			Run: runFetchPlainFile,
		},
	}
}

func runFetchPlain(ctx context.Context, ac *ActionContext) error {
	return copyTree(ctx, ac, ac.str("url"), ac.str("targetPath"), nil)
}

func runFetchPlainFile(ctx context.Context, ac *ActionContext) error {
	u := ac.str("url")
	var fsys fs.FS
	var src string
	var err error
	if strings.Contains(u, "://") {
		i := strings.LastIndex(u, "/")
		fsys, _, err = ac.source(ctx, u[:i])
		src = u[i+1:]
	} else {
		fsys, src, err = inFS(ac.TemplateFS, u)
	}
	if err != nil {
		return err
	}
	b, err := readBounded(fsys, src)
	if err != nil {
		return err
	}
	dst, err := inWorkspace(ac.Workspace, ac.str("targetPath"))
	if err != nil {
		return err
	}
	ac.Logf("Fetching file %s to %s", src, ac.str("targetPath"))
	return writeFile(dst, b, 0o644, true)
}

func readBounded(fsys fs.FS, name string) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "fetch %s: %v", name, err)
	}
	if fi.IsDir() {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "fetch %s: is a directory", name)
	}
	if fi.Size() > maxFileBytes {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "fetch %s: file is larger than %d bytes", name, maxFileBytes)
	}
	return fs.ReadFile(fsys, name)
}

type renderOpts struct {
	data          map[string]any
	cookiecutter  bool
	extension     string // only files with it are rendered, when set
	withoutRender []string
	replace       bool
}

func runFetchTemplate(ctx context.Context, ac *ActionContext) error {
	values, _ := ac.Input["values"].(map[string]any)
	if values == nil {
		values = map[string]any{}
	}
	o := &renderOpts{cookiecutter: ac.boolean("cookiecutterCompat"), replace: ac.boolean("replace")}
	if o.cookiecutter {
		o.data = map[string]any{"cookiecutter": values, "values": values}
	} else {
		o.data = map[string]any{"values": values}
	}
	switch x := ac.Input["templateFileExtension"].(type) {
	case bool:
		if x {
			o.extension = ".njk"
		}
	case string:
		o.extension = x
		if o.extension != "" && !strings.HasPrefix(o.extension, ".") {
			o.extension = "." + o.extension
		}
	}
	if o.extension != "" && o.cookiecutter {
		return greenroom.Errorf(greenroom.CodeInvalid, "fetch:template: templateFileExtension cannot be used with cookiecutterCompat")
	}
	o.withoutRender = append(ac.strings("copyWithoutRender"), ac.strings("copyWithoutTemplating")...)
	for _, g := range o.withoutRender {
		if !doublestar.ValidatePattern(strings.TrimPrefix(g, "./")) {
			return greenroom.Errorf(greenroom.CodeInvalid, "fetch:template: copyWithoutTemplating glob %q is malformed", g)
		}
	}
	return copyTree(ctx, ac, ac.str("url"), ac.str("targetPath"), o)
}

// copyTree copies a directory of the template into the workspace,
// rendering names and contents when o is set.
func copyTree(ctx context.Context, ac *ActionContext, url, target string, o *renderOpts) error {
	fsys, root, err := ac.source(ctx, url)
	if err != nil {
		return err
	}
	base, err := inWorkspace(ac.Workspace, target)
	if err != nil {
		return err
	}
	if fi, err := fs.Stat(fsys, root); err != nil || !fi.IsDir() {
		return greenroom.Errorf(greenroom.CodeInvalid, "fetch %s: no such directory in the template", url)
	}
	ac.Logf("Fetching template content from %s to %s", url, displayTarget(target))
	var files, total int
	eng := ac.Deps.engine()
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "read skeleton %s: %v", p, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		if d.Type()&fs.ModeSymlink != 0 {
			return greenroom.Errorf(greenroom.CodeInvalid, "skeleton %s is a symbolic link; skeletons may hold only regular files and directories", p)
		}
		if rel == "" {
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return greenroom.Errorf(greenroom.CodeInvalid, "skeleton %s is not a regular file", p)
		}
		outRel := rel
		render := o != nil
		if o != nil {
			outRel, err = renderPath(eng, rel, o)
			if err != nil {
				return greenroom.Errorf(greenroom.CodeInvalid, "file name %s: %v", rel, greenroom.ErrorMessage(err))
			}
			if outRel == "" || strings.HasSuffix(outRel, "/") || path.Base(outRel) == "" {
				if d.IsDir() {
					return fs.SkipDir // a directory whose name renders empty is skipped, as in Backstage
				}
				return nil
			}
			if o.extension != "" {
				if strings.HasSuffix(outRel, o.extension) && !d.IsDir() {
					outRel = strings.TrimSuffix(outRel, o.extension)
				} else {
					render = false
				}
			}
			for _, g := range o.withoutRender {
				g = strings.TrimPrefix(g, "./")
				if ok, _ := doublestar.Match(g, rel); ok {
					render = false
				}
				if ok, _ := doublestar.Match(strings.TrimSuffix(g, "/")+"/**", rel); ok {
					render = false
				}
			}
		}
		dst, err := inWorkspace(base, outRel)
		if err != nil {
			return greenroom.Errorf(greenroom.CodeInvalid, "file name %s renders to %q: %v", rel, outRel, greenroom.ErrorMessage(err))
		}
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		files++
		if files > maxSkeletonFiles {
			return greenroom.Errorf(greenroom.CodeInvalid, "skeleton has more than %d files", maxSkeletonFiles)
		}
		b, err := readBounded(fsys, p)
		if err != nil {
			return err
		}
		total += len(b)
		if total > maxSkeletonBytes {
			return greenroom.Errorf(greenroom.CodeInvalid, "skeleton is larger than %d bytes", maxSkeletonBytes)
		}
		if render && isText(b) {
			var out string
			if o.cookiecutter {
				out, err = eng.RenderCookiecutter(string(b), o.data)
			} else {
				out, err = eng.Render(string(b), o.data)
			}
			if err != nil {
				return greenroom.Errorf(greenroom.CodeInvalid, "render %s: %s", rel, greenroom.ErrorMessage(err))
			}
			b = []byte(out)
		}
		mode := fs.FileMode(0o644)
		if fi, err := d.Info(); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return writeFile(dst, b, mode, o == nil || o.replace)
	})
}

func displayTarget(t string) string {
	if t == "" {
		return "./"
	}
	return t
}

func renderPath(eng *Engine, rel string, o *renderOpts) (string, error) {
	var out string
	var err error
	if o.cookiecutter {
		out, err = eng.RenderCookiecutter(rel, o.data)
	} else {
		out, err = eng.Render(rel, o.data)
	}
	if err != nil {
		return "", err
	}
	// Empty segments (a name that rendered to "") drop the file.
	for _, seg := range strings.Split(out, "/") {
		if seg == "" {
			return "", nil
		}
	}
	return out, nil
}

// isText is true for UTF-8 content without NUL bytes in its first 8 KiB:
// binary files are copied, never rendered.
func isText(b []byte) bool {
	head := b[:min(len(b), 8192)]
	return !bytes.Contains(head, []byte{0}) && utf8.Valid(head[:len(head)-incompleteRune(head)])
}

func incompleteRune(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

func writeFile(dst string, b []byte, mode fs.FileMode, replace bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !replace {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(dst, flags|syscallNoFollow, mode)
	if os.IsExist(err) {
		return nil // as Backstage: existing files are kept unless replace is set
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// source resolves a fetch url: relative to the template's files, or an
// absolute URL of a git host through Deps.FetchTree.
func (ac *ActionContext) source(ctx context.Context, url string) (fs.FS, string, error) {
	if !strings.Contains(url, "://") {
		return inFS(ac.TemplateFS, url)
	}
	if ac.Deps == nil || ac.Deps.FetchTree == nil {
		return nil, "", greenroom.Errorf(greenroom.CodeInvalid, "fetching %s: absolute URLs are not enabled here; use a path relative to the template (./skeleton)", url)
	}
	fsys, err := ac.Deps.FetchTree(ctx, url)
	if err != nil {
		return nil, "", greenroom.Errorf(greenroom.CodeUnavailable, "fetching %s: %v", url, err)
	}
	return fsys, ".", nil
}
