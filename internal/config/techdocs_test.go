package config

import (
	"strings"
	"testing"
)

func TestTechDocsKeys(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, td TechDocs)
		problem string // part of the one error expected, "" for none
	}{
		{"defaults", "app: {}\n", func(t *testing.T, td TechDocs) {
			if td.BuilderMode() != "local" || td.PublisherType() != "local" || td.Builder != "" {
				t.Errorf("defaults = %+v", td)
			}
		}, ""},
		{"s3", `techdocs:
  builder: external
  generator: {runIn: docker}
  publisher:
    type: awsS3
    awsS3:
      bucketName: docs
      region: eu-west-1
      endpoint: http://127.0.0.1:9000
      s3ForcePathStyle: true
      credentials: {accessKeyId: AK, secretAccessKey: SK}
  cache: {ttl: 3600000}
`, func(t *testing.T, td TechDocs) {
			s := td.Publisher.AWSS3
			if td.Builder != "external" || td.Publisher.Type != "awsS3" || s.BucketName != "docs" || s.Region != "eu-west-1" ||
				s.Endpoint != "http://127.0.0.1:9000" || !s.S3ForcePathStyle || s.AccessKeyID.Reveal() != "AK" || s.SecretAccessKey.Reveal() != "SK" || td.CacheTTLMillis != 3600000 {
				t.Errorf("decoded = %+v", td)
			}
		}, ""},
		{"notifications", `techdocs:
  notifications:
    slack: {webhookUrl: https://hooks.slack.com/x}
    email:
      smtp: mail:25
      from: docs@acme.example
      recipients: {"Group:default/payments": [a@acme.example, b@acme.example]}
      default: ops@acme.example
`, func(t *testing.T, td TechDocs) {
			m := td.Notifications.SMTP
			if td.Notifications.SlackWebhookURL.Reveal() != "https://hooks.slack.com/x" || m.Addr != "mail:25" ||
				len(m.Recipients["group:default/payments"]) != 2 || len(m.Default) != 1 {
				t.Errorf("decoded = %+v", td.Notifications)
			}
		}, ""},
		{"bad builder", "techdocs: {builder: remote}\n", nil, "techdocs.builder: expected one of local, external"},
		{"unsupported publisher", "techdocs: {publisher: {type: googleGcs}}\n", nil, "techdocs.publisher.type: expected local or awsS3"},
		{"s3 without bucket", "techdocs: {publisher: {type: awsS3}}\n", nil, "techdocs.publisher.awsS3.bucketName"},
		{"smtp without from", "techdocs: {notifications: {email: {smtp: 'mail:25'}}}\n", nil, "techdocs.notifications.email.from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, _ := Load(LoadOptions{Files: []string{writeConfig(t, "app-config.yaml", tt.yaml)}, LookupEnv: noEnv})
			errs := lines(r, SeverityError)
			switch {
			case tt.problem == "" && len(errs) > 0:
				t.Errorf("problems %v", errs)
			case tt.problem != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.problem)):
				t.Errorf("problems %v, want one with %q", errs, tt.problem)
			}
			if tt.check != nil && c != nil {
				tt.check(t, c.TechDocs)
			}
		})
	}
}
