package github

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"greenroom/internal/greenroom"
)

// ErrUnknownEvent is wrapped by ParsePayload for an event type it does not
// decode; receivers acknowledge and ignore such deliveries.
var ErrUnknownEvent = errors.New("event type not handled")

// Timestamp is a time in a webhook payload, which GitHub writes as RFC 3339
// text in most places and as Unix seconds in others (push's
// repository.created_at and pushed_at, installation times).
type Timestamp struct{ time.Time }

// UnmarshalJSON accepts a string, a number or null.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch {
	case s == "null":
		t.Time = time.Time{}
		return nil
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if v == "" {
			t.Time = time.Time{}
			return nil
		}
		p, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", v, err)
		}
		t.Time = p
		return nil
	default:
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("timestamp %s: want RFC 3339 text or Unix seconds", clip(s, 32))
		}
		t.Time = time.Unix(sec, 0).UTC()
		return nil
	}
}

// MarshalJSON writes RFC 3339 text, or null for the zero time.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// WebhookRepository is a repository as webhook payloads embed it.
type WebhookRepository struct {
	ID            int64     `json:"id"`
	NodeID        string    `json:"node_id"`
	Name          string    `json:"name"`
	FullName      string    `json:"full_name"`
	Owner         Account   `json:"owner"`
	Private       bool      `json:"private"`
	HTMLURL       string    `json:"html_url"`
	Description   string    `json:"description"`
	Fork          bool      `json:"fork"`
	DefaultBranch string    `json:"default_branch"`
	Archived      bool      `json:"archived"`
	Disabled      bool      `json:"disabled"`
	Visibility    string    `json:"visibility"`
	Topics        []string  `json:"topics"`
	CreatedAt     Timestamp `json:"created_at"`
	UpdatedAt     Timestamp `json:"updated_at"`
	PushedAt      Timestamp `json:"pushed_at"`
}

// InstallationRef is the installation a delivery came through (App hooks).
type InstallationRef struct {
	ID     int64  `json:"id"`
	NodeID string `json:"node_id"`
}

// Organization is an organization as webhook payloads embed it.
type Organization struct {
	Login       string `json:"login"`
	ID          int64  `json:"id"`
	NodeID      string `json:"node_id"`
	URL         string `json:"url"`
	Description string `json:"description"`
}

// Envelope holds the fields most payloads share.
type Envelope struct {
	Action       string           `json:"action"`
	Sender       Account          `json:"sender"`
	Organization *Organization    `json:"organization"`
	Installation *InstallationRef `json:"installation"`
}

// PushEvent is the "push" payload.
type PushEvent struct {
	Envelope
	// Ref is the full ref pushed, e.g. "refs/heads/main".
	Ref        string            `json:"ref"`
	Before     string            `json:"before"`
	After      string            `json:"after"`
	Created    bool              `json:"created"`
	Deleted    bool              `json:"deleted"`
	Forced     bool              `json:"forced"`
	BaseRef    *string           `json:"base_ref"`
	Compare    string            `json:"compare"`
	Commits    []PushCommit      `json:"commits"`
	HeadCommit *PushCommit       `json:"head_commit"`
	Repository WebhookRepository `json:"repository"`
	Pusher     struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"pusher"`
}

// PushCommit is one commit of a push.
type PushCommit struct {
	ID        string       `json:"id"`
	TreeID    string       `json:"tree_id"`
	Distinct  bool         `json:"distinct"`
	Message   string       `json:"message"`
	Timestamp Timestamp    `json:"timestamp"`
	URL       string       `json:"url"`
	Author    CommitPerson `json:"author"`
	Committer CommitPerson `json:"committer"`
	Added     []string     `json:"added"`
	Removed   []string     `json:"removed"`
	Modified  []string     `json:"modified"`
}

// CommitPerson is a commit's author or committer.
type CommitPerson struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username"`
}

// Branch returns the branch a push updated, and false for tags.
func (e *PushEvent) Branch() (string, bool) {
	return strings.CutPrefix(e.Ref, "refs/heads/")
}

// ToDefaultBranch reports whether the push updated the default branch.
func (e *PushEvent) ToDefaultBranch() bool {
	b, ok := e.Branch()
	return ok && b == e.Repository.DefaultBranch
}

