package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"greenroom/internal/feishu"
	"greenroom/internal/greenroom"
	"greenroom/internal/store"
	"greenroom/internal/store/storetest"
)

func TestFeishuMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

		for i := 0; i < 3; i++ {
			m := feishu.Migration{ID: fmt.Sprintf("fm-%d", i), Status: feishu.StatusQueued,
				Request:   feishu.Request{FolderToken: "fld", TargetService: "component:default/pay", TargetDir: "/repo", Conversion: feishu.DefaultConversion()},
				CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base}
			m.Report.MigrationID = m.ID
			if err := st.CreateFeishuMigration(ctx, m); err != nil {
				t.Fatal(err)
			}

		}
		if err := st.CreateFeishuMigration(ctx, feishu.Migration{ID: "fm-0", CreatedAt: base, UpdatedAt: base}); greenroom.ErrorCode(err) != greenroom.CodeConflict {
			t.Errorf("duplicate id: %v, want conflict", err)
		}
		m, err := st.FeishuMigration(ctx, "fm-1")
		if err != nil {
			t.Fatal(err)
		}
		m.Status = feishu.StatusPartial
		m.Error = ""
		m.UpdatedAt = base.Add(time.Hour)
		m.Report = feishu.Report{MigrationID: "fm-1", SuccessCount: 2, FailureCount: 1, Warnings: []string{"w"},
			GeneratedFiles: []string{"docs/feishu/a.md"},
			Documents:      []feishu.DocumentResult{{ID: "d1", Title: "A", Status: feishu.DocMigrated, Path: "docs/feishu/a.md", Owner: "group:default/team"}},
			Files:          []feishu.WrittenFile{{Path: "docs/feishu/a.md", SHA256: "ab"}},
			Nav:            feishu.NavEdit{Block: "  - \"Feishu\":\n"}}
		if err := st.UpdateFeishuMigration(ctx, m); err != nil {
			t.Fatal(err)
		}
		got, err := st.FeishuMigration(ctx, "fm-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		list, err := st.FeishuMigrations(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != "fm-2" || list[1].ID != "fm-1" {
			t.Errorf("FeishuMigrations(2) = %v, want fm-2, fm-1", idsOf(list))
		}
		if _, err := st.FeishuMigration(ctx, "nope"); !greenroom.IsNotFound(err) {
			t.Errorf("unknown id: %v", err)
		}
		if err := st.UpdateFeishuMigration(ctx, feishu.Migration{ID: "nope", UpdatedAt: base}); !greenroom.IsNotFound(err) {
			t.Errorf("update unknown id: %v", err)
		}
	})
}

func idsOf(ms []feishu.Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
