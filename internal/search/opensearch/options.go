package opensearch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"greenroom/internal/config"
)

// Dialect says which server the engine talks to. Only tests use
// DialectZinc: ZincSearch serves the Elasticsearch API the tests run
// against, with a few differences (see dialect.go).
type Dialect int

// Dialects.
const (
	DialectOpenSearch Dialect = iota // OpenSearch and Elasticsearch
	DialectZinc                      // ZincSearch (tests)
)

// Options configure a Client. Zero values take the defaults named.
type Options struct {
	// Provider is search.elasticsearch.provider: "" (a plain node),
	// "elastic" (Elastic Cloud, CloudID), "aws" (signed requests) or
	// "opensearch".
	Provider string
	// Nodes are the node URLs, tried in turn; CloudID replaces them for
	// Elastic Cloud.
	Nodes   []string
	CloudID string
	// Username/Password or APIKey authenticate (APIKey wins).
	Username string
	Password config.Secret
	APIKey   config.Secret
	// Region and Service sign AWS requests (provider aws); Credentials
	// come from the default AWS chain when nil.
	Region, Service string
	Signer          Signer
	// IndexPrefix is put in front of every index and alias name.
	IndexPrefix string
	// BatchSize bounds the documents of one bulk request. Default 1000.
	BatchSize int
	// Fuzziness is queryOptions.fuzziness: "" (Greenroom's rule: no edit
	// up to 3 letters, 1 up to 7, 2 from 8), "AUTO" or a number as text;
	// PrefixLength the letters that must match exactly.
	Fuzziness    string
	PrefixLength int
	// FragmentSize, NumFragments and FragmentDelimiter are
	// highlightOptions. Defaults 220, 1 and " ... ".
	FragmentSize      int
	NumFragments      int
	FragmentDelimiter string
	// InsecureSkipVerify is clientOptions.ssl.rejectUnauthorized: false.
	InsecureSkipVerify bool
	// Timeout bounds one HTTP attempt. Default 10 s.
	Timeout time.Duration
	// MaxRetries bounds retries of one request after 429, 5xx answers and
	// transport errors. Default 3.
	MaxRetries int
	// InitialBackoff and MaxBackoff bound the waits between retries.
	// Defaults 200 ms and 5 s.
	InitialBackoff, MaxBackoff time.Duration
	// BreakerFailures consecutive failed requests open the circuit for
	// BreakerTimeout, failing fast. Defaults 5 and 15 s.
	BreakerFailures uint32
	BreakerTimeout  time.Duration
	// Dialect is the server kind; tests set DialectZinc.
	Dialect Dialect
	// HTTP is the client used (its Transport); nil builds one.
	HTTP   *http.Client
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 10*time.Second)
	def(&o.InitialBackoff, 200*time.Millisecond)
	def(&o.MaxBackoff, 5*time.Second)
	def(&o.BreakerTimeout, 15*time.Second)
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 3
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = 5
	}
	if o.FragmentSize <= 0 {
		o.FragmentSize = 220
	}
	if o.NumFragments <= 0 {
		o.NumFragments = 1
	}
	if o.FragmentDelimiter == "" {
		o.FragmentDelimiter = " ... "
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CloudID != "" && len(o.Nodes) == 0 {
		u, err := cloudURL(o.CloudID)
		if err != nil {
			return o, err
		}
		o.Nodes = []string{u}
	}
	if len(o.Nodes) == 0 {
		return o, errors.New("opensearch: no node: set search.elasticsearch.node (or cloudId)")
	}
	for i, n := range o.Nodes {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("opensearch: node %q: want an absolute http(s) URL", u.Redacted())
		}
		// Credentials in the URL (https://user:pass@host) are Backstage's
		// other way to authenticate.
		if u.User != nil && o.Username == "" && o.APIKey == "" {
			o.Username = u.User.Username()
			p, _ := u.User.Password()
			o.Password = config.Secret(p)
		}
		u.User = nil
		o.Nodes[i] = strings.TrimRight(u.String(), "/")
	}
	if o.Provider == "aws" && o.Signer == nil {
		return o, errors.New("opensearch: provider aws needs a request signer")
	}
	return o, nil
}