// Changed returns the paths the push added or modified and those it
// removed, across its commits in order (a path removed then re-added counts
// as changed, and the reverse as removed). GitHub lists at most 2048
// commits in a payload: a push with more must be read another way.
func (e *PushEvent) Changed() (changed, removed []string) {
	state := map[string]bool{} // path -> present after the push
	var order []string
	mark := func(p string, present bool) {
		if _, seen := state[p]; !seen {
			order = append(order, p)
		}
		state[p] = present
	}
	for _, c := range e.Commits {
		for _, p := range c.Added {
			mark(p, true)
		}
		for _, p := range c.Modified {
			mark(p, true)
		}
		for _, p := range c.Removed {
			mark(p, false)
		}
	}
	for _, p := range order {
		if state[p] {
			changed = append(changed, p)
		} else {
			removed = append(removed, p)
		}
	}
	return changed, removed
}

// The repository event's actions the catalog follows.
const (
	RepoCreated     = "created"
	RepoDeleted     = "deleted"
	RepoArchived    = "archived"
	RepoUnarchived  = "unarchived"
	RepoRenamed     = "renamed"
	RepoTransferred = "transferred"
	RepoPublicized  = "publicized"
	RepoPrivatized  = "privatized"
	RepoEdited      = "edited"
)

// RepositoryEvent is the "repository" payload.
type RepositoryEvent struct {
	Envelope
	Repository WebhookRepository `json:"repository"`
	Changes    *struct {
		Repository *struct {
			Name *struct {
				From string `json:"from"`
			} `json:"name"`
		} `json:"repository"`
		Owner *struct {
			From struct {
				User         *Account `json:"user"`
				Organization *Account `json:"organization"`
			} `json:"from"`
		} `json:"owner"`
		DefaultBranch *struct {
			From string `json:"from"`
		} `json:"default_branch"`
	} `json:"changes"`
}

// PreviousName is the name before a rename, or "".
func (e *RepositoryEvent) PreviousName() string {
	if e.Changes != nil && e.Changes.Repository != nil && e.Changes.Repository.Name != nil {
		return e.Changes.Repository.Name.From
	}
	return ""
}

// PreviousOwner is the owner's login before a transfer, or "".
func (e *RepositoryEvent) PreviousOwner() string {
	if e.Changes == nil || e.Changes.Owner == nil {
		return ""
	}
	if o := e.Changes.Owner.From.Organization; o != nil {
		return o.Login
	}
	if u := e.Changes.Owner.From.User; u != nil {
		return u.Login
	}
	return ""
}

// OrganizationEvent is the "organization" payload (member_added,
// member_removed, member_invited, renamed, deleted).
type OrganizationEvent struct {
	Envelope
	Membership *struct {
		State string  `json:"state"`
		Role  string  `json:"role"`
		User  Account `json:"user"`
	} `json:"membership"`
	// User is the invitee of member_invited.
	User    *Account `json:"user"`
	Changes *struct {
		Login *struct {
			From string `json:"from"`
		} `json:"login"`
	} `json:"changes"`
}

// WebhookTeam is a team as webhook payloads embed it; a deleted team has
// only ID, Name and Deleted.
type WebhookTeam struct {
	ID          int64        `json:"id"`
	NodeID      string       `json:"node_id"`
	Name        string       `json:"name"`
	Slug        string       `json:"slug"`
	Description string       `json:"description"`
	Privacy     string       `json:"privacy"`
	HTMLURL     string       `json:"html_url"`
	Parent      *WebhookTeam `json:"parent"`
	Deleted     bool         `json:"deleted"`
}

// MembershipEvent is the "membership" payload: a user added to or removed
// from a team.
type MembershipEvent struct {
	Envelope
	Scope  string      `json:"scope"`
	Member Account     `json:"member"`
	Team   WebhookTeam `json:"team"`
}

// TeamEvent is the "team" payload (created, deleted, edited,
// added_to_repository, removed_from_repository).
type TeamEvent struct {
	Envelope
	Team       WebhookTeam        `json:"team"`
	Repository *WebhookRepository `json:"repository"`
	Changes    map[string]struct {
		From any `json:"from"`
	} `json:"changes"`
}

