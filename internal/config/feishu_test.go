package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFeishuConfig(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     Feishu
		problems []string
	}{
		{"defaults", "app:\n  title: x\n", Feishu{BaseURL: DefaultFeishuBaseURL,
			Conversion: FeishuConversion{HandleImages: "link", ConvertTables: true, PreserveFormatting: true}}, nil},
		{"every key", `feishu:
  baseUrl: https://open.larksuite.com/
  appId: cli_a
  appSecret: s3cret
  conversion:
    handleImages: download
    convertTables: false
    preserveComments: true
  permissionMapping:
    - feishuMember: oc_pay
      feishuRole: edit
      owner: group:default/payments
    - backstageRole: team-b
`, Feishu{BaseURL: "https://open.larksuite.com", AppID: "cli_a", AppSecret: "s3cret",
			PermissionMapping: []FeishuPermissionRule{{FeishuMember: "oc_pay", FeishuRole: "edit", Owner: "group:default/payments"}, {Owner: "team-b"}},
			Conversion:        FeishuConversion{HandleImages: "download", ConvertTables: false, PreserveComments: true, PreserveFormatting: true}}, nil},
		{"bad values", `feishu:
  baseUrl: ftp://x
  appId: cli_a
  conversion:
    handleImages: inline
  permissionMapping:
    - feishuRole: admin
      owner: group:default/x
    - feishuMember: x
    - owner: "a:/c"
  mystery: 1
`, Feishu{BaseURL: DefaultFeishuBaseURL, AppID: "cli_a",
			Conversion:        FeishuConversion{HandleImages: "link", ConvertTables: true, PreserveFormatting: true},
			PermissionMapping: []FeishuPermissionRule{{Owner: "group:default/x"}}},
			[]string{"feishu: appId and appSecret go together", "feishu.baseUrl", "feishu.conversion.handleImages",
				"feishu.mystery", "feishu.permissionMapping[0].feishuRole", "feishu.permissionMapping[1].owner",
				"feishu.permissionMapping[2].owner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "app-config.yaml")
			if err := os.WriteFile(f, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, r, _ := Load(LoadOptions{Files: []string{f}, LookupEnv: noEnv})
			if diff := cmp.Diff(tt.want, c.Feishu.Effective()); diff != "" {
				t.Errorf("Feishu (-want +got):\n%s", diff)
			}
			var got []string
			for _, p := range r.Problems {
				if strings.HasPrefix(p.Path, "feishu") {
					got = append(got, p.String())
				}
			}
			if len(got) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d", got, len(tt.problems))
			}
			for _, want := range tt.problems {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, want)
				}
				if !found {
					t.Errorf("no problem mentions %q in %q", want, got)
				}
			}
		})
	}
}

func TestFeishuSecretRedacted(t *testing.T) {
	f := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(f, []byte("feishu:\n  appId: cli_a\n  appSecret: topsecret123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := mustLoad(t, LoadOptions{Files: []string{f}})
	var out strings.Builder
	if err := c.Dump(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "topsecret123") || !strings.Contains(out.String(), "cli_a") {
		t.Errorf("dump shows the app secret, or not the app id:\n%s", out.String())
	}
}
