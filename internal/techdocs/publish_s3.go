package techdocs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"greenroom/internal/greenroom"
)

// S3Options is techdocs.publisher.awsS3.
type S3Options struct {
	Bucket string
	Region string
	// Endpoint is for S3-compatible servers (MinIO); empty for AWS.
	Endpoint       string
	ForcePathStyle bool
	// AccessKeyID and SecretAccessKey, when set, are static credentials;
	// otherwise the AWS default chain (environment, profile, role) is used.
	AccessKeyID, SecretAccessKey, SessionToken string
	// BucketRootPath is a prefix inside the bucket (Backstage's
	// bucketRootPath), "" for the bucket's root.
	BucketRootPath string
}

// S3Publisher stores sites in an S3 bucket under Backstage's layout, so a
// bucket TechDocs published to is served unchanged.
type S3Publisher struct {
	client *s3.Client
	opts   S3Options
}

// NewS3Publisher returns a publisher for o. It does no I/O.
func NewS3Publisher(ctx context.Context, o S3Options) (*S3Publisher, error) {
	if o.Bucket == "" {
		return nil, greenroom.Errorf(greenroom.CodeInvalid, "techdocs: awsS3: bucketName is required")
	}
	var cfg aws.Config
	if o.AccessKeyID != "" {
		cfg = aws.Config{Region: o.Region, Credentials: credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)}
	} else {
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(o.Region)); err != nil {
			return nil, fmt.Errorf("techdocs: awsS3: %w", err)
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.ForcePathStyle
	})
	return &S3Publisher{client: client, opts: o}, nil
}

func (p *S3Publisher) prefix(n EntityName) string {
	return strings.TrimPrefix(path.Join(strings.Trim(p.opts.BucketRootPath, "/"), n.Path()), "/") + "/"
}

// Publish implements Publisher: every file is uploaded, then objects of
// the previous site that the new one lacks are deleted, as Backstage's
// publisher does, so readers see the old site until the new one is in.
func (p *S3Publisher) Publish(ctx context.Context, n EntityName, dir string) error {
	if !n.Valid() {
		return greenroom.Errorf(greenroom.CodeInvalid, "bad entity name %v", n)
	}
	files, err := siteFiles(dir)
	if err != nil {
		return fmt.Errorf("techdocs: publish %s: %w", n, err)
	}
	prefix := p.prefix(n)
	existing, err := p.list(ctx, prefix)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	// The metadata goes last: it is what says a site is there.
	for _, pass := range []bool{false, true} {
		for _, f := range files {
			if (f == MetadataFile) != pass {
				continue
			}
			if err := p.put(ctx, prefix+f, filepath.Join(dir, filepath.FromSlash(f))); err != nil {
				return err
			}
			keep[prefix+f] = true
		}
	}
	var stale []s3types.ObjectIdentifier
	for _, k := range existing {
		if !keep[k] {
			stale = append(stale, s3types.ObjectIdentifier{Key: aws.String(k)})
		}
	}
	for len(stale) > 0 {
		batch := stale[:min(len(stale), 1000)]
		stale = stale[len(batch):]
		if _, err := p.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(p.opts.Bucket), Delete: &s3types.Delete{Objects: batch, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("techdocs: awsS3: delete stale files of %s: %w", n, err)
		}
	}
	return nil
}

func (p *S3Publisher) put(ctx context.Context, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	_, err = p.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(p.opts.Bucket), Key: aws.String(key), Body: f,
		ContentLength: aws.Int64(st.Size()), ContentType: aws.String(ct)})
	if err != nil {
		return fmt.Errorf("techdocs: awsS3: upload %s: %w", key, err)
	}
	return nil
}

func (p *S3Publisher) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	pg := s3.NewListObjectsV2Paginator(p.client, &s3.ListObjectsV2Input{Bucket: aws.String(p.opts.Bucket), Prefix: aws.String(prefix)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("techdocs: awsS3: list %s: %w", prefix, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// Open implements Publisher.
func (p *S3Publisher) Open(ctx context.Context, n EntityName, file string) (io.ReadCloser, FileInfo, error) {
	f, err := cleanFile(file)
	if err != nil || !n.Valid() {
		return nil, FileInfo{}, greenroom.Errorf(greenroom.CodeNotFound, "no such docs file")
	}
	out, err := p.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.opts.Bucket), Key: aws.String(p.prefix(n) + f)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey") {
			return nil, FileInfo{}, greenroom.Errorf(greenroom.CodeNotFound, "no docs file %s for %s", f, n)
		}
		return nil, FileInfo{}, &greenroom.Error{Code: greenroom.CodeUnavailable, Message: "techdocs: awsS3: read " + f, Err: err}
	}
	fi := FileInfo{Size: aws.ToInt64(out.ContentLength)}
	if out.LastModified != nil {
		fi.ModTime = *out.LastModified
	}
	return out.Body, fi, nil
}
