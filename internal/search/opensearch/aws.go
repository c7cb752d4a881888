package opensearch

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// awsSigner signs requests with SigV4 for Amazon OpenSearch Service
// (service es) or OpenSearch Serverless (aoss), credentials from the
// default AWS chain, as Backstage's provider aws does.
type awsSigner struct {
	creds   aws.CredentialsProvider
	region  string
	service string
	signer  *v4.Signer
}

// NewAWSSigner loads the default AWS configuration (no network I/O: the
// credentials are fetched when the first request is signed). region and
// service default to what the node's host name says
// (<name>.<region>.<service>.amazonaws.com) and then to the AWS
// configuration's region and "es".
func NewAWSSigner(ctx context.Context, node, region, service string) (Signer, error) {
	host := node
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	host, _, _ = strings.Cut(host, ":")
	if parts := strings.Split(host, "."); len(parts) >= 5 && strings.HasSuffix(host, ".amazonaws.com") {
		if region == "" {
			region = parts[len(parts)-4]
		}
		if service == "" {
			service = parts[len(parts)-3]
		}
	}
	if service == "" {
		service = "es"
	}
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("opensearch: aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("opensearch: aws: no region: set search.elasticsearch.region")
	}
	return &awsSigner{creds: cfg.Credentials, region: cfg.Region, service: service, signer: v4.NewSigner()}, nil
}

func (s *awsSigner) Sign(ctx context.Context, req *http.Request, bodyHash string) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("aws credentials: %w", err)
	}
	req.Header.Set("X-Amz-Content-Sha256", bodyHash)
	return s.signer.SignHTTP(ctx, creds, req, bodyHash, s.service, s.region, time.Now())
}
