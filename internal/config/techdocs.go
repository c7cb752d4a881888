package config

import (
	"strings"
	"time"
)

// TechDocs is the techdocs section, with Backstage's keys.
type TechDocs struct {
	// Builder is techdocs.builder: "local" (Greenroom builds docs from
	// entity sources) or "external" (CI publishes them); "" when unset,
	// which BuilderMode reads as local.
	Builder   string
	Publisher TechDocsPublisher
	// CacheTTLMillis is techdocs.cache.ttl in milliseconds; 0 when unset.
	CacheTTLMillis int64
	// Notifications are Greenroom's own keys: who is told when docs fail
	// to build.
	Notifications TechDocsNotifications
}

// BuilderMode is Builder with its default, "local".
func (t TechDocs) BuilderMode() string {
	if t.Builder == "" {
		return "local"
	}
	return t.Builder
}

// PublisherType is Publisher.Type with its default, "local".
func (t TechDocs) PublisherType() string {
	if t.Publisher.Type == "" {
		return "local"
	}
	return t.Publisher.Type
}

// TechDocsPublisher is techdocs.publisher.
type TechDocsPublisher struct {
	Type string // "local" or "awsS3"; "" when unset (local)
	// LocalDir is publisher.local.publishDirectory; "" means
	// <data dir>/techdocs.
	LocalDir string
	AWSS3    TechDocsS3
}

// TechDocsS3 is techdocs.publisher.awsS3.
type TechDocsS3 struct {
	BucketName       string
	BucketRootPath   string
	Region           string
	Endpoint         string
	S3ForcePathStyle bool
	AccessKeyID      Secret
	SecretAccessKey  Secret
}

// TechDocsNotifications is techdocs.notifications (Greenroom keys).
type TechDocsNotifications struct {
	SlackWebhookURL Secret // notifications.slack.webhookUrl
	SMTP            TechDocsSMTP
}

// TechDocsSMTP is techdocs.notifications.email.
type TechDocsSMTP struct {
	Addr     string // host:port
	From     string
	Username string
	Password Secret
	// Recipients maps an owner ref (group:default/payments) to addresses.
	Recipients map[string][]string
	// Default receives notices of owners not in Recipients.
	Default []string
}

var techdocsPublisherTypes = []string{"local", "awsS3", "googleGcs", "azureBlobStorage", "openStackSwift"}

