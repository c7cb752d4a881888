package web

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// themeBlocks returns the custom properties of each "/* theme: … */"
// block of app.css.
func themeBlocks(t *testing.T, css string) map[string]map[string]string {
	t.Helper()
	marker := regexp.MustCompile(`/\* theme: ([a-z ()]+) \*/[^{]*\{([^}]*)\}`)
	decl := regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;`)
	out := map[string]map[string]string{}
	for _, m := range marker.FindAllStringSubmatch(css, -1) {
		props := map[string]string{}
		for _, d := range decl.FindAllStringSubmatch(m[2], -1) {
			props[d[1]] = strings.ToLower(d[2])
		}
		out[m[1]] = props
	}
	return out
}

// luminance is WCAG 2.1's relative luminance of an sRGB colour #rrggbb.
func luminance(hex string) float64 {
	var l float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += w * c
	}
	return l
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastRatio(t *testing.T) {
	// Known values: black on white is 21:1, #767676 on white about 4.54:1.
	if got := contrast("#000000", "#ffffff"); math.Abs(got-21) > 0.01 {
		t.Errorf("black/white %.2f", got)
	}
	if got := contrast("#767676", "#ffffff"); math.Abs(got-4.54) > 0.01 {
		t.Errorf("#767676/white %.2f", got)
	}
}

// TestThemeContrast checks every foreground/background pair the
// stylesheet uses, in both themes: 4.5:1 for text (WCAG 1.4.3 AA), 3:1
// for focus rings, control borders and other non-text indicators (1.4.11).
func TestThemeContrast(t *testing.T) {
	themes := themeBlocks(t, mustRead(t, "static/app.css"))
	if len(themes) != 3 {
		t.Fatalf("found themes %v, want light, dark and dark (system)", themes)
	}
	if diff := cmp.Diff(themes["dark"], themes["dark (system)"]); diff != "" {
		t.Errorf("the explicit and the system dark themes differ (-dark +system):\n%s", diff)
	}
	text := [][2]string{
		{"text", "bg"}, {"text", "surface"}, {"text", "raised"}, {"text", "tag-bg"},
		{"muted", "bg"}, {"muted", "surface"}, {"muted", "raised"},
		{"link", "bg"}, {"link", "surface"}, {"link", "raised"},
		{"on-accent", "accent"},
		{"ok-fg", "ok-bg"}, {"warn-fg", "warn-bg"}, {"bad-fg", "bad-bg"}, {"info-fg", "info-bg"}, {"tag-fg", "tag-bg"},
		{"danger", "bg"},
	}
	nonText := [][2]string{
		{"focus", "bg"}, {"focus", "surface"}, {"focus", "raised"},
		{"control", "bg"}, {"control", "surface"},
		{"accent", "bg"}, {"accent", "surface"}, {"danger", "bg"}, {"bad-fg", "raised"},
	}
	for _, name := range []string{"light", "dark"} {
		props := themes[name]
		check := func(pairs [][2]string, min float64) {
			for _, p := range pairs {
				fg, bg := props[p[0]], props[p[1]]
				if fg == "" || bg == "" {
					t.Errorf("%s: --%s or --%s is not defined", name, p[0], p[1])
					continue
				}
				if r := contrast(fg, bg); r < min {
					t.Errorf("%s: --%s %s on --%s %s is %.2f:1, want at least %.1f:1", name, p[0], fg, p[1], bg, r, min)
				} else if testing.Verbose() {
					t.Logf("%s: %s on %s %.2f:1", name, p[0], p[1], r)
				}
			}
		}
		check(text, 4.5)
		check(nonText, 3)
	}
	if diff := cmp.Diff(keys(themes["light"]), keys(themes["dark"])); diff != "" {
		t.Errorf("the themes define different properties:\n%s", diff)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
