package techdocs

import (
	"encoding/json"
	"fmt"

	"greenroom/internal/greenroom"
)

// EntityDocsFromJSON reads what the service needs from a catalog entity.
func EntityDocsFromJSON(raw []byte) (EntityDocs, error) {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Title       string            `json:"title"`
			ETag        string            `json:"etag"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Owner any `json:"owner"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return EntityDocs{}, fmt.Errorf("techdocs: entity: %w", err)
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	d := EntityDocs{Name: EntityName{Namespace: ns, Kind: e.Kind, Name: e.Metadata.Name}, Title: e.Metadata.Title,
		Annotations: e.Metadata.Annotations, ETag: e.Metadata.ETag}
	if s, ok := e.Spec.Owner.(string); ok && s != "" {
		if ref, err := greenroom.ParseEntityRef(s, "group", ns); err == nil {
			d.Owner = ref.String()
		}
	}
	if d.Title == "" {
		d.Title = e.Metadata.Name
	}
	return d, nil
}

// HasDocs reports whether the entity declares docs.
func (e EntityDocs) HasDocs() bool { return e.Annotations[AnnotationRef] != "" }
