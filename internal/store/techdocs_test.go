package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
	"greenroom/internal/techdocs"
)

func TestTechDocsBuildRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := st.BuildRecord(ctx, "component:default/x"); greenroom.ErrorCode(err) != greenroom.CodeNotFound {
			t.Fatalf("missing record: err = %v", err)
		}
		at := time.UnixMilli(1700000000123).UTC()
		r := techdocs.BuildRecord{Entity: "component:default/x", Status: techdocs.StatusFailed, SourceKey: "k2",
			StartedAt: at, FinishedAt: at.Add(time.Second), LastSuccessAt: at.Add(-time.Hour),
			Error: "docs/index.md:3: boom", Log: "step 1\nstep 2", NotifiedKey: "k2",
			Warnings: []techdocs.Warning{{File: "docs/a.md", Line: 4, Message: "w"}}}
		if err := st.SaveBuildRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := st.BuildRecord(ctx, r.Entity)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		r.Status, r.Error, r.Warnings, r.LastSuccessAt = techdocs.StatusSuccess, "", nil, time.Time{}
		if err := st.SaveBuildRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveBuildRecord(ctx, techdocs.BuildRecord{Entity: "api:default/a", Status: techdocs.StatusPending}); err != nil {
			t.Fatal(err)
		}
		all, err := st.BuildRecords(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Entity != "api:default/a" || all[1].Status != techdocs.StatusSuccess || !all[1].LastSuccessAt.IsZero() || len(all[1].Warnings) != 0 {
			t.Errorf("records = %+v", all)
		}
		if err := st.SaveBuildRecord(ctx, techdocs.BuildRecord{}); greenroom.ErrorCode(err) != greenroom.CodeInvalid {
			t.Errorf("empty record: err = %v", err)
		}
	})
}
