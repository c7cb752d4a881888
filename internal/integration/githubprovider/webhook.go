package githubprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/catalog"
	"greenroom/internal/greenroom"
	"greenroom/internal/integration/github"
	"greenroom/internal/jobs"
)

// webhookJob is the payload of a WebhookJobKind job: the verified delivery.
type webhookJob struct {
	Event    string          `json:"event"`
	Delivery string          `json:"delivery"`
	Body     json.RawMessage `json:"body"`
	// Nonce tells this request's job from an earlier one with the same
	// delivery id (the dedupe key returns the earlier job's id).
	Nonce string `json:"nonce"`
}

// webhookAttempts bounds the retries of one delivery's work.
const webhookAttempts = 8

// maxDeliveryID bounds the X-GitHub-Delivery header (a GUID).
const maxDeliveryID = 100

// WebhookHandler serves POST /api/events/http/github, Backstage's events
// route for GitHub. A delivery whose X-Hub-Signature-256 does not verify
// with any configured secret is 401 and logged at warn; a malformed one
// 400; a delivery id already received answers 200 "duplicate" and does
// nothing; otherwise the delivery is queued as a job (202), so that work
// survives a restart.
func (d *Discovery) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, msg := d.receive(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status >= 400 {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"error":    map[string]string{"name": errorName(status), "message": msg},
				"request":  map[string]string{"method": r.Method, "url": r.URL.Path},
				"response": map[string]int{"statusCode": status},
			})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": msg})
	})
}

func errorName(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "AuthenticationError"
	case http.StatusRequestEntityTooLarge:
		return "PayloadTooLargeError"
	case http.StatusBadRequest:
		return "InputError"
	}
	return "Error"
}

// receive handles one delivery and returns the status and message or body
// status word.
func (d *Discovery) receive(r *http.Request) (int, string) {
	log := d.deps.Logger.With("delivery", truncate(r.Header.Get(github.HeaderDelivery), maxDeliveryID),
		"event", truncate(r.Header.Get(github.HeaderEvent), 64), "remote_addr", r.RemoteAddr)
	body, err := io.ReadAll(io.LimitReader(r.Body, github.MaxWebhookBytes+1))
	if err != nil {
		return http.StatusBadRequest, "could not read the body"
	}
	if len(body) > github.MaxWebhookBytes {
		log.Warn("webhook delivery rejected: too large")
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", github.MaxWebhookBytes)
	}
	if err := d.verify(body, r.Header.Get(github.HeaderSignature256)); err != nil {
		log.Warn("webhook delivery rejected: signature", "err", err)
		d.auditRefusal(r, err)
		return http.StatusUnauthorized, "webhook signature is missing or invalid"
	}
	event, id := r.Header.Get(github.HeaderEvent), r.Header.Get(github.HeaderDelivery)
	if event == "" || id == "" || len(id) > maxDeliveryID || len(event) > 64 {
		return http.StatusBadRequest, "missing or invalid " + github.HeaderEvent + " or " + github.HeaderDelivery + " header"
	}
	payload, err := github.ParsePayload(event, body)
	if errors.Is(err, github.ErrUnknownEvent) {
		log.Debug("webhook event ignored")
		return http.StatusAccepted, "ignored"
	}
	if err != nil {
		log.Info("webhook delivery rejected: payload", "err", err)
		return http.StatusBadRequest, "malformed " + event + " payload: " + err.Error()
	}
	if _, ok := payload.(*github.PingEvent); ok {
		return http.StatusOK, "pong"
	}
	if d.recent.has(id) {
		log.Info("webhook delivery replayed; ignored")
		return http.StatusOK, "duplicate"
	}
	dedupe := "github-delivery:" + id
	if d.deps.Jobs != nil {
		// The jobs table remembers deliveries handled before a restart or
		// by another replica; the in-memory set above is the fast path.
		handled, err := d.deps.Jobs.DedupeKeyHandled(r.Context(), dedupe)
		if err != nil {
			log.Error("webhook delivery not checked for replay", "err", err)
			return http.StatusServiceUnavailable, "the delivery could not be checked; redeliver it"
		}
		if handled {
			d.recent.add(id)
			log.Info("webhook delivery replayed; ignored")
			return http.StatusOK, "duplicate"
		}
	}
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	job := webhookJob{Event: event, Delivery: id, Body: body, Nonce: hex.EncodeToString(nonce)}
	jobID, err := d.deps.Queue.Enqueue(r.Context(), WebhookJobKind, job, jobs.DedupeKey(dedupe), jobs.MaxAttempts(webhookAttempts))
	if err != nil {
		log.Error("webhook delivery not queued", "err", err)
		return http.StatusServiceUnavailable, "the delivery could not be queued; redeliver it"
	}
	if d.deps.Jobs != nil {
		if stored, err := d.deps.Jobs.JobByID(r.Context(), jobID); err == nil {
			var prev webhookJob
			if json.Unmarshal(stored.Payload, &prev) == nil && prev.Nonce != job.Nonce {
				log.Info("webhook delivery replayed while queued; ignored")
				return http.StatusOK, "duplicate"
			}
		}
	}
	d.recent.add(id)
	log.Debug("webhook delivery queued", "job_id", jobID)
	return http.StatusAccepted, "queued"
}

