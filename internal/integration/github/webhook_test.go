package github

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github/githubfake"
)

func TestVerifySignature(t *testing.T) {
	secret := []byte("It's a Secret to Everybody")
	body := []byte("Hello, World!")
	// GitHub's documented test vector for this secret and payload.
	const documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		code   greenroom.Code // "" when valid
	}{
		{"good (GitHub's example)", secret, body, documented, ""},
		{"good (upper-case hex)", secret, body, documented[:7] + strings.ToUpper(documented[7:]), ""},
		{"upper-case algorithm", secret, body, "SHA256=" + documented[7:], greenroom.CodeUnauthorized},
		{"body changed", secret, []byte("Hello, World?"), documented, greenroom.CodeUnauthorized},
		{"other secret", []byte("guess"), body, documented, greenroom.CodeUnauthorized},
		{"missing", secret, body, "", greenroom.CodeUnauthorized},
		{"sha1 prefix", secret, body, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59", greenroom.CodeUnauthorized},
		{"no prefix", secret, body, documented[7:], greenroom.CodeUnauthorized},
		{"not hex", secret, body, "sha256=zz" + documented[9:], greenroom.CodeUnauthorized},
		{"truncated", secret, body, documented[:40], greenroom.CodeUnauthorized},
		{"no secret configured", nil, body, documented, greenroom.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.secret, tt.body, tt.header)
			if got := greenroom.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %q (err %v), want %q", got, err, tt.code)
			}
		})
	}
	if got := Sign(secret, body); got != documented {
		t.Errorf("Sign = %s, want %s", got, documented)
	}
	if err := VerifySignature(secret, body, ""); !errors.Is(err, ErrNoSignature) {
		t.Errorf("missing header: err = %v, want ErrNoSignature", err)
	}
	if err := VerifySignature([]byte("guess"), body, documented); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: err = %v, want ErrBadSignature", err)
	}
}

// TestReadDeliveryFromFake verifies and decodes deliveries exactly as the
// fake (standing in for GitHub) signs and sends them.
func TestReadDeliveryFromFake(t *testing.T) {
	fake := githubfake.New(t, githubfake.Config{})
	fake.AddOrg("acme")
	fake.AddUser(githubfake.User{Login: "dev1", Name: "Dev One"})
	fake.InstallApp("acme")
	created := fake.AddRepo("acme", githubfake.Repo{Name: "svc", Files: map[string]string{"README.md": "# svc\n"}})
	push := fake.PushFile("acme", "svc", "main", "catalog-info.yaml", "kind: Component\n")
	renamed := fake.RenameRepo("acme", "svc", "svc2")
	team := fake.AddTeam("acme", githubfake.Team{Slug: "platform"})
	member := fake.AddTeamMember("acme", "platform", "dev1")

	var got []any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := ReadDelivery(r, []byte(fake.WebhookSecret()), 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		p, err := d.Payload()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, p)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	for _, d := range []githubfake.Delivery{created, push, renamed, team, member} {
		resp, err := d.Send(context.Background(), srv.Client(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("%s delivery: status %d", d.Event, resp.StatusCode)
		}
	}
	if len(got) != 5 {
		t.Fatalf("got %d payloads", len(got))
	}
	if e := got[0].(*RepositoryEvent); e.Action != RepoCreated || e.Repository.FullName != "acme/svc" || e.Installation == nil {
		t.Errorf("created = %+v", e)
	}
	p := got[1].(*PushEvent)
	changed, removed := p.Changed()
	if !p.ToDefaultBranch() || !cmp.Equal(changed, []string{"catalog-info.yaml"}) || len(removed) != 0 || len(p.After) != 40 {
		t.Errorf("push: default=%v changed=%v removed=%v after=%q", p.ToDefaultBranch(), changed, removed, p.After)
	}
	if p.Repository.PushedAt.IsZero() || p.Repository.CreatedAt.IsZero() {
		t.Errorf("push repository times (Unix seconds in push payloads) not read: %+v", p.Repository)
	}
	if e := got[2].(*RepositoryEvent); e.Action != RepoRenamed || e.PreviousName() != "svc" || e.Repository.Name != "svc2" {
		t.Errorf("renamed = action %q from %q to %q", e.Action, e.PreviousName(), e.Repository.Name)
	}
	if e := got[3].(*TeamEvent); e.Action != "created" || e.Team.Slug != "platform" {
		t.Errorf("team = %+v", e)
	}
	if e := got[4].(*MembershipEvent); e.Action != "added" || e.Member.Login != "dev1" || e.Team.Slug != "platform" {
		t.Errorf("membership = %+v", e)
	}

	// Tampering with a delivery is refused before anything is parsed.
	push.Body = bytes.Replace(push.Body, []byte("catalog-info.yaml"), []byte("evil.yaml"), 1)
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(push.Body))
	req.Header = (githubfake.Delivery{Event: "push", ID: "x", Body: []byte("{}")}).Header() // signature of another body
	if _, err := ReadDelivery(req, []byte(fake.WebhookSecret()), 0); greenroom.ErrorCode(err) != greenroom.CodeUnauthorized {
		t.Errorf("tampered delivery: err = %v, want unauthorized", err)
	}
}

