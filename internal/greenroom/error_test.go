package greenroom

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCode(t *testing.T) {
	base := errors.New("disk on fire")
	tests := []struct {
		name string
		err  error
		code Code
		msg  string
	}{
		{"nil", nil, "", "internal error"},
		{"plain", base, CodeInternal, "internal error"},
		{"coded", Errorf(CodeNotFound, "entity %q not found", "x"), CodeNotFound, `entity "x" not found`},
		{"wrapped", fmt.Errorf("store: %w", Errorf(CodeConflict, "taken")), CodeConflict, "taken"},
		{"cause kept", Errorf(CodeUnavailable, "db down: %w", base), CodeUnavailable, "db down: disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
	if got := Errorf(CodeUnavailable, "db down: %w", base).Error(); got != "db down: disk on fire" {
		t.Errorf("Error() = %q, cause must appear once", got)
	}
	if got := (&Error{Code: CodeInternal, Message: "save", Err: base}).Error(); got != "save: disk on fire" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(Errorf(CodeUnavailable, "db down: %w", base), base) {
		t.Error("Errorf with %w must keep the cause for errors.Is")
	}
}

func TestParseEntityRef(t *testing.T) {
	tests := []struct {
		in, kind, ns string
		want         string
		wantErr      bool
	}{
		{"component:default/petstore", "", "", "component:default/petstore", false},
		{"Component:Petstore", "", "", "component:default/petstore", false},
		{"team-a", "group", "", "group:default/team-a", false},
		{"billing/team-a", "group", "", "group:billing/team-a", false},
		{"user:jdoe", "group", "ops", "user:ops/jdoe", false},
		{"jdoe", "", "", "", true},
		{"", "user", "", "", true},
		// As Backstage's parseEntityRef: the name is all after the first
		// separators; a "/" before the first ":" makes the rest the name.
		{"a:b/c/d", "", "", "a:b/c/d", false},
		{"component:default/foo:bar", "", "", "component:default/foo:bar", false},
		{"foo:bar", "", "", "foo:default/bar", false},
		{"ns/a:b", "group", "", "group:ns/a:b", false},
		{" user:jdoe", "", "", " user:default/jdoe", false}, // not trimmed
		{":x", "", "", "", true},
		{"x:", "", "", "", true},
		{"/x", "user", "", "", true},
		{"a:/x", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseEntityRef(tt.in, tt.kind, tt.ns)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && r.String() != tt.want {
				t.Errorf("got %q, want %q", r.String(), tt.want)
			}
		})
	}
}
