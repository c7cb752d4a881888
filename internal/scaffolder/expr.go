package scaffolder

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nikolalohinski/gonja/v2/builtins"
	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/parser"

	"greenroom/internal/greenroom"
)

// Limits bound what one render may cost, so a template cannot hang or
// exhaust a worker: Nunjucks has no such limits, Greenroom does.
type Limits struct {
	// MaxOutput is the most bytes one render may produce.
	MaxOutput int
	// MaxIterations bounds the items all range() calls of one render yield.
	MaxIterations int
	// Timeout bounds one render's wall time.
	Timeout time.Duration
}

// DefaultLimits are used where a Limits field is zero.
var DefaultLimits = Limits{MaxOutput: 8 << 20, MaxIterations: 100_000, Timeout: 5 * time.Second}

// Engine renders `${{ }}` expressions (and {% %} blocks) with Nunjucks
// semantics through gonja, a Jinja2 engine: Nunjucks is a port of Jinja2
// and Backstage's templates use the common subset. Templates cannot read
// files: include, import, extends, macro and call are not available, and
// range() is bounded. An Engine is safe for concurrent use.
type Engine struct {
	limits Limits
	env    *exec.Environment
	cfg    *config.Config // `${{ }}` for expressions (Backstage's)
	cookie *config.Config // `{{ }}` for cookiecutterCompat files

	mu    sync.Mutex
	cache map[string]*exec.Template
}

// Control structures a template may use. The others read other templates
// (include, import, from, extends, block) or recurse without bound (macro,
// call).
var allowedControl = []string{"autoescape", "filter", "for", "if", "raw", "set", "with", "do", "break", "continue"}

// NewEngine returns an engine with Backstage's filters.
func NewEngine(limits Limits) *Engine {
	if limits.MaxOutput <= 0 {
		limits.MaxOutput = DefaultLimits.MaxOutput
	}
	if limits.MaxIterations <= 0 {
		limits.MaxIterations = DefaultLimits.MaxIterations
	}
	if limits.Timeout <= 0 {
		limits.Timeout = DefaultLimits.Timeout
	}
	ctl := map[string]parser.ControlStructureParser{}
	for _, name := range allowedControl {
		if p, ok := controlStructures.All.Get(name); ok {
			ctl[name] = p
		}
	}
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{"__capture": filterCapture, "__notstring": filterNotString}).Update(builtins.Filters)
	for name, fn := range backstageFilters() {
		if filters.Exists(name) {
			_ = filters.Replace(name, fn)
		} else {
			_ = filters.Register(name, fn)
		}
	}
	env := &exec.Environment{
		Context:           exec.EmptyContext().Update(builtins.GlobalVariables),
		Filters:           filters,
		Tests:             builtins.Tests,
		ControlStructures: exec.NewControlStructureSet(ctl),
		Methods:           builtins.Methods,
	}
	cfg := config.New()
	cfg.VariableStartString = "${{"
	cfg.KeepTrailingNewline = true
	cookie := config.New()
	cookie.KeepTrailingNewline = true
	return &Engine{limits: limits, env: env, cfg: cfg, cookie: cookie, cache: map[string]*exec.Template{}}
}

const maxCachedTemplates = 4096

func (e *Engine) parse(src string, cookiecutter bool) (*exec.Template, error) {
	key := src
	if cookiecutter {
		key = "\x00cc" + src
	}
	e.mu.Lock()
	t, ok := e.cache[key]
	e.mu.Unlock()
	if ok {
		return t, nil
	}
	cfg := e.cfg
	if cookiecutter {
		cfg = e.cookie
	}
	loader, err := loaders.NewMemoryLoader(map[string]string{"/template": src})
	if err != nil {
		return nil, err
	}
	t, err = parseSafely(cfg, loader, e.env)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.cache) >= maxCachedTemplates {
		clear(e.cache)
	}
	e.cache[key] = t
	e.mu.Unlock()
	return t, nil
}

func parseSafely(cfg *config.Config, loader loaders.Loader, env *exec.Environment) (t *exec.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	t, err = exec.NewTemplate("/template", cfg, loader, env)
	if err != nil {
		return nil, cleanGonjaError(err)
	}
	guardMultiplication(t.Root())
	return t, nil
}

var gonjaNoise = regexp.MustCompile(`failed to parse template '(?s:.*?)': `)

func cleanGonjaError(err error) error {
	msg := gonjaNoise.ReplaceAllString(err.Error(), "")
	return errors.New(msg)
}

// capped is a writer that fails once more than max bytes were written.
type capped struct {
	b   strings.Builder
	max int
}

var errTooLarge = errors.New("output too large")

func (c *capped) Write(p []byte) (int, error) {
	if c.b.Len()+len(p) > c.max {
		return 0, errTooLarge
	}
	return c.b.Write(p)
}

// Render renders src with data as Nunjucks would (undefined values render
// empty). Errors have code invalid and say what failed.
func (e *Engine) Render(src string, data map[string]any) (string, error) {
	return e.render(src, data, false)
}

// RenderCookiecutter renders src with `{{ }}` delimiters, for files of
// fetch:template's cookiecutterCompat mode.
func (e *Engine) RenderCookiecutter(src string, data map[string]any) (string, error) {
	return e.render(src, data, true)
}

