package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/config"
)

// ActionConfigReload is the audit action of a configuration reload.
const ActionConfigReload = "config.reload"

// reloadEvery is how often the configuration files are checked for
// changes: with the 5 s freshness bound of permission changes, a change is
// seen within 2 s and applied at once.
const reloadEvery = 2 * time.Second

// reloader re-reads the configuration on SIGHUP and when a watched file
// (a config file or a policy file it names) changes, and applies the
// permission section live. A configuration with errors is refused, each
// problem logged with its file and line, and the running one kept.
// Changes to any other section are logged as needing a restart.
type reloader struct {
	load    config.LoadOptions
	running *config.Config // as started, with the permission section last applied
	perm    *livePermission
	audit   access.Auditor
	logger  *slog.Logger
	every   time.Duration
	// fingerprint is of the watched files as last read, so that a file
	// is re-read once per change, valid or not.
	fingerprint string
}

func newReloader(load config.LoadOptions, running *config.Config, perm *livePermission, audit access.Auditor, logger *slog.Logger) *reloader {
	r := &reloader{load: load, running: running, perm: perm, audit: audit, logger: logger.With("component", "config"), every: reloadEvery}
	r.fingerprint, _ = config.Fingerprint(running.WatchedFiles())
	return r
}

// startReload runs the reloader of a until ctx ends; serve calls it once
// the server is up.
func startReload(ctx context.Context, a *app) {
	if a.reload == nil {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		a.reload.run(ctx, hup)
	}()
}

// run checks the files every r.every and reloads on a change or a signal.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload(ctx, "SIGHUP")
		case <-t.C:
			fp, err := config.Fingerprint(r.running.WatchedFiles())
			if err != nil {
				r.logger.Warn("config files unreadable; reload skipped", "err", err)
				continue
			}
			if fp != r.fingerprint {
				r.reload(ctx, "file changed")
			}
		}
	}
}

// reload loads the configuration again and applies its permission
// section; it returns why it refused, nil when applied or unchanged.
func (r *reloader) reload(ctx context.Context, trigger string) error {
	files := r.load.Files
	next, report, err := config.Load(r.load)
	// Remember what was read even when refused: the same bad content is
	// reported once, not every tick.
	if fp, ferr := config.Fingerprint(next.WatchedFiles()); ferr == nil {
		r.fingerprint = fp
	}
	if err != nil {
		var problems []string
		for _, p := range report.Filter(config.SeverityError) {
			problems = append(problems, p.String())
			r.logger.Error("config reload refused", "trigger", trigger, "problem", p.String())
		}
		if len(problems) == 0 {
			problems = append(problems, err.Error())
		}
		r.logger.Error("config reload refused; the running configuration is kept", "trigger", trigger, "problems", len(problems))
		r.record(ctx, access.DecisionDeny, "invalid configuration: "+clipText(strings.Join(problems, "; "), 500), trigger, files)
		return err
	}
	if restart := r.running.RestartNeeded(next); len(restart) > 0 {
		r.logger.Warn("config changed in sections that apply only after a restart: restart needed", "trigger", trigger,
			"sections", strings.Join(restart, ", "))
	}
	if !r.running.PermissionChanged(next) {
		r.logger.Info("config reloaded; permission unchanged", "trigger", trigger)
		return nil
	}
	if err := r.perm.Swap(next.Permission.Policy); err != nil {
		r.logger.Error("config reload refused; the running configuration is kept", "trigger", trigger, "section", "permission", "err", err)
		r.record(ctx, access.DecisionDeny, "invalid permission section: "+clipText(err.Error(), 500), trigger, files)
		return err
	}
	applied := *r.running
	applied.Permission = next.Permission
	r.running = &applied
	p := next.Permission.Policy
	r.logger.Info("permission reloaded", "trigger", trigger, "enabled", p.Enabled, "bindings", len(p.Bindings), "policy_files", len(p.Files))
	r.record(ctx, access.DecisionAllow, "permission section reloaded", trigger, files)
	return nil
}

// record audits a reload as an admin change by the system.
func (r *reloader) record(ctx context.Context, decision, reason, trigger string, files []string) {
	if r.audit == nil {
		return
	}
	ev := access.AuditEvent{Time: time.Now().UTC(), Actor: "system:config", ActorKind: access.KindService, Action: ActionConfigReload,
		Resource: "config:permission", Decision: decision, Reason: reason,
		Details: map[string]string{"trigger": trigger, "files": strings.Join(files, ",")}}
	if err := r.audit.Audit(ctx, ev); err != nil && !errors.Is(err, context.Canceled) {
		r.logger.Error("audit failed", "action", ActionConfigReload, "err", err)
	}
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