func init() {
	registerFeature(feature{
		// techdocs is not an owned section (yet): the config package's
		// tests use it as a free-form section in their fixtures, so its
		// unknown keys are not reported. Owning it is a one-line change
		// once those fixtures use another section.
		sections: nil,
		used: []string{
			"techdocs.builder", "techdocs.publisher", "techdocs.publisher.type",
			"techdocs.publisher.local", "techdocs.publisher.local.publishDirectory",
			"techdocs.publisher.awsS3", "techdocs.publisher.awsS3.bucketName", "techdocs.publisher.awsS3.bucketRootPath",
			"techdocs.publisher.awsS3.region", "techdocs.publisher.awsS3.endpoint", "techdocs.publisher.awsS3.s3ForcePathStyle",
			"techdocs.publisher.awsS3.credentials", "techdocs.publisher.awsS3.credentials.accessKeyId",
			"techdocs.publisher.awsS3.credentials.secretAccessKey",
			"techdocs.cache", "techdocs.cache.ttl",
			"techdocs.notifications", "techdocs.notifications.slack", "techdocs.notifications.slack.webhookUrl",
			"techdocs.notifications.email", "techdocs.notifications.email.smtp", "techdocs.notifications.email.from",
			"techdocs.notifications.email.username", "techdocs.notifications.email.password",
			"techdocs.notifications.email.recipients", "techdocs.notifications.email.default",
		},
		ignored: []string{
			"techdocs.generator", "techdocs.generator.runIn", "techdocs.generator.dockerImage", "techdocs.generator.pullImage",
			"techdocs.generator.mkdocs", "techdocs.cache.readTimeout", "techdocs.publisher.awsS3.credentials.roleArn",
			"techdocs.publisher.awsS3.sse", "techdocs.publisher.awsS3.accountId", "techdocs.legacyUseCaseSensitiveTripletPaths",
			"techdocs.publisher.googleGcs", "techdocs.publisher.azureBlobStorage", "techdocs.publisher.openStackSwift",
		},
		decode: func(d *decoder, root *node, c *Config) {
			td := d.section(root, "techdocs")
			if td == nil {
				return
			}
			d.enum(td.get("builder"), "techdocs.builder", []string{"local", "external"}, &c.TechDocs.Builder)
			if p := d.mapping(td.get("publisher"), "techdocs.publisher"); p != nil {
				d.enum(p.get("type"), "techdocs.publisher.type", techdocsPublisherTypes, &c.TechDocs.Publisher.Type)
				if t := c.TechDocs.Publisher.Type; t != "" && t != "local" && t != "awsS3" {
					n := p.get("type")
					d.ps.expected(n.pos, "techdocs.publisher.type", "local or awsS3 (the publishers Greenroom supports)", n)
				}
				if l := d.mapping(p.get("local"), "techdocs.publisher.local"); l != nil {
					d.str(l.get("publishDirectory"), "techdocs.publisher.local.publishDirectory", &c.TechDocs.Publisher.LocalDir)
				}
				if s := d.mapping(p.get("awsS3"), "techdocs.publisher.awsS3"); s != nil {
					s3 := &c.TechDocs.Publisher.AWSS3
					d.str(s.get("bucketName"), "techdocs.publisher.awsS3.bucketName", &s3.BucketName)
					d.str(s.get("bucketRootPath"), "techdocs.publisher.awsS3.bucketRootPath", &s3.BucketRootPath)
					d.str(s.get("region"), "techdocs.publisher.awsS3.region", &s3.Region)
					d.str(s.get("endpoint"), "techdocs.publisher.awsS3.endpoint", &s3.Endpoint)
					if v, ok := d.boolean(s.get("s3ForcePathStyle"), "techdocs.publisher.awsS3.s3ForcePathStyle"); ok {
						s3.S3ForcePathStyle = v
					}
					if cr := d.mapping(s.get("credentials"), "techdocs.publisher.awsS3.credentials"); cr != nil {
						var id, secret string
						d.str(cr.get("accessKeyId"), "techdocs.publisher.awsS3.credentials.accessKeyId", &id)
						d.str(cr.get("secretAccessKey"), "techdocs.publisher.awsS3.credentials.secretAccessKey", &secret)
						s3.AccessKeyID, s3.SecretAccessKey = Secret(id), Secret(secret)
					}
				}
			}
			if cache := d.mapping(td.get("cache"), "techdocs.cache"); cache != nil {
				if ttl := cache.get("ttl"); set(ttl) && ttl.kind == kindInt {
					d.integer(ttl, "techdocs.cache.ttl", "a number of milliseconds", 0, 1<<40, &c.TechDocs.CacheTTLMillis)
				} else if set(ttl) {
					var v time.Duration
					d.duration(ttl, "techdocs.cache.ttl", &v)
					c.TechDocs.CacheTTLMillis = v.Milliseconds()
				}
			}
			if n := d.mapping(td.get("notifications"), "techdocs.notifications"); n != nil {
				if sl := d.mapping(n.get("slack"), "techdocs.notifications.slack"); sl != nil {
					var u string
					d.str(sl.get("webhookUrl"), "techdocs.notifications.slack.webhookUrl", &u)
					c.TechDocs.Notifications.SlackWebhookURL = Secret(u)
				}
				if em := d.mapping(n.get("email"), "techdocs.notifications.email"); em != nil {
					m := &c.TechDocs.Notifications.SMTP
					d.str(em.get("smtp"), "techdocs.notifications.email.smtp", &m.Addr)
					d.str(em.get("from"), "techdocs.notifications.email.from", &m.From)
					d.str(em.get("username"), "techdocs.notifications.email.username", &m.Username)
					var pw string
					d.str(em.get("password"), "techdocs.notifications.email.password", &pw)
					m.Password = Secret(pw)
					m.Default = d.techdocsAddresses(em.get("default"), "techdocs.notifications.email.default")
					if r := d.mapping(em.get("recipients"), "techdocs.notifications.email.recipients"); r != nil {
						m.Recipients = map[string][]string{}
						for _, k := range r.keys {
							m.Recipients[strings.ToLower(k)] = d.techdocsAddresses(r.get(k), "techdocs.notifications.email.recipients."+k)
						}
					}
				}
			}
		},
		validate: func(d *decoder, root *node, c *Config) {
			td := root.get("techdocs")
			if td == nil {
				return
			}
			if c.TechDocs.Publisher.Type == "awsS3" && c.TechDocs.Publisher.AWSS3.BucketName == "" {
				d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: td.pos.file, Line: td.pos.line, Column: td.pos.col,
					Path: "techdocs.publisher.awsS3.bucketName", Message: "required when techdocs.publisher.type is awsS3", Expected: "a bucket name"})
			}
			if m := c.TechDocs.Notifications.SMTP; m.Addr != "" && m.From == "" {
				d.ps.list = append(d.ps.list, Problem{Severity: SeverityError, File: td.pos.file, Line: td.pos.line, Column: td.pos.col,
					Path: "techdocs.notifications.email.from", Message: "required with techdocs.notifications.email.smtp", Expected: "an address"})
			}
		},
	})
}

// techdocsAddresses reads a list of addresses, or one address.
func (d *decoder) techdocsAddresses(n *node, path string) []string {
	if !set(n) {
		return nil
	}
	if n.kind == kindString {
		return []string{n.s}
	}
	if n.kind != kindSeq {
		d.ps.expected(n.pos, path, "an address or a list of addresses", n)
		return nil
	}
	var out []string
	for _, it := range n.items {
		var s string
		if d.str(it, path+"[]", &s) {
			out = append(out, s)
		}
	}
	return out
}