func TestReadDeliveryErrors(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	tests := []struct {
		name    string
		edit    func(h http.Header)
		max     int64
		code    greenroom.Code
		message string
	}{
		{"no event header", func(h http.Header) { h.Del(HeaderEvent) }, 0, greenroom.CodeInvalid, "missing header X-GitHub-Event"},
		{"no delivery header", func(h http.Header) { h.Del(HeaderDelivery) }, 0, greenroom.CodeInvalid, "X-GitHub-Delivery"},
		{"unsigned", func(h http.Header) { h.Del(HeaderSignature256) }, 0, greenroom.CodeUnauthorized, "no X-Hub-Signature-256"},
		{"too large", func(http.Header) {}, 10, greenroom.CodeTooLarge, "larger than 10 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/events/http/github", bytes.NewReader(body))
			req.Header.Set(HeaderEvent, "ping")
			req.Header.Set(HeaderDelivery, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
			req.Header.Set(HeaderSignature256, Sign(secret, body))
			tt.edit(req.Header)
			_, err := ReadDelivery(req, secret, tt.max)
			if greenroom.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v, want code %s containing %q", err, tt.code, tt.message)
			}
		})
	}
}

func TestParsePayloadTestdata(t *testing.T) {
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		file, event string
		check       func(t *testing.T, p any)
	}{
		{"push.json", "push", func(t *testing.T, p any) {
			e := p.(*PushEvent)
			changed, removed := e.Changed()
			if !cmp.Equal(changed, []string{"catalog-info.yaml", "README.md", "docs/openapi.yaml"}) {
				t.Errorf("changed = %v", changed)
			}
			if !cmp.Equal(removed, []string{"legacy/catalog-info.yaml", "openapi.yaml"}) {
				t.Errorf("removed = %v", removed)
			}
			if !e.ToDefaultBranch() || e.Installation.ID != 51234987 || e.Organization.Login != "acme-corp" {
				t.Errorf("push = default %v installation %+v org %+v", e.ToDefaultBranch(), e.Installation, e.Organization)
			}
			if !e.Repository.PushedAt.Equal(time.Unix(1730711570, 0)) || !e.Repository.UpdatedAt.Equal(at("2024-11-04T09:12:44Z")) {
				t.Errorf("times = pushed %v updated %v", e.Repository.PushedAt, e.Repository.UpdatedAt)
			}
			if e.HeadCommit == nil || e.HeadCommit.Timestamp.IsZero() {
				t.Errorf("head commit = %+v", e.HeadCommit)
			}
		}},
		{"push-tag.json", "push", func(t *testing.T, p any) {
			e := p.(*PushEvent)
			if _, ok := e.Branch(); ok || e.ToDefaultBranch() {
				t.Errorf("a tag push is not a branch push: %q", e.Ref)
			}
		}},
		{"repository-created.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoCreated || e.Repository.DefaultBranch != "main" || e.Repository.Visibility != "private" {
				t.Errorf("%+v", e)
			}
		}},
		{"repository-renamed.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.PreviousName() != "payments-service" || e.Repository.Name != "payments-api" {
				t.Errorf("renamed from %q to %q", e.PreviousName(), e.Repository.Name)
			}
		}},
		{"repository-archived.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoArchived || !e.Repository.Archived {
				t.Errorf("%+v", e)
			}
		}},
		{"repository-deleted.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoDeleted || e.Repository.FullName != "acme-corp/payments-api" {
				t.Errorf("%+v", e)
			}
		}},
		{"repository-transferred.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoTransferred || e.PreviousOwner() != "acme-labs" || e.Repository.Owner.Login != "acme-corp" {
				t.Errorf("transferred from %q to %q", e.PreviousOwner(), e.Repository.Owner.Login)
			}
		}},
		{"repository-publicized.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoPublicized || e.Repository.Visibility != "public" || e.Repository.Private {
				t.Errorf("%+v", e)
			}
		}},
		{"repository-privatized.json", "repository", func(t *testing.T, p any) {
			if e := p.(*RepositoryEvent); e.Action != RepoPrivatized || !e.Repository.Private {
				t.Errorf("%+v", e)
			}
		}},
		{"organization-member_added.json", "organization", func(t *testing.T, p any) {
			if e := p.(*OrganizationEvent); e.Action != "member_added" || e.Membership.User.Login != "lee-ops" || e.Membership.Role != "member" {
				t.Errorf("%+v", e)
			}
		}},
		{"organization-member_removed.json", "organization", func(t *testing.T, p any) {
			if e := p.(*OrganizationEvent); e.Action != "member_removed" || e.Membership.User.Login != "lee-ops" {
				t.Errorf("%+v", e)
			}
		}},
		{"membership-added.json", "membership", func(t *testing.T, p any) {
			e := p.(*MembershipEvent)
			if e.Action != "added" || e.Scope != "team" || e.Team.Slug != "payments" || e.Team.Parent == nil || e.Team.Parent.Slug != "platform" {
				t.Errorf("%+v", e)
			}
		}},
		{"membership-removed-deleted-team.json", "membership", func(t *testing.T, p any) {
			if e := p.(*MembershipEvent); !e.Team.Deleted || e.Team.Slug != "" || e.Team.Name != "payments-oncall" {
				t.Errorf("%+v", e.Team)
			}
		}},
		{"team-created.json", "team", func(t *testing.T, p any) {
			if e := p.(*TeamEvent); e.Action != "created" || e.Team.Parent.Slug != "platform" {
				t.Errorf("%+v", e)
			}
		}},
		{"team-edited.json", "team", func(t *testing.T, p any) {
			if e := p.(*TeamEvent); e.Changes["name"].From != "Payments Squad" {
				t.Errorf("changes = %+v", e.Changes)
			}
		}},
		{"installation-created.json", "installation", func(t *testing.T, p any) {
			e := p.(*InstallationEvent)
			if e.Installation.ID != 51234987 || e.Installation.Account.Login != "acme-corp" || len(e.Repositories) != 2 ||
				!e.Installation.CreatedAt.Equal(time.Unix(1730710000, 0)) || !e.Installation.SuspendedAt.IsZero() {
				t.Errorf("%+v", e)
			}
		}},
		{"ping.json", "ping", func(t *testing.T, p any) {
			if e := p.(*PingEvent); e.HookID != 509876543 || len(e.Hook.Events) != 5 {
				t.Errorf("%+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePayload(tt.event, body)
			if err != nil {
				t.Fatalf("ParsePayload: %v", err)
			}
			tt.check(t, p)
		})
	}
}

