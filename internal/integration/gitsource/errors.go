package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/crypto/ssh/knownhosts"

	"greenroom/internal/greenroom"
)

// errFetchTooLarge stops a fetch whose pack exceeds Options.MaxFetchBytes.
var errFetchTooLarge = errors.New("pack exceeds the fetch size limit")

// failure turns an error of go-git or of the network into a
// *greenroom.Error with a code and a message naming the repository; the
// cause keeps errors.Is working but its text is scrubbed of secrets.
func (c *Cache) failure(ctx context.Context, ep *endpoint, op string, err error) error {
	cause := &scrubbed{msg: ep.scrub(err.Error()), err: err}
	e := func(code greenroom.Code, format string, args ...any) error {
		return &greenroom.Error{
			Code:    code,
			Message: fmt.Sprintf("gitsource: %s: %s: %s", ep.shown, op, fmt.Sprintf(format, args...)),
			Err:     cause,
		}
	}
	var keyErr *knownhosts.KeyError
	var unexpected *plumbing.UnexpectedError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return e(greenroom.CodeUnavailable, "timed out after %s", c.opts.Timeout)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("gitsource: %s: %s: %w", ep.shown, op, cause)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		if ep.auth == nil {
			return e(greenroom.CodeUnauthorized, "authentication required (HTTP 401): configure a token")
		}
		return e(greenroom.CodeUnauthorized, "authentication failed (HTTP 401): the token was not accepted")
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return e(greenroom.CodeForbidden, "access denied (HTTP 403): the credentials may not read this repository")
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return e(greenroom.CodeNotFound, "repository not found (or not visible with these credentials)")
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return e(greenroom.CodeNotFound, "the repository is empty")
	case errors.Is(err, errFetchTooLarge):
		return e(greenroom.CodeTooLarge, "the branch needs more than %d bytes of git objects", c.opts.MaxFetchBytes)
	case errors.As(err, &keyErr):
		if len(keyErr.Want) > 0 {
			return e(greenroom.CodeUnauthorized, "the server's host key does not match auth.knownHosts")
		}
		return e(greenroom.CodeUnauthorized, "the server's host key is not in auth.knownHosts")
	case strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return e(greenroom.CodeUnauthorized, "the ssh key was not accepted")
	case errors.As(err, &unexpected):
		var he *githttp.Err
		if errors.As(unexpected.Err, &he) {
			if he.StatusCode() >= 500 || he.StatusCode() == 429 {
				return e(greenroom.CodeUnavailable, "server error (HTTP %d)", he.StatusCode())
			}
			return e(greenroom.CodeInvalid, "unexpected HTTP %d: is this a git URL?", he.StatusCode())
		}
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) {
		return e(greenroom.CodeUnavailable, "cannot reach the server")
	}
	return fmt.Errorf("gitsource: %s: %s: %w", ep.shown, op, cause)
}

// scrubbed is an error whose text had secrets removed; Unwrap keeps the
// original for errors.Is and errors.As.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// limitedStorage is the clone's storage with a byte limit on the packs a
// fetch writes: go-git streams a fetched pack into PackfileWriter, so the
// limit holds before the pack is on disk in full.
type limitedStorage struct {
	*filesystem.Storage
	max int64
}

// PackfileWriter implements storer.PackfileWriter.
func (s *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &limitedWriter{w: w, left: s.max}, nil
}

type limitedWriter struct {
	w    io.WriteCloser
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errFetchTooLarge
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

func (l *limitedWriter) Close() error { return l.w.Close() }
