package github

import (
	"strings"
	"testing"

	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name         string
		in           Options
		api, graphql string
		wantErr      string // substring; "" for success
		wantHost     string
	}{
		{name: "github.com", in: Options{}, api: "https://api.github.com", graphql: "https://api.github.com/graphql", wantHost: "github.com"},
		{name: "enterprise host derives /api/v3", in: Options{Host: "ghe.acme.dev"}, api: "https://ghe.acme.dev/api/v3", graphql: "https://ghe.acme.dev/api/graphql", wantHost: "ghe.acme.dev"},
		{name: "enterprise base with trailing slash", in: Options{Host: "ghe.acme.dev", APIBaseURL: "https://ghe.acme.dev/api/v3/"}, api: "https://ghe.acme.dev/api/v3", graphql: "https://ghe.acme.dev/api/graphql"},
		{name: "explicit graphql kept", in: Options{APIBaseURL: "http://127.0.0.1:9/api/v3", GraphQLURL: "http://127.0.0.1:9/gql"}, api: "http://127.0.0.1:9/api/v3", graphql: "http://127.0.0.1:9/gql"},
		{name: "host with scheme", in: Options{Host: "https://ghe.acme.dev"}, wantErr: `host "https://ghe.acme.dev"`},
		{name: "host with a port", in: Options{Host: "ghe.acme.dev:8443"}, api: "https://ghe.acme.dev:8443/api/v3", graphql: "https://ghe.acme.dev:8443/api/graphql", wantHost: "ghe.acme.dev:8443"},
		{name: "host with a bad port", in: Options{Host: "ghe.acme.dev:http"}, wantErr: `host "ghe.acme.dev:http"`},
		{name: "relative api url", in: Options{APIBaseURL: "ghe.acme.dev/api/v3"}, wantErr: "apiBaseUrl"},
		{name: "api url with query", in: Options{APIBaseURL: "https://ghe.acme.dev/api/v3?x=1"}, wantErr: "want no query"},
		{name: "app without id and key", in: Options{App: &AppCredentials{}}, wantErr: "apps[].appId"},
		{name: "page size over 100", in: Options{RepoPageSize: 101}, wantErr: "repoPageSize 101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.APIBaseURL != tt.api || got.GraphQLURL != tt.graphql {
				t.Errorf("api, graphql = %q, %q; want %q, %q", got.APIBaseURL, got.GraphQLURL, tt.api, tt.graphql)
			}
			if tt.wantHost != "" && got.Host != tt.wantHost {
				t.Errorf("host = %q, want %q", got.Host, tt.wantHost)
			}
		})
	}
}

func TestNewRejectsBadPrivateKey(t *testing.T) {
	_, err := New(Options{App: &AppCredentials{AppID: 7, PrivateKeyPEM: config.Secret("-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----")}}, Deps{})
	if err == nil || greenroom.ErrorCode(err) != greenroom.CodeInvalid || !strings.Contains(err.Error(), "apps[7]: privateKey") {
		t.Fatalf("err = %v, want an invalid error naming apps[7]: privateKey", err)
	}
	if strings.Contains(err.Error(), "nope") {
		t.Errorf("error %q leaks key material", err)
	}
}
