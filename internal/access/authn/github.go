package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"greenroom/internal/greenroom"
)

// GitHubOptions configures the github provider: auth.providers.github.<env>.
type GitHubOptions struct {
	ClientID     string
	ClientSecret string
	// EnterpriseInstanceURL is a GitHub Enterprise Server base URL; ""
	// means github.com. Its API is served under /api/v3.
	EnterpriseInstanceURL string
	CallbackURL           string
	Resolvers             []Resolver
}

type githubProvider struct {
	opts   GitHubOptions
	client *http.Client
	oauth  oauth2.Endpoint
	api    string
}

func newGitHub(o GitHubOptions, client *http.Client) *githubProvider {
	p := &githubProvider{opts: o, client: client}
	web, api := "https://github.com", "https://api.github.com"
	if o.EnterpriseInstanceURL != "" {
		web = strings.TrimRight(o.EnterpriseInstanceURL, "/")
		api = web + "/api/v3"
	}
	p.oauth = oauth2.Endpoint{AuthURL: web + "/login/oauth/authorize", TokenURL: web + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams}
	p.api = api
	return p
}

func (p *githubProvider) id() string            { return "github" }
func (p *githubProvider) title() string         { return "GitHub" }
func (p *githubProvider) resolvers() []Resolver { return p.opts.Resolvers }

func (p *githubProvider) config(redirectURL string) *oauth2.Config {
	// read:user and user:email are what Backstage's github provider asks for.
	return &oauth2.Config{ClientID: p.opts.ClientID, ClientSecret: p.opts.ClientSecret, Endpoint: p.oauth,
		RedirectURL: redirectURL, Scopes: []string{"read:user", "user:email"}}
}

func (p *githubProvider) authCodeURL(state, _, verifier, redirectURL string) (string, error) {
	return p.config(redirectURL).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

func (p *githubProvider) exchange(ctx context.Context, code, verifier, _, redirectURL string) (Profile, *oauth2.Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	tok, err := p.config(redirectURL).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Profile{}, nil, signInError("GitHub refused the authorization code", err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := p.get(ctx, tok, "/user", &user); err != nil {
		return Profile{}, nil, err
	}
	if user.Login == "" {
		return Profile{}, nil, signInError("GitHub did not say who you are", errors.New("github /user without login"))
	}
	prof := Profile{Provider: "github", Subject: fmt.Sprint(user.ID), Username: user.Login, DisplayName: user.Name, Email: user.Email}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	// The primary verified address, as the public one may be unset or
	// unverified; without the user:email grant /user's email is kept.
	if err := p.get(ctx, tok, "/user/emails", &emails); err == nil {
		for _, e := range emails {
			if e.Primary && e.Verified {
				prof.Email = e.Email
			}
		}
	}
	return prof, tok, nil
}

// errNoRefresh answers a refresh of a provider whose sessions do not
// renew upstream (GitHub OAuth apps issue no refresh tokens).
var errNoRefresh = errors.New("authn: provider has no refresh")

func (p *githubProvider) refresh(context.Context, string) (Profile, *oauth2.Token, error) {
	return Profile{}, nil, errNoRefresh
}

// maxAPIBytes bounds a GitHub API response read at sign-in.
const maxAPIBytes = 1 << 20

func (p *githubProvider) get(ctx context.Context, tok *oauth2.Token, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.api+path, nil)
	if err != nil {
		return fmt.Errorf("authn: github %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "GitHub cannot be reached. Try again later.", Err: fmt.Errorf("authn: github %s: %w", path, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBytes))
	if err != nil {
		return fmt.Errorf("authn: github %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return signInError("GitHub refused to say who you are", fmt.Errorf("github %s: status %d", path, resp.StatusCode))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return signInError("GitHub's answer was not understood", fmt.Errorf("github %s: %w", path, err))
	}
	return nil
}
