package scaffolder

import (
	"reflect"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
)

// guardMultiplication rewrites every `a * b` of a parsed template so that
// a string left operand is an error instead of strings.Repeat: Jinja2
// repeats strings, which would let a template allocate without bound
// ("x" * 10**10), while Nunjucks — whose semantics Backstage templates
// have — gives NaN. Numbers multiply as before.
func guardMultiplication(root nodes.Node) {
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value, depth int)
	walk = func(v reflect.Value, depth int) {
		if depth > 200 || !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			if be, ok := v.Interface().(*nodes.BinaryExpression); ok && be.Operator != nil && be.Operator.Token != nil && be.Operator.Token.Val == "*" {
				if _, wrapped := be.Left.(*nodes.FilteredExpression); !wrapped || !isGuard(be.Left) {
					be.Left = &nodes.FilteredExpression{Expression: be.Left, Filters: []*nodes.FilterCall{{Token: be.Operator.Token, Name: "__notstring"}}}
				}
			}
			walk(v.Elem(), depth+1)
		case reflect.Interface:
			walk(v.Elem(), depth+1)
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i), depth+1)
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), depth+1)
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(root), 0)
}

func isGuard(e nodes.Expression) bool {
	fe, ok := e.(*nodes.FilteredExpression)
	return ok && len(fe.Filters) == 1 && fe.Filters[0].Name == "__notstring"
}

// filterNotString passes numbers through and refuses strings.
func filterNotString(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsString() {
		return exec.AsValue(errStringRepeat)
	}
	return in
}

type stringRepeatError struct{}

func (stringRepeatError) Error() string {
	return "a string cannot be multiplied (Nunjucks gives NaN); repeat text with a for loop"
}

var errStringRepeat error = stringRepeatError{}