// auditRefusal records a delivery refused for its signature: someone who
// is not GitHub, or a GitHub with the wrong secret, is calling.
func (d *Discovery) auditRefusal(r *http.Request, why error) {
	if d.deps.Auditor == nil {
		return
	}
	ev := access.AuditEvent{
		Time: time.Now().UTC(), Action: "webhook.github.receive", Resource: "POST /api/events/http/github",
		Decision: access.DecisionDeny, Reason: "signature: " + why.Error(),
		RequestID: greenroom.RequestID(r.Context()), Source: r.RemoteAddr,
		Details: map[string]string{"delivery": truncate(r.Header.Get(github.HeaderDelivery), maxDeliveryID), "event": truncate(r.Header.Get(github.HeaderEvent), 64)},
	}
	if err := d.deps.Auditor.Audit(r.Context(), ev); err != nil {
		d.deps.Logger.Error("refused webhook delivery not audited", "err", err)
	}
}

// verify accepts the signature when any configured secret verifies it.
// Without a secret nothing can be verified, so every delivery is refused.
func (d *Discovery) verify(body []byte, header string) error {
	if len(d.secrets) == 0 {
		return errors.New("no webhook secret is configured")
	}
	var err error
	for _, s := range d.secrets {
		if err = github.VerifySignature(s, body, header); err == nil {
			return nil
		}
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// runWebhookJob does a delivery's work at webhook priority.
func (d *Discovery) runWebhookJob(ctx context.Context, payload []byte) error {
	var job webhookJob
	if err := json.Unmarshal(payload, &job); err != nil {
		return &greenroom.Error{Code: greenroom.CodeInvalid, Message: "github webhook job payload is not valid", Err: err}
	}
	ctx = github.WithPriority(ctx, github.Urgent)
	ev, err := github.ParsePayload(job.Event, job.Body)
	if errors.Is(err, github.ErrUnknownEvent) {
		return nil
	}
	if err != nil {
		return err // cannot happen: verified when received
	}
	switch e := ev.(type) {
	case *github.PushEvent:
		return d.eachProvider(e.Repository.Owner.Login, func(p *Provider) error { return d.onPush(ctx, p, e) })
	case *github.RepositoryEvent:
		err := d.eachProvider(e.Repository.Owner.Login, func(p *Provider) error { return d.onRepository(ctx, p, e) })
		if prev := e.PreviousOwner(); e.Action == github.RepoTransferred && prev != "" {
			// The old owner's providers lose the repository.
			err = errors.Join(err, d.eachProvider(prev, func(p *Provider) error {
				return d.retireRepo(ctx, p, prev+"/"+e.Repository.Name)
			}))
		}
		return err
	case *github.OrganizationEvent, *github.MembershipEvent, *github.TeamEvent:
		if h := d.orgHandler(); h != nil {
			return h.HandleOrgEvent(ctx, job.Event, job.Body)
		}
		return nil
	case *github.InstallationEvent:
		seen := map[*github.Client]bool{}
		for _, p := range d.providers {
			if !seen[p.client] {
				seen[p.client] = true
				p.client.InvalidateInstallations()
			}
		}
	}
	return nil
}

// eachProvider runs f for every provider of org (GitHub logins are
// case-insensitive).
func (d *Discovery) eachProvider(org string, f func(p *Provider) error) error {
	var errs []error
	for _, p := range d.providers {
		if strings.EqualFold(p.cfg.Organization, org) {
			if err := f(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// onPush re-reads the catalog files a push to the watched branch added or
// modified and retires those it removed. Other pushes do nothing.
func (d *Discovery) onPush(ctx context.Context, p *Provider, e *github.PushEvent) error {
	branch, ok := e.Branch()
	if !ok || e.Deleted {
		return nil
	}
	if want := p.cfg.Filters.Branch; (want != "" && branch != want) || (want == "" && !e.ToDefaultBranch()) {
		return nil
	}
	r := e.Repository
	info := repoInfo{Name: r.Name, FullName: r.FullName, Archived: r.Archived, Fork: r.Fork, Visibility: r.Visibility,
		Topics: r.Topics, DefaultBranch: r.DefaultBranch}
	if !p.keep(info) {
		return nil
	}
	changed, removed := e.Changed()
	if len(e.Commits) >= 2048 {
		return d.syncRepo(ctx, p, r.Owner.Login, r.Name) // GitHub lists at most 2048 commits: read the repository
	}
	owner, name, _ := strings.Cut(r.FullName, "/")
	var files []found
	var remove []string
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	for _, path := range changed {
		if !p.pattern.Match(path) {
			continue
		}
		data, err := p.client.File(ctx, owner, name, path, e.After)
		if greenroom.IsNotFound(err) {
			remove = append(remove, p.sourceName(r.FullName, path))
			continue
		}
		if err != nil {
			return fmt.Errorf("github provider %s: push to %s: read %s: %w", p.name, r.FullName, path, err)
		}
		files = append(files, found{path: path, data: data})
	}
	for _, path := range removed {
		if p.pattern.Match(path) {
			remove = append(remove, p.sourceName(r.FullName, path))
		}
	}
	if len(files) == 0 && len(remove) == 0 {
		return nil
	}
	delete(p.cache, strings.ToLower(r.FullName)) // its head moved
	srcs := p.repoSources(ctx, r.FullName, e.After, branch, files)
	return d.applyDelta(ctx, p, srcs, remove)
}

func (d *Discovery) applyDelta(ctx context.Context, p *Provider, upsert []catalog.Source, remove []string) error {
	res, err := d.deps.Catalog.ApplyProviderDelta(ctx, p.name, upsert, remove)
	if err != nil {
		return err
	}
	p.update(func(s *Status) { s.WebhooksApplied++; s.LastWebhook = d.deps.Now() })
	p.logger.Info("github webhook applied", "upserted", res.Refreshed, "retired", res.Retired, "problems", len(res.Problems))
	return nil
}

// onRepository follows a repository's life: it is read again (filters
// re-applied) after any change, its sources retired when it is archived,
// deleted or filtered out, and a rename retires the old name's sources.
func (d *Discovery) onRepository(ctx context.Context, p *Provider, e *github.RepositoryEvent) error {
	r := e.Repository
	switch e.Action {
	case github.RepoDeleted, github.RepoArchived:
		return d.retireRepo(ctx, p, r.FullName)
	case github.RepoRenamed:
		if prev := e.PreviousName(); prev != "" {
			if err := d.retireRepo(ctx, p, r.Owner.Login+"/"+prev); err != nil {
				return err
			}
		}
	case github.RepoCreated, github.RepoUnarchived, github.RepoTransferred, github.RepoPublicized, github.RepoPrivatized, github.RepoEdited:
	default:
		return nil
	}
	return d.syncRepo(ctx, p, r.Owner.Login, r.Name)
}

// syncRepo makes the provider's sources of one repository what GitHub has
// now.
func (d *Discovery) syncRepo(ctx context.Context, p *Provider, owner, name string) error {
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	r, err := p.client.RepoWithFile(ctx, owner, name, p.listPath(), p.cfg.Filters.Branch)
	if greenroom.IsNotFound(err) {
		return d.retireRepoLocked(ctx, p, owner+"/"+name)
	}
	if err != nil {
		return fmt.Errorf("github provider %s: read %s/%s: %w", p.name, owner, name, err)
	}
	info := repoInfo{Name: r.Name, FullName: r.FullName, Archived: r.Archived, Fork: r.Fork, Visibility: r.Visibility,
		Topics: r.Topics, DefaultBranch: r.DefaultBranch}
	var files []found
	ref := r.HeadOID
	if p.keep(info) {
		delete(p.cache, strings.ToLower(r.FullName))
		res := scanResult{nextCache: map[string]repoCache{}}
		files, ref, err = p.repoFiles(ctx, r, &res)
		if err != nil {
			return err
		}
		for k, v := range res.nextCache {
			p.cache[k] = v
		}
	}
	srcs := p.repoSources(ctx, r.FullName, ref, p.branchOf(r.DefaultBranch), files)
	current := map[string]bool{}
	for _, s := range srcs {
		current[s.Name] = true
	}
	known, err := d.repoSourceNames(ctx, p, r.FullName)
	if err != nil {
		return err
	}
	var remove []string
	for _, n := range known {
		if !current[n] {
			remove = append(remove, n)
		}
	}
	if len(srcs) == 0 && len(remove) == 0 {
		return nil
	}
	return d.applyDelta(ctx, p, srcs, remove)
}

// retireRepo retires every source of one repository.
func (d *Discovery) retireRepo(ctx context.Context, p *Provider, fullName string) error {
	p.scanMu.Lock()
	defer p.scanMu.Unlock()
	return d.retireRepoLocked(ctx, p, fullName)
}

func (d *Discovery) retireRepoLocked(ctx context.Context, p *Provider, fullName string) error {
	delete(p.cache, strings.ToLower(fullName))
	names, err := d.repoSourceNames(ctx, p, fullName)
	if err != nil || len(names) == 0 {
		return err
	}
	return d.applyDelta(ctx, p, nil, names)
}

func (d *Discovery) repoSourceNames(ctx context.Context, p *Provider, fullName string) ([]string, error) {
	known, err := d.deps.Sources.KnownSources(ctx)
	if err != nil {
		return nil, fmt.Errorf("github provider %s: list sources: %w", p.name, err)
	}
	prefix := p.sourcePrefix(fullName)
	var out []string
	for _, n := range known {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}