func TestParsePayloadBadInput(t *testing.T) {
	tests := []struct {
		name, event, body string
		want              string
		unknown           bool
	}{
		{"syntax error located", "push", "{\n  \"ref\": \"refs/heads/main\",\n  \"after\": }", "line 3, column 12", false},
		{"wrong type located", "repository", "{\"action\": \"created\",\n\"repository\": {\"id\": \"seven\"}}", "line 2, column", false},
		{"bad timestamp", "push", `{"ref":"refs/heads/main","after":"a","repository":{"full_name":"a/b","pushed_at":true}}`, "timestamp true", false},
		{"push without repository", "push", `{"ref":"refs/heads/main","after":"abc"}`, "missing repository.full_name", false},
		{"repository without action", "repository", `{"repository":{"full_name":"a/b"}}`, "missing action", false},
		{"organization without membership", "organization", `{"action":"member_added","organization":{"login":"a"}}`, "missing membership", false},
		{"membership without team", "membership", `{"action":"added","member":{"login":"x"}}`, "missing team.id", false},
		{"installation without id", "installation", `{"action":"created","installation":{}}`, "missing installation.id", false},
		{"unknown event", "star", `{}`, "not handled", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePayload(tt.event, []byte(tt.body))
			if greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want invalid containing %q", err, tt.want)
			}
			if errors.Is(err, ErrUnknownEvent) != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownEvent) = %v, want %v", !tt.unknown, tt.unknown)
			}
		})
	}
}

func TestPushChangedOrder(t *testing.T) {
	e := &PushEvent{Commits: []PushCommit{
		{Added: []string{"a.yaml"}, Removed: []string{"b.yaml"}},
		{Removed: []string{"a.yaml"}, Added: []string{"b.yaml"}, Modified: []string{"c.yaml"}},
	}}
	changed, removed := e.Changed()
	if !cmp.Equal(changed, []string{"b.yaml", "c.yaml"}) || !cmp.Equal(removed, []string{"a.yaml"}) {
		t.Errorf("changed %v removed %v", changed, removed)
	}
}