// InstallationEvent is the "installation" payload (created, deleted,
// suspend, unsuspend, new_permissions_accepted).
type InstallationEvent struct {
	Action       string `json:"action"`
	Installation struct {
		ID                  int64             `json:"id"`
		Account             Account           `json:"account"`
		AppID               int64             `json:"app_id"`
		TargetType          string            `json:"target_type"`
		RepositorySelection string            `json:"repository_selection"`
		Permissions         map[string]string `json:"permissions"`
		Events              []string          `json:"events"`
		CreatedAt           Timestamp         `json:"created_at"`
		SuspendedAt         Timestamp         `json:"suspended_at"`
	} `json:"installation"`
	Repositories []struct {
		ID       int64  `json:"id"`
		NodeID   string `json:"node_id"`
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		Private  bool   `json:"private"`
	} `json:"repositories"`
	Sender Account `json:"sender"`
}

// PingEvent is the "ping" payload GitHub sends when a hook is created.
type PingEvent struct {
	Zen    string `json:"zen"`
	HookID int64  `json:"hook_id"`
	Hook   struct {
		Type   string   `json:"type"`
		ID     int64    `json:"id"`
		Events []string `json:"events"`
	} `json:"hook"`
}

// ParsePayload decodes body as the payload of event: a *PushEvent,
// *RepositoryEvent, *OrganizationEvent, *MembershipEvent, *TeamEvent,
// *InstallationEvent or *PingEvent. Malformed JSON or a payload missing the
// fields its event always has is an invalid error naming where; another
// event type wraps ErrUnknownEvent.
func ParsePayload(event string, body []byte) (any, error) {
	var (
		v     any
		check func() string // names the first missing required field
	)
	switch event {
	case "push":
		e := &PushEvent{}
		v, check = e, func() string {
			return firstMissing("ref", e.Ref, "repository.full_name", e.Repository.FullName, "after", e.After)
		}
	case "repository":
		e := &RepositoryEvent{}
		v, check = e, func() string {
			return firstMissing("action", e.Action, "repository.full_name", e.Repository.FullName)
		}
	case "organization":
		e := &OrganizationEvent{}
		v, check = e, func() string {
			if m := firstMissing("action", e.Action); m != "" || e.Organization == nil {
				return cmp.Or(m, "organization")
			}
			if strings.HasPrefix(e.Action, "member_") && e.Action != "member_invited" && e.Membership == nil {
				return "membership"
			}
			return firstMissing("organization.login", e.Organization.Login)
		}
	case "membership":
		e := &MembershipEvent{}
		v, check = e, func() string {
			if e.Team.ID == 0 {
				return "team.id"
			}
			return firstMissing("action", e.Action, "member.login", e.Member.Login)
		}
	case "team":
		e := &TeamEvent{}
		v, check = e, func() string {
			if e.Team.ID == 0 {
				return "team.id"
			}
			return firstMissing("action", e.Action, "team.name", e.Team.Name)
		}
	case "installation":
		e := &InstallationEvent{}
		v, check = e, func() string {
			if e.Installation.ID == 0 {
				return "installation.id"
			}
			return firstMissing("action", e.Action, "installation.account.login", e.Installation.Account.Login)
		}
	case "ping":
		e := &PingEvent{}
		v, check = e, func() string {
			if e.HookID == 0 {
				return "hook_id"
			}
			return ""
		}
	default:
		return nil, &greenroom.Error{Code: greenroom.CodeInvalid, Message: fmt.Sprintf("github webhook: event %q: %v", clip(event, 64), ErrUnknownEvent), Err: ErrUnknownEvent}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "github webhook %s payload: %s", event, describeJSONError(body, err))
	}
	if m := check(); m != "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "github webhook %s payload: missing %s", event, m)
	}
	return v, nil
}

// firstMissing takes name, value pairs and returns the first name whose
// value is empty.
func firstMissing(pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return pairs[i]
		}
	}
	return ""
}

// describeJSONError locates a decoding error by line and column.
func describeJSONError(body []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1 // the offending byte: Offset counts it as read
	case errors.As(err, &typ):
		off = typ.Offset
		if typ.Field != "" {
			line, col := lineCol(body, off)
			return fmt.Sprintf("line %d, column %d: %s: want %s, got %s", line, col, typ.Field, typ.Type, typ.Value)
		}
	default:
		return err.Error()
	}
	line, col := lineCol(body, off)
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

func lineCol(b []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(b)))
	prefix := b[:off]
	line := bytes.Count(prefix, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(prefix, '\n')
	return line, col
}
