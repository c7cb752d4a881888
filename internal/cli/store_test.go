package cli

import (
	"context"
	"encoding/json"
	"testing"

	"greenroom/internal/catalog"
	"greenroom/internal/store"
)

// storedRefreshRequestIDs opens the store after the server has exited and returns the request ids of every stored refresh job.
func storedRefreshRequestIDs(t *testing.T, opts store.Options) map[string]bool {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("reopen store: %v", err)
	}
	defer st.Close()
	rows, err := st.DB().QueryContext(ctx, "SELECT payload FROM jobs WHERE kind = '"+catalog.RefreshJobKind+"'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var req catalog.RefreshRequest
		if err := json.Unmarshal(payload, &req); err != nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		ids[req.RequestID] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