func (e *Engine) render(src string, data map[string]any, cookiecutter bool) (string, error) {
	open := "${{"
	if cookiecutter {
		open = "{{"
	}
	if !strings.Contains(src, open) && !strings.Contains(src, "{%") && !strings.Contains(src, "{#") {
		return src, nil // most strings and files: nothing to render
	}
	t, err := e.parse(src, cookiecutter)
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "template syntax: %v", err)
	}
	out, _, err := e.execute(t, data, nil)
	return out, err
}

func (e *Engine) execute(t *exec.Template, data map[string]any, capture func(any)) (string, bool, error) {
	ctx := exec.NewContext(map[string]any{})
	for k, v := range data {
		ctx.Set(k, jinjaValue(v))
	}
	budget := e.limits.MaxIterations
	var budgetMu sync.Mutex
	ctx.Set("range", func(_ *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
		start, stop, step := 0, 0, 1
		args := params.Args
		ints := make([]int, len(args))
		for i, a := range args {
			if !a.IsInteger() {
				return nil, errors.New("range: arguments must be integers")
			}
			ints[i] = a.Integer()
		}
		switch len(ints) {
		case 1:
			stop = ints[0]
		case 2:
			start, stop = ints[0], ints[1]
		case 3:
			start, stop, step = ints[0], ints[1], ints[2]
		default:
			return nil, errors.New("range: expected [start, ]stop[, step]")
		}
		if step == 0 {
			return nil, errors.New("range: step cannot be 0")
		}
		n := 0
		if step > 0 && stop > start {
			n = (stop - start + step - 1) / step
		} else if step < 0 && stop < start {
			n = (start - stop - step - 1) / -step
		}
		budgetMu.Lock()
		budget -= n
		left := budget
		budgetMu.Unlock()
		if left < 0 {
			return nil, fmt.Errorf("range: more than %d iterations in one template", e.limits.MaxIterations)
		}
		out := make([]int, 0, n)
		for i := 0; i < n; i++ {
			out = append(out, start+i*step)
		}
		return out, nil
	})
	if capture != nil {
		ctx.Set("__sink", sink(capture))
	}
	w := &capped{max: e.limits.MaxOutput}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%v", r)
			}
		}()
		done <- t.Execute(w, ctx)
	}()
	timer := time.NewTimer(e.limits.Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			if errors.Is(err, errTooLarge) || strings.Contains(err.Error(), errTooLarge.Error()) {
				return "", false, greenroom.Errorf(greenroom.CodeInvalid, "template output exceeds %d bytes", e.limits.MaxOutput)
			}
			return "", false, greenroom.Errorf(greenroom.CodeInvalid, "template: %v", cleanGonjaError(err))
		}
		return w.b.String(), true, nil
	case <-timer.C:
		return "", false, greenroom.Errorf(greenroom.CodeInvalid, "template rendering took longer than %s", e.limits.Timeout)
	}
}

// singleExpr matches a string that is one `${{ }}` expression and nothing
// else but spaces, which Backstage evaluates to a value of any JSON type.
var singleExpr = regexp.MustCompile(`^\s*\$\{\{((?s:.*?))\}\}\s*$`)

// Eval evaluates one expression's source (without delimiters) to a value
// of its own type: a list stays a list, a number a number. An undefined
// value is nil.
func (e *Engine) Eval(expr string, data map[string]any) (any, error) {
	src := "${{ (" + expr + ") | __capture(__sink) }}"
	t, err := e.parse(src, false)
	if err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "expression %q: %v", strings.TrimSpace(expr), err)
	}
	var got any
	var set bool
	_, _, err = e.execute(t, data, func(v any) { got, set = v, true })
	if err != nil {
		return nil, err
	}
	if !set {
		return nil, nil
	}
	return normalize(got), nil
}

// RenderValue renders every string in v, recursively, as Backstage renders
// step inputs and output: a string that is exactly one expression keeps
// the expression's type; other strings render to strings.
func (e *Engine) RenderValue(v any, data map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		if m := singleExpr.FindStringSubmatch(x); m != nil && !strings.Contains(m[1], "}}") {
			return e.Eval(m[1], data)
		}
		return e.Render(x, data)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			r, err := e.RenderValue(val, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if r != nil {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, val := range x {
			r, err := e.RenderValue(val, data)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, r)
		}
		return out, nil
	default:
		return v, nil
	}
}

// normalize turns what gonja hands back into JSON-shaped Go values.
func normalize(v any) any {
	switch x := v.(type) {
	case *exec.Value:
		if x == nil {
			return nil
		}
		return normalize(x.Interface())
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = val
		}
		return out
	case []int:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = val
		}
		return out
	case int64:
		return int(x)
	case uint64:
		return int(x)
	case float32:
		return float64(x)
	default:
		return v
	}
}

var _ io.Writer = (*capped)(nil)

// jinjaValue prepares JSON-decoded data for gonja: a whole float64 becomes
// an int, so that 3 renders "3" as in JavaScript and not "3.0".
func jinjaValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int(x)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = jinjaValue(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = jinjaValue(val)
		}
		return out
	case uint64:
		return int(x)
	case int64:
		return int(x)
	default:
		return v
	}
}

// sink receives the value of an expression Eval evaluates.
type sink func(any)

// filterCapture hands its input, of whatever type, to the sink given as its
// argument: the way Eval gets a value out of gonja without printing it.
func filterCapture(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if len(params.Args) == 1 {
		if s, ok := params.Args[0].Interface().(sink); ok {
			if in.IsNil() {
				s(nil)
			} else {
				s(in.Interface())
			}
		}
	}
	return exec.AsValue("")
}
