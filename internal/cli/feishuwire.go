package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"greenroom/internal/api"
	"greenroom/internal/config"
	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
	feishuapi "greenroom/internal/integration/feishu"
	"greenroom/internal/jobs"
	"greenroom/internal/store"
)

func init() { registerWire("feishu", wireFeishu) }

// wireFeishu serves the Feishu migration pages (/feishu) and API
// (/api/feishu), running migrations as durable jobs. Without feishu.appId
// and appSecret the pages still show past migrations; starting one says
// what to configure.
func wireFeishu(ctx context.Context, env *wireEnv) error {
	fc := env.cfg.Feishu.Effective()
	logger := env.logger.With("component", "feishu")
	var src feishu.Source = unconfiguredFeishu{}
	if fc.Configured() {
		c, err := feishuapi.New(feishuapi.Options{BaseURL: fc.BaseURL, AppID: fc.AppID, AppSecret: fc.AppSecret}, feishuapi.Deps{Logger: logger})
		if err != nil {
			return fmt.Errorf("feishu: %w", err)
		}
		src = c
	}
	root := fc.TargetRoot
	if root == "" {
		root = filepath.Join(env.dataDir, "feishu")
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("feishu: target root: %w", err)
	}
	svc := feishu.NewService(src, env.store, logger)
	svc.SetBuilder(techdocsValidator{})
	svc.SetPermissionMapping(rulesFromConfig(fc))
	svc.SetConversionDefaults(conversionFromConfig(fc))
	svc.SetTargetRoot(root)
	svc.SetPublisher(feishuPublisher(env.cfg))
	if env.catalog != nil {
		svc.SetOwners(catalogOwners{byName: env.catalog.EntityByName})
	}
	pool := env.pool
	svc.SetEnqueuer(func(ctx context.Context, kind string, payload any) error {
		_, err := pool.Enqueue(ctx, kind, payload, jobs.MaxAttempts(3))
		return err
	})
	pool.Register(feishu.MigrateJobKind, func(ctx context.Context, job store.Job) error {
		return svc.RunJob(ctx, json.RawMessage(job.Payload))
	})
	api.NewFeishu(svc, env.logger.With("component", "api")).Routes(env.mux)
	env.pages.FeishuPages(svc, svc.ConversionDefaults(), root).Routes(env.mux)
	return nil
}

// unconfiguredFeishu answers every read with what to configure.
type unconfiguredFeishu struct{}

func (unconfiguredFeishu) err() error {
	return greenroom.Errorf(greenroom.CodeUnavailable, "Feishu is not configured: set feishu.appId and feishu.appSecret in app-config.yaml")
}

func (u unconfiguredFeishu) ListFolder(context.Context, string) ([]feishu.File, error) {
	return nil, u.err()
}
func (u unconfiguredFeishu) Document(context.Context, string) (feishu.Document, error) {
	return feishu.Document{}, u.err()
}
func (u unconfiguredFeishu) Blocks(context.Context, string) ([]feishu.Block, error) {
	return nil, u.err()
}
func (u unconfiguredFeishu) Media(context.Context, string) (feishu.Media, error) {
	return feishu.Media{}, u.err()
}
func (u unconfiguredFeishu) UserName(context.Context, string) (string, error) { return "", u.err() }
func (u unconfiguredFeishu) Members(context.Context, string, string) ([]feishu.Member, error) {
	return nil, u.err()
}

// catalogOwners reads spec.owner from the catalog.
type catalogOwners struct {
	byName func(ctx context.Context, ref greenroom.EntityRef) (json.RawMessage, error)
}

func (c catalogOwners) Owner(ctx context.Context, entityRef string) (string, error) {
	ref, err := greenroom.ParseEntityRef(entityRef, "component", "default")
	if err != nil {
		return "", greenroom.Errorf(greenroom.CodeInvalid, "%w", err)
	}
	raw, err := c.byName(ctx, ref)
	if err != nil {
		return "", err
	}
	var e struct {
		Spec struct {
			Owner string `json:"owner"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return "", fmt.Errorf("feishu: %s: %w", entityRef, err)
	}
	return e.Spec.Owner, nil
}

// feishuPublisher commits migrations with go-git and opens pull requests
// with the token of the matching integrations.github entry.
func feishuPublisher(cfg *config.Config) feishuapi.GitPublisher {
	entries := cfg.Integrations.GitHub
	return feishuapi.GitPublisher{GitHub: func(host string) (string, string, bool) {
		for _, g := range entries {
			if !strings.EqualFold(g.Host, host) || g.Token == "" {
				continue
			}
			api := g.APIBaseURL
			if api == "" {
				api = "https://" + g.Host + "/api/v3"
				if strings.EqualFold(g.Host, "github.com") {
					api = "https://api.github.com"
				}
			}
			return api, g.Token.Reveal(), true
		}
		return "", "", false
	}}
}
