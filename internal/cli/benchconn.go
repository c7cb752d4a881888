package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// loadConn is one load worker's keep-alive HTTP/1.1 connection: the
// generator shares the machine's cores with the server it measures, so a
// request costs it one write and the reads of the answer, with none of
// net/http's per-request goroutine handoffs, header maps and body
// wrappers. It speaks only what the load needs: GET, a status line,
// Content-Length or chunked bodies (and bodies ended by a close), the
// X-Greenroom-Cache header and Connection: close.
type loadConn struct {
	addr    string // host:port dialled
	host    string // Host header
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
	req     []byte
	used    bool // a request was answered on conn: a failure to write may be a stale keep-alive
}

// newLoadConn returns a connection to base (an http:// URL) that dials on
// first use; ok is false for a base it cannot serve (https), for which the
// load keeps net/http.
func newLoadConn(base string, timeout time.Duration) (lc *loadConn, ok bool) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, false
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &loadConn{addr: addr, host: u.Host, timeout: timeout}, true
}

// close closes the connection; the next request dials again.
func (lc *loadConn) close() {
	if lc.conn != nil {
		_ = lc.conn.Close()
		lc.conn, lc.used = nil, false
	}
}

// get sends GET path (path and query) and copies the body of a 200 answer
// to w, or into the error for any other status; it retries once on a
// fresh connection when a kept-alive one turns out closed before any byte
// of the answer arrived.
func (lc *loadConn) get(ctx context.Context, path string, w io.Writer) (cacheAnswer, error) {
	cache, err, retry := lc.roundTrip(ctx, path, w)
	if retry {
		cache, err, _ = lc.roundTrip(ctx, path, w)
	}
	if err != nil {
		return cache, fmt.Errorf("GET %s: %w", path, err) // roundTrip closed the connection unless the answer was whole
	}
	return cache, nil
}

func (lc *loadConn) roundTrip(ctx context.Context, path string, w io.Writer) (cache cacheAnswer, err error, retry bool) {
	if err := ctx.Err(); err != nil {
		return cacheUnknown, err, false
	}
	if lc.conn == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", lc.addr)
		if err != nil {
			return cacheUnknown, err, false
		}
		lc.conn, lc.used = c, false
		if lc.br == nil {
			lc.br = bufio.NewReaderSize(c, 32<<10)
		} else {
			lc.br.Reset(c)
		}
	}
	reused := lc.used
	_ = lc.conn.SetDeadline(time.Now().Add(lc.timeout))
	lc.req = append(append(append(append(lc.req[:0], "GET "...), path...), " HTTP/1.1\r\nHost: "...), lc.host...)
	lc.req = append(lc.req, "\r\nUser-Agent: greenroom-bench\r\n\r\n"...)
	if _, err := lc.conn.Write(lc.req); err != nil {
		lc.close()
		return cacheUnknown, err, reused
	}
	status, cache, length, chunked, closing, err := lc.readHead()
	if err != nil {
		lc.close()
		return cacheUnknown, err, reused && errors.Is(err, io.EOF)
	}
	lc.used = true
	body := w
	var errBody bytes.Buffer
	if status != 200 {
		body = &errBody
	}
	switch {
	case status == 204 || status == 304 || status/100 == 1:
	case chunked:
		err = lc.readChunked(body)
	case length >= 0:
		err = lc.copyN(body, length)
	default: // ended by the close
		_, err = io.Copy(body, io.LimitReader(lc.br, 64<<20))
		closing = true
	}
	if err != nil {
		lc.close()
		return cache, err, false
	}
	if closing {
		lc.close()
	}
	if status != 200 {
		return cache, fmt.Errorf("%d %s: %.300s", status, http.StatusText(status), errBody.Bytes()), false
	}
	return cache, nil, false
}

// readHead reads the status line and headers.
func (lc *loadConn) readHead() (status int, cache cacheAnswer, length int64, chunked, closing bool, err error) {
	length = -1
	line, err := lc.br.ReadSlice('\n')
	if err != nil {
		return 0, cacheUnknown, 0, false, false, err
	}
	// HTTP/1.x NNN reason
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, cacheUnknown, 0, false, false, fmt.Errorf("malformed status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, cacheUnknown, 0, false, false, fmt.Errorf("malformed status line %q", line)
	}
	closing = line[7] == '0' // HTTP/1.0 closes unless it says keep-alive; the load never asks it to
	for {
		line, err = lc.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, cacheUnknown, 0, false, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return status, cache, length, chunked, closing, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, cacheUnknown, 0, false, false, fmt.Errorf("malformed header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, cacheUnknown, 0, false, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			closing = asciiEqualFold(value, "close")
		case asciiEqualFold(name, "X-Greenroom-Cache"):
			switch string(value) {
			case "hit":
				cache = cacheHit
			case "miss":
				cache = cacheMiss
			}
		}
	}
}

// readChunked copies a chunked body to w and reads its trailer.
func (lc *loadConn) readChunked(w io.Writer) error {
	for {
		line, err := lc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 {
			for { // trailer, up to the empty line
				line, err := lc.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := lc.copyN(w, n); err != nil {
			return err
		}
		if _, err := lc.br.Discard(2); err != nil { // CRLF
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// copyN copies n bytes of the answer to w; io.Discard skips them in the
// reader's buffer.
func (lc *loadConn) copyN(w io.Writer, n int64) error {
	if w == io.Discard {
		_, err := lc.br.Discard(int(n))
		return err
	}
	_, err := io.CopyN(w, lc.br, n)
	return err
}
