package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSearchElasticsearchConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       *Elasticsearch
		uses       bool
	}{
		{"opensearch with basic auth and options", `search:
  elasticsearch:
    provider: opensearch
    node: [https://os1.example:9200/, https://os2.example:9200]
    auth: {username: greenroom, password: s3cret}
    indexPrefix: gr-
    batchSize: 500
    queryOptions: {fuzziness: AUTO, prefixLength: 1}
    highlightOptions: {fragmentSize: 300, numFragments: 2, fragmentDelimiter: " | "}
    clientOptions: {ssl: {rejectUnauthorized: false}}
`, &Elasticsearch{Provider: "opensearch", Nodes: []string{"https://os1.example:9200", "https://os2.example:9200"},
			Username: "greenroom", Password: "s3cret", IndexPrefix: "gr-", BatchSize: 500, Fuzziness: "AUTO", PrefixLength: 1,
			FragmentSize: 300, NumFragments: 2, FragmentDelimiter: " | "}, true},
		{"plain node with an api key and a number fuzziness", "search:\n  elasticsearch:\n    node: http://localhost:9200\n    auth: {apiKey: a2V5}\n    queryOptions: {fuzziness: 1}\n",
			&Elasticsearch{Nodes: []string{"http://localhost:9200"}, APIKey: "a2V5", Fuzziness: "1", RejectUnauthorized: true}, true},
		{"aws", "search:\n  elasticsearch:\n    provider: aws\n    node: https://x.eu-west-1.es.amazonaws.com\n    region: eu-west-1\n    service: aoss\n",
			&Elasticsearch{Provider: "aws", Nodes: []string{"https://x.eu-west-1.es.amazonaws.com"}, Region: "eu-west-1", Service: "aoss", RejectUnauthorized: true}, true},
		{"elastic cloud", "search:\n  elasticsearch:\n    provider: elastic\n    cloudId: 'gr:ZXUtd2VzdC0xLmF3cy5mb3VuZC5pbyRhYmMkZGVm'\n    auth: {username: elastic, password: pw}\n",
			&Elasticsearch{Provider: "elastic", CloudID: "gr:ZXUtd2VzdC0xLmF3cy5mb3VuZC5pbyRhYmMkZGVm", Username: "elastic", Password: "pw", RejectUnauthorized: true}, true},
		{"embedded wins when said", "search:\n  engine: embedded\n  elasticsearch:\n    node: http://localhost:9200\n",
			&Elasticsearch{Nodes: []string{"http://localhost:9200"}, RejectUnauthorized: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustLoad(t, LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}})
			if diff := cmp.Diff(tt.want, cfg.Search.Elasticsearch); diff != "" {
				t.Errorf("elasticsearch (-want +got):\n%s", diff)
			}
			if got := cfg.Search.UsesElasticsearch(); got != tt.uses {
				t.Errorf("UsesElasticsearch = %v, want %v", got, tt.uses)
			}
		})
	}
}

func TestSearchElasticsearchConfigErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"search:\n  elasticsearch:\n    provider: solr\n    node: http://x\n":                      "search.elasticsearch.provider: expected one of elastic, aws, opensearch",
		"search:\n  elasticsearch:\n    auth: {username: u, password: p}\n":                        "search.elasticsearch.node: a node URL is required",
		"search:\n  elasticsearch:\n    node: ftp://x\n":                                           "search.elasticsearch.node: expected an absolute http:// or https:// URL",
		"search:\n  elasticsearch:\n    node: http://x\n    auth: {username: u}\n":                 "username and password go together",
		"search:\n  elasticsearch:\n    provider: elastic\n    auth: {username: u, password: p}\n": "provider elastic needs cloudId",
		"search:\n  elasticsearch:\n    node: http://x\n    batchSize: 0\n":                        "search.elasticsearch.batchSize: expected an integer between 1 and 10000",
		"search:\n  elasticsearch:\n    node: http://x\n    queryOptions: {fuzziness: 5}\n":        "expected AUTO or an edit distance 0, 1 or 2",
		"search:\n  elasticsearch:\n    node: http://x\n    indexPrefix: Greenroom\n":              "index names are lowercase",
		"search:\n  engine: elasticsearch\n":                                                       "engine elasticsearch needs the search.elasticsearch section",
	} {
		_, _, err := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", yaml)}, LookupEnv: noEnv})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", yaml, err, want)
		}
	}
}

func TestSearchElasticsearchSecretsRedacted(t *testing.T) {
	cfg, _ := mustLoad(t, LoadOptions{Files: []string{writeConfig(t, "app-config.yaml",
		"search:\n  elasticsearch:\n    node: http://x\n    auth: {username: u, password: hunter22}\n")}})
	var b strings.Builder
	if err := cfg.Dump(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "hunter22") {
		t.Errorf("dump shows the password:\n%s", b.String())
	}
	if s := cfg.Search.Elasticsearch.Password.String(); s == "hunter22" {
		t.Error("Secret prints its value")
	}
}

func TestSearchElasticsearchNodePasswordRedacted(t *testing.T) {
	cfg, _ := mustLoad(t, LoadOptions{Files: []string{writeConfig(t, "app-config.yaml",
		"search:\n  elasticsearch:\n    node: https://u:pw123@x.example\n")}})
	var b strings.Builder
	if err := cfg.Dump(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "pw123") {
		t.Errorf("dump shows the node URL's password:\n%s", b.String())
	}
}
