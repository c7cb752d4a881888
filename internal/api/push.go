package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"greenroom/internal/catalog"
	"greenroom/internal/config"
	"greenroom/internal/greenroom"
)

// Pusher is what the push route needs from the catalog.
type Pusher interface {
	Push(ctx context.Context, source string, req catalog.PushRequest) (catalog.PushResult, error)
}

// PushHandler serves Greenroom's push API, POST /api/catalog/push/{source}:
// bulk upserts of entities that live outside git, by callers holding one
// of Backstage's static external access tokens (backend.auth.externalAccess).
// Without any static token configured the API is disabled and answers 403.
type PushHandler struct {
	pusher Pusher
	tokens []staticToken
	errors ErrorWriter
}

// staticToken is one usable externalAccess entry. Only a hash of the token
// is kept, so that comparisons take the same time whatever the length of
// the presented token.
type staticToken struct {
	sum          [sha256.Size]byte
	subject      string
	restrictions []config.AccessRestriction
}

// The permission a push needs, as Backstage's catalogEntityCreatePermission
// names it, for tokens whose accessRestrictions list permissions.
const (
	pushPlugin     = "catalog"
	pushPermission = "catalog.entity.create"
	pushAction     = "create"
)

// NewPush returns the push API over p, accepting the static tokens of
// access; entries of other types never match.
func NewPush(p Pusher, access []config.ExternalAccess, logger *slog.Logger) *PushHandler {
	h := &PushHandler{pusher: p, errors: ErrorWriter{Logger: logger}}
	for _, a := range access {
		if a.Type != "static" || a.Token == "" {
			continue
		}
		h.tokens = append(h.tokens, staticToken{sum: sha256.Sum256([]byte(a.Token.Reveal())), subject: a.Subject, restrictions: a.AccessRestrictions})
	}
	return h
}

// Routes registers the push route on mux.
func (h *PushHandler) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/catalog/push/{source}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.push(w, r); err != nil {
			h.errors.Write(w, r, err)
		}
	}))
}

type pushRequest struct {
	Entities []json.RawMessage `json:"entities"`
	Mode     catalog.PushMode  `json:"mode"`
}

// push authenticates the caller, then stores the entities; the response
// lists each entity's outcome, and is 200 even when some were refused.
func (h *PushHandler) push(w http.ResponseWriter, r *http.Request) error {
	subject, err := h.authenticate(w, r)
	if err != nil {
		return err
	}
	var req pushRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if greenroom.HTTPStatus(err) == http.StatusRequestEntityTooLarge {
			return err
		}
		return greenroom.Errorf(greenroom.CodeInvalid, "request body is not valid JSON for %s %s: %v", r.Method, r.URL.Path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return greenroom.Errorf(greenroom.CodeInvalid, "request body has data after the JSON object")
	}
	if req.Entities == nil {
		return greenroom.Errorf(greenroom.CodeInvalid, "request body must have entities, a list of entities")
	}
	res, err := h.pusher.Push(r.Context(), r.PathValue("source"), catalog.PushRequest{Entities: req.Entities, Mode: req.Mode, Subject: subject})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// authenticate returns the subject of the request's bearer token: 403
// when the push API is disabled, 401 without a known token, 403 when the
// token's accessRestrictions do not allow creating catalog entities.
func (h *PushHandler) authenticate(w http.ResponseWriter, r *http.Request) (string, error) {
	if len(h.tokens) == 0 {
		return "", greenroom.Errorf(greenroom.CodeForbidden, "the push API is disabled: configure a static token under backend.auth.externalAccess to enable it")
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom"`)
		return "", greenroom.Errorf(greenroom.CodeUnauthorized, "missing credentials: send Authorization: Bearer <token> with a token from backend.auth.externalAccess")
	}
	sum := sha256.Sum256([]byte(token))
	var match *staticToken
	for i := range h.tokens {
		// Every token is compared, so the time taken says nothing about
		// which one matched.
		if subtle.ConstantTimeCompare(sum[:], h.tokens[i].sum[:]) == 1 {
			match = &h.tokens[i]
		}
	}
	if match == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom", error="invalid_token"`)
		return "", greenroom.Errorf(greenroom.CodeUnauthorized, "invalid token")
	}
	if err := allowed(match.restrictions); err != nil {
		return "", err
	}
	return match.subject, nil
}

// allowed applies a token's accessRestrictions as Backstage does: with
// any, one must name the catalog plugin, and its permission names and
// actions, when listed, must include creating entities.
func allowed(rs []config.AccessRestriction) error {
	if len(rs) == 0 {
		return nil
	}
	var plugins []string
	for _, r := range rs {
		plugins = append(plugins, r.Plugin)
		if r.Plugin != pushPlugin {
			continue
		}
		if len(r.Permissions) > 0 && !slices.Contains(r.Permissions, pushPermission) {
			return greenroom.Errorf(greenroom.CodeForbidden, "this token's access to the catalog is restricted to the permissions %s, which do not include %s", strings.Join(r.Permissions, ", "), pushPermission)
		}
		if len(r.Actions) > 0 && !slices.Contains(r.Actions, pushAction) {
			return greenroom.Errorf(greenroom.CodeForbidden, "this token's access to the catalog is restricted to the actions %s, which do not include %s", strings.Join(r.Actions, ", "), pushAction)
		}
		return nil
	}
	return greenroom.Errorf(greenroom.CodeForbidden, "this token's access is restricted to plugin(s) '%s'", strings.Join(plugins, "', '"))
}
