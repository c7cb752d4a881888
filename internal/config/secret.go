package config

import (
	"fmt"
	"log/slog"
)

// redacted replaces secret values wherever they would be shown.
const redacted = "<redacted>"

// Secret is a string that must not leak into logs, dumps or API responses.
// Every way of printing or marshalling it yields "<redacted>" (or "" when it
// is empty, so that "not set" stays visible); Reveal returns the value.
type Secret string

// Reveal returns the secret value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.shown() }

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.shown()) }

// Format implements fmt.Formatter so that no verb (%x, %d, ...) prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, s.GoString())
		return
	}
	_, _ = fmt.Fprint(f, s.shown())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.shown() + `"`), nil }

// MarshalYAML implements the YAML marshaller interface of goccy/go-yaml and
// gopkg.in/yaml.v3.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }

// MarshalText implements encoding.TextMarshaler, used by encoders that do not
// know the interfaces above.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
