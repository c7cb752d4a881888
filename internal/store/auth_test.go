package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/access/authn"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestAuthSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		s := authn.Session{IDHash: "h1", UserRef: "user:default/jane", Provider: "oidc", DisplayName: "Jane", Email: "j@example.com",
			RefreshToken: "rt", CreatedAt: now, LastSeenAt: now, RotatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := st.Session(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("session (-want +got):\n%s", diff)
		}
		// Rotation moves the row to a new hash.
		s2 := s
		s2.IDHash, s2.RotatedAt = "h2", now.Add(time.Minute)
		if err := st.UpdateSession(ctx, "h1", s2); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Session(ctx, "h1"); !greenroom.IsNotFound(err) {
			t.Errorf("old hash after rotation: %v", err)
		}
		if err := st.UpdateSession(ctx, "h1", s2); !greenroom.IsNotFound(err) {
			t.Errorf("update of a gone session: %v", err)
		}
		other := s
		other.IDHash, other.LastSeenAt = "h3", now.Add(-2*time.Hour)
		if err := st.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		expired := s
		expired.IDHash, expired.UserRef, expired.ExpiresAt = "h4", "user:default/bob", now.Add(-time.Second)
		if err := st.CreateSession(ctx, expired); err != nil {
			t.Fatal(err)
		}
		n, err := st.PurgeSessions(ctx, now, now.Add(-time.Hour))
		if err != nil || n != 2 {
			t.Errorf("purge: %d %v, want 2 (one idle, one expired)", n, err)
		}
		if _, err := st.Session(ctx, "h2"); err != nil {
			t.Errorf("live session purged: %v", err)
		}
		if err := st.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		n, err = st.DeleteUserSessions(ctx, "user:default/jane")
		if err != nil || n != 2 {
			t.Errorf("delete user sessions: %d %v", n, err)
		}
		if err := st.DeleteSession(ctx, "missing"); err != nil {
			t.Errorf("delete missing: %v", err)
		}
	})
}

func TestAuthFlowsTakenOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		f := authn.Flow{StateHash: "s1", Provider: "github", Nonce: "n", Verifier: "v", ReturnTo: "/catalog", ExpiresAt: time.Now().UTC().Add(time.Minute).Truncate(time.Millisecond)}
		if err := st.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		// Concurrent callbacks with the same state: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := st.TakeFlow(ctx, "s1")
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
					if diff := cmp.Diff(f, got); diff != "" {
						t.Errorf("flow (-want +got):\n%s", diff)
					}
				} else if !greenroom.IsNotFound(err) {
					t.Errorf("take: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d callbacks took the flow, want 1", wins)
		}
	})
}

func TestAuthTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		now := time.Now().UTC().Truncate(time.Millisecond)
		tok := authn.Token{ID: "t1", Kind: authn.TokenPersonal, Subject: "user:default/jane", Name: "laptop", Hash: "abc",
			Scopes: []string{"read"}, CreatedBy: "user:default/jane", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		dup := tok
		dup.ID = "t2"
		if err := st.CreateToken(ctx, dup); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("duplicate hash: %v", err)
		}
		svc := authn.Token{ID: "t3", Kind: authn.TokenService, Subject: "service:ci", Name: "ci", Hash: "def",
			CreatedBy: "user:default/jane", CreatedAt: now.Add(time.Second), ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateToken(ctx, svc); err != nil {
			t.Fatal(err)
		}
		got, err := st.TokenByHash(ctx, "abc")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tok, got); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		if _, err := st.TokenByHash(ctx, "nope"); !greenroom.IsNotFound(err) {
			t.Errorf("unknown hash: %v", err)
		}
		if err := st.TouchToken(ctx, "t1", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeToken(ctx, "t1", now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeToken(ctx, "t1", now.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeToken(ctx, "zzz", now); !greenroom.IsNotFound(err) {
			t.Errorf("revoke unknown: %v", err)
		}
		got, _ = st.Token(ctx, "t1")
		if !got.LastUsedAt.Equal(now.Add(time.Minute)) || !got.RevokedAt.Equal(now.Add(2*time.Minute)) {
			t.Errorf("last used %v, revoked %v (revoking twice keeps the first time)", got.LastUsedAt, got.RevokedAt)
		}
		all, err := st.Tokens(ctx, "")
		if err != nil || len(all) != 2 || all[0].ID != "t3" {
			t.Errorf("all tokens newest first: %+v %v", all, err)
		}
		mine, err := st.Tokens(ctx, "user:default/jane")
		if err != nil || len(mine) != 1 || mine[0].ID != "t1" {
			t.Errorf("tokens of jane: %+v %v", mine, err)
		}
	})
}
