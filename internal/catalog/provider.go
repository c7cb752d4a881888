package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"greenroom/internal/greenroom"
)

// ProviderSourcePrefix starts the name of every source an entity provider
// supplies: "provider:<provider>:<key>", e.g.
// "provider:github-acme:acme/payments/catalog-info.yaml".
const ProviderSourcePrefix = "provider:"

// ProviderSourceName names the source a provider supplies under key (a
// repository and file, say). Keys are the provider's own and stable.
func ProviderSourceName(provider, key string) string {
	return ProviderSourcePrefix + provider + ":" + key
}

// IsProviderSource reports whether a source name belongs to an entity
// provider. Such sources are read by their provider on its own schedule
// (or on a webhook), never by Refresh, and retired only by the provider.
func IsProviderSource(name string) bool { return strings.HasPrefix(name, ProviderSourcePrefix) }

func providerOf(name string) string {
	rest := strings.TrimPrefix(name, ProviderSourcePrefix)
	p, _, _ := strings.Cut(rest, ":")
	return p
}

// ProviderRefresher re-reads one source of a provider, for a refresh of an
// entity it supplied (POST /refresh with an entityRef).
type ProviderRefresher func(ctx context.Context, sourceName string) error

// providerState is the entity providers' part of the Service.
type providerState struct {
	mu         sync.Mutex
	refreshers map[string]ProviderRefresher
}

// RegisterProvider lets the catalog ask provider to re-read one of its
// sources when an entity it supplied is refreshed. Optional: without it,
// such a refresh does nothing until the provider's next run.
func (s *Service) RegisterProvider(provider string, refresh ProviderRefresher) {
	s.providers.mu.Lock()
	defer s.providers.mu.Unlock()
	if s.providers.refreshers == nil {
		s.providers.refreshers = map[string]ProviderRefresher{}
	}
	s.providers.refreshers[provider] = refresh
}

func (s *Service) providerRefresher(sourceName string) ProviderRefresher {
	s.providers.mu.Lock()
	defer s.providers.mu.Unlock()
	return s.providers.refreshers[providerOf(sourceName)]
}

// ProviderResult is what applying a provider's sources did.
type ProviderResult struct {
	Refreshed int     // sources read and applied
	Retired   int     // sources the provider no longer supplies
	Orphaned  int     // entities orphaned by retiring them
	Problems  []error // processing problems, per entity or file
}

// ApplyProvider makes sources the complete set provider supplies, as
// Backstage's full mutation of an entity provider: each source is read and
// applied through the same pipeline as a location (validation, rules,
// relations, conflicts, last good version kept), and the provider's earlier
// sources that are absent are retired: their entities become orphans,
// deleted by the next full refresh's cleanup under the delete strategy.
// Each source's Name must come from ProviderSourceName(provider, …).
func (s *Service) ApplyProvider(ctx context.Context, provider string, sources []Source) (ProviderResult, error) {
	return s.applyProvider(ctx, provider, sources, nil, true)
}

// ApplyProviderDelta reads and applies some of a provider's sources and
// retires others by name, as Backstage's delta mutation: what a webhook
// about one repository changes.
func (s *Service) ApplyProviderDelta(ctx context.Context, provider string, upsert []Source, remove []string) (ProviderResult, error) {
	return s.applyProvider(ctx, provider, upsert, remove, false)
}

func (s *Service) applyProvider(ctx context.Context, provider string, upsert []Source, remove []string, full bool) (ProviderResult, error) {
	var res ProviderResult
	if provider == "" || strings.Contains(provider, ":") {
		return res, greenroom.Errorf(greenroom.CodeInvalid, "provider name %q must be non-empty and without ':'", provider)
	}
	prefix := ProviderSourcePrefix + provider + ":"
	current := make(map[string]bool, len(upsert))
	for _, src := range upsert {
		if !strings.HasPrefix(src.Name, prefix) {
			return res, greenroom.Errorf(greenroom.CodeInvalid, "source %q is not named for provider %s (want %s…)", src.Name, provider, prefix)
		}
		current[src.Name] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range upsert {
		problems, err := s.refreshSource(ctx, src)
		if err != nil {
			return res, fmt.Errorf("catalog: provider %s: %s: %w", provider, src.Name, err)
		}
		res.Refreshed++
		res.Problems = append(res.Problems, problems...)
	}
	retire := append([]string(nil), remove...)
	if full {
		known, err := s.store.KnownSources(ctx)
		if err != nil {
			return res, fmt.Errorf("catalog: provider %s: list sources: %w", provider, err)
		}
		for _, name := range known {
			if strings.HasPrefix(name, prefix) && !current[name] {
				retire = append(retire, name)
			}
		}
	}
	for _, name := range retire {
		if !strings.HasPrefix(name, prefix) {
			return res, greenroom.Errorf(greenroom.CodeInvalid, "source %q is not named for provider %s", name, provider)
		}
		r, err := s.store.RetireSource(ctx, name)
		if err != nil {
			return res, fmt.Errorf("catalog: provider %s: retire %s: %w", provider, name, err)
		}
		s.publish(r.Changes)
		res.Retired++
		res.Orphaned += r.Orphaned
	}
	for _, p := range res.Problems {
		s.logger.Warn("catalog problem", "provider", provider, "err", p)
	}
	s.logger.Info("provider applied", "provider", provider, "full", full, "refreshed", res.Refreshed,
		"retired", res.Retired, "orphaned", res.Orphaned, "problems", len(res.Problems))
	return res, nil
}
