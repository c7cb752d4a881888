package cli

import (
	"context"
	"log/slog"
	"testing"

	"greenroom/internal/config"
	"greenroom/internal/search/opensearch"
)

func TestSearchBackendByConfig(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	es := &config.Elasticsearch{Nodes: []string{"https://u:p@search.internal:9200/"}, IndexPrefix: "prod-", RejectUnauthorized: true}
	tests := []struct {
		name   string
		cfg    config.Search
		shared bool
		alias  string
	}{
		{"default embedded", config.Search{}, false, ""},
		{"embedded said, elasticsearch set", config.Search{Engine: "embedded", Elasticsearch: es}, false, ""},
		{"elasticsearch", config.Search{Elasticsearch: es}, true, "prod-greenroom__search"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := searchBackend(context.Background(), tt.cfg, logger)
			if err != nil {
				t.Fatal(err)
			}
			if (b != nil) != tt.shared {
				t.Fatalf("backend %T, want shared %v", b, tt.shared)
			}
			if tt.shared {
				ob, ok := b.(*opensearch.Backend)
				if !ok || ob.Alias() != tt.alias {
					t.Errorf("backend %T alias %q, want %q", b, ob.Alias(), tt.alias)
				}
			}
		})
	}
	if es.Nodes[0] != "https://u:p@search.internal:9200/" {
		t.Errorf("the config's node list was changed: %v", es.Nodes)
	}
}
