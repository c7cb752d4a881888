package authn

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"greenroom/internal/access"
	"greenroom/internal/greenroom"
)

// Cookie names. The CSRF cookie is the portal's double-submit cookie
// (internal/web/security.go), which cookie-authenticated writes must
// repeat in a header or form field.
const (
	SessionCookie = "greenroom_session"
	stateCookie   = "greenroom_auth_state"
	CSRFCookie    = "greenroom_csrf"
	CSRFHeader    = "X-CSRF-Token"
	CSRFField     = "csrf"
)

// sessionIDBytes is the entropy of a session id.
const sessionIDBytes = 32

// touchEvery limits last-seen writes to one per session per interval.
const touchEvery = time.Minute

// rotationGrace is how long the id a session rotated away from still
// finds it, for requests already in flight.
const rotationGrace = 30 * time.Second

// startSession creates a session for userRef and sets its cookie. Any
// session the browser already had is ended first: a new sign-in always
// gets a new id (no session fixation).
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, prov, userRef string, prof Profile, refreshToken string) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(r.Context(), hashOf(c.Value)); err != nil {
			return err
		}
	}
	id := randomToken(sessionIDBytes)
	now := s.now()
	ss := Session{IDHash: hashOf(id), UserRef: userRef, Provider: prov, DisplayName: prof.DisplayName, Email: prof.Email,
		RefreshToken: s.seal.seal(refreshToken), CreatedAt: now, LastSeenAt: now, RotatedAt: now, ExpiresAt: now.Add(s.opts.Session.AbsoluteTimeout)}
	if err := s.store.CreateSession(r.Context(), ss); err != nil {
		return fmt.Errorf("authn: start session: %w", err)
	}
	s.setSessionCookie(w, r, id, ss.ExpiresAt)
	// A new CSRF token too, so that one planted before sign-in (by a
	// sibling site setting cookies) is worthless after it. Same form and
	// attributes as the portal's (internal/web/security.go).
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: randomToken(32), Path: "/", HttpOnly: true, Secure: s.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: 60 * 60 * 24 * 30})
	return nil
}

func (s *Service) setSessionCookie(w http.ResponseWriter, r *http.Request, id string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode, Expires: expires, MaxAge: int(time.Until(expires) / time.Second)})
}

func (s *Service) clearCookie(w http.ResponseWriter, r *http.Request, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, HttpOnly: true, Secure: s.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// session returns the request's live session, rotating its id when it is
// due and recording activity; nil when the request has none, or an
// expired, idle, unknown or malformed one (whose cookie is then cleared).
func (s *Service) session(w http.ResponseWriter, r *http.Request) (*Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	if len(c.Value) > 100 {
		s.rejectSession(w, r, "", "malformed session cookie")
		return nil, nil
	}
	hash := hashOf(c.Value)
	ctx := r.Context()
	now := s.now()
	ss, err := s.store.Session(ctx, hash)
	if greenroom.IsNotFound(err) {
		// Rotated away from just now, maybe by another replica.
		next, rerr := s.store.RotatedTo(ctx, hash, now)
		switch {
		case rerr == nil:
			ss, err = s.store.Session(ctx, next)
		case !greenroom.IsNotFound(rerr):
			return nil, fmt.Errorf("authn: session: %w", rerr)
		}
	}
	if greenroom.IsNotFound(err) {
		s.rejectSession(w, r, "", "unknown session cookie (signed out, rotated or tampered with)")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authn: session: %w", err)
	}
	if !now.Before(ss.ExpiresAt) || now.Sub(ss.LastSeenAt) > s.opts.Session.IdleTimeout {
		if err := s.store.DeleteSession(ctx, ss.IDHash); err != nil {
			return nil, err
		}
		why := "session idle for longer than the idle timeout"
		if !now.Before(ss.ExpiresAt) {
			why = "session past its absolute timeout"
		}
		s.rejectSession(w, r, ss.UserRef, why)
		return nil, nil
	}
	switch {
	case now.Sub(ss.RotatedAt) >= s.opts.Session.RotationInterval && ss.IDHash == hash:
		old := ss.IDHash
		id := randomToken(sessionIDBytes)
		next := hashOf(id)
		// Claim the rotation first, in the store: of concurrent requests
		// (on any replica) one wins; the others keep the old id, which
		// finds the successor for rotationGrace.
		winner, err := s.store.ClaimRotation(ctx, old, next, now.Add(rotationGrace))
		if err != nil {
			return nil, err
		}
		if winner != next {
			if cur, err := s.store.Session(ctx, winner); err == nil {
				return &cur, nil
			}
			return &ss, nil // the winner has not stored its successor yet: the old one is still good
		}
		ss.IDHash, ss.RotatedAt, ss.LastSeenAt = next, now, now
		if err := s.store.UpdateSession(ctx, old, ss); err != nil {
			if greenroom.IsNotFound(err) {
				return nil, nil // signed out meanwhile
			}
			return nil, err
		}
		s.setSessionCookie(w, r, id, ss.ExpiresAt)
	case now.Sub(ss.LastSeenAt) >= touchEvery:
		ss.LastSeenAt = now
		if err := s.store.UpdateSession(ctx, ss.IDHash, ss); err != nil && !greenroom.IsNotFound(err) {
			return nil, err
		}
	}
	return &ss, nil
}

// Purge deletes expired and idle sessions and stale flows; run it
// periodically.
func (s *Service) Purge(ctx context.Context) (int, error) {
	now := s.now()
	if _, err := s.store.PurgeShared(ctx, now); err != nil {
		return 0, err
	}
	return s.store.PurgeSessions(ctx, now, now.Add(-s.opts.Session.IdleTimeout))
}

// clientIP is the address of the connection's peer, or the client's when
// backend.trustProxy trusts the proxy (the server rewrites RemoteAddr).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func requestID(r *http.Request) string { return greenroom.RequestID(r.Context()) }

// rejectSession clears a session cookie that no longer signs in, and
// audits why (once: the browser drops the cookie).
func (s *Service) rejectSession(w http.ResponseWriter, r *http.Request, userRef, reason string) {
	s.clearCookie(w, r, SessionCookie, "/")
	s.auditEvent(r, access.AuditEvent{Actor: userRef, Action: ActionSessionReject, Resource: r.Method + " " + r.URL.Path,
		Decision: access.DecisionDeny, Reason: reason})
}
