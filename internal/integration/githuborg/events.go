package githuborg

import (
	"context"
	"encoding/json"
	"strings"

	"greenroom/internal/greenroom"
)

// maxEventBytes bounds an event payload (GitHub caps deliveries at 25 MB;
// org events are a few kilobytes).
const maxEventBytes = 25 << 20

// orgActions are the org events' actions that change org data, as
// Backstage's GithubMultiOrgEntityProvider listens to them, plus
// member_invited (an invitation changes nothing GitHub lists yet, but the
// read is cheap and debounced) and team renames, which GitHub sends as
// team edited.
var orgActions = map[string][]string{
	"organization": {"member_added", "member_removed", "member_invited"},
	"membership":   {"added", "removed"},
	"team":         {"created", "deleted", "edited"},
	"installation": {"created"},
}

// HandleOrgEvent takes one verified GitHub webhook event (its
// X-GitHub-Event name and JSON body). An event of a configured
// organization that changes teams or members queues a read of the
// provider's organizations, debounced (Options.Debounce): the events of
// one change become one GraphQL pass. Other events and organizations are
// ignored (nil). A body that is not an org event's JSON is
// greenroom.CodeInvalid; a failure to queue is returned.
func (p *Provider) HandleOrgEvent(ctx context.Context, event string, payload []byte) error {
	actions, ok := orgActions[event]
	if !ok {
		return nil
	}
	if len(payload) > maxEventBytes {
		return greenroom.Errorf(greenroom.CodeTooLarge, "github %s event: payload larger than %d bytes", event, maxEventBytes)
	}
	var body struct {
		Action       string `json:"action"`
		Organization *struct {
			Login string `json:"login"`
		} `json:"organization"`
		Installation *struct {
			Account *struct {
				Login string `json:"login"`
			} `json:"account"`
		} `json:"installation"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "github " + event + " event: payload is not valid JSON", Err: err}
	}
	if body.Action == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "github %s event: payload has no action", event)
	}
	if !contains(actions, body.Action) {
		return nil
	}
	var org string
	switch {
	case body.Organization != nil:
		org = body.Organization.Login
	case body.Installation != nil && body.Installation.Account != nil:
		org = body.Installation.Account.Login
	}
	if org == "" {
		return greenroom.Errorf(greenroom.CodeInvalid, "github %s.%s event: payload names no organization", event, body.Action)
	}
	if !p.reads(org) {
		return nil
	}
	p.log.Debug("github org event", "event", event, "action", body.Action, "org", org)
	return p.requestRead(ctx, readRequest{Reason: "event " + event + "." + body.Action + " " + org, Urgent: true}, 0)
}

// reads reports whether org is one the provider reads. Without configured
// orgs, every organization the App is installed on is read.
func (p *Provider) reads(org string) bool {
	if len(p.opts.Config.Orgs) == 0 {
		return true
	}
	for _, o := range p.opts.Config.Orgs {
		if strings.EqualFold(o, org) {
			return true
		}
	}
	return false
}
