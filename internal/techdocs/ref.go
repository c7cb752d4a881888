package techdocs

import (
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"greenroom/internal/greenroom"
)

// Annotations Backstage uses for TechDocs.
const (
	AnnotationRef            = "backstage.io/techdocs-ref"
	AnnotationSourceLocation = "backstage.io/source-location"
	AnnotationLocation       = "backstage.io/managed-by-location"
	AnnotationEditURL        = "backstage.io/edit-url"
)

// Source is where an entity's docs project is: a local directory (Type
// "dir", from a file location) or a URL of a directory in a repository.
type Source struct {
	Type   string `json:"type"` // "dir" or "url"
	Target string `json:"target"`
}

// ResolveSource resolves the techdocs-ref annotation against the entity's
// source location as Backstage's getLocationForEntity does: url: refs are
// used as they are; dir: refs are resolved against
// backstage.io/source-location (else backstage.io/managed-by-location),
// as a URL relative to a url: location, or as a path that must stay in
// the directory of a file: location.
func ResolveSource(annotations map[string]string) (Source, error) {
	ref := strings.TrimSpace(annotations[AnnotationRef])
	if ref == "" {
		return Source{}, greenroom.Errorf(greenroom.CodeNotFound, "the entity has no %s annotation", AnnotationRef)
	}
	typ, target, ok := strings.Cut(ref, ":")
	if !ok || target == "" {
		return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q: want dir:<path> or url:<url>", AnnotationRef, ref)
	}
	switch typ {
	case "url":
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q: not an http(s) URL", AnnotationRef, ref)
		}
		return Source{Type: "url", Target: target}, nil
	case "dir":
	default:
		return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q: unknown type %q, want dir or url", AnnotationRef, ref, typ)
	}
	loc := annotations[AnnotationSourceLocation]
	if loc == "" {
		loc = annotations[AnnotationLocation]
	}
	ltyp, ltarget, ok := strings.Cut(loc, ":")
	if !ok || ltarget == "" {
		return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q needs the entity's %s or %s annotation", AnnotationRef, ref, AnnotationSourceLocation, AnnotationLocation)
	}
	switch ltyp {
	case "url":
		base, err := url.Parse(ltarget)
		if err != nil {
			return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "location %q: %v", loc, err)
		}
		rel, err := url.Parse(target)
		if err != nil || rel.IsAbs() {
			return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q: not a relative path", AnnotationRef, ref)
		}
		u := base.ResolveReference(rel).String()
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		return Source{Type: "url", Target: u}, nil
	case "file":
		dir := filepath.Dir(filepath.FromSlash(ltarget))
		p := filepath.Join(dir, filepath.FromSlash(target))
		if !within(dir, p) && filepath.Clean(p) != filepath.Clean(dir) {
			return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "%s %q leaves the directory of the entity's file location", AnnotationRef, ref)
		}
		return Source{Type: "dir", Target: p}, nil
	}
	return Source{}, greenroom.Errorf(greenroom.CodeInvalid, "unable to resolve location type %q of %q", ltyp, loc)
}

// EntityName is the triplet docs are stored and served under.
type EntityName struct {
	Namespace, Kind, Name string
}

// String is the lowercased entity ref, "kind:namespace/name".
func (n EntityName) String() string {
	return strings.ToLower(n.Kind + ":" + n.Namespace + "/" + n.Name)
}

// Path is Backstage's object prefix for the entity's site:
// namespace/kind/name, lowercased (legacyUseCaseSensitiveTripletPaths
// false).
func (n EntityName) Path() string {
	return path.Join(strings.ToLower(n.Namespace), strings.ToLower(n.Kind), strings.ToLower(n.Name))
}

// Valid reports whether each part is a plain name segment.
func (n EntityName) Valid() bool {
	for _, s := range []string{n.Namespace, n.Kind, n.Name} {
		if s == "" || len(s) > 253 || s == "." || s == ".." || strings.ContainsAny(s, `/\`+"\x00") {
			return false
		}
	}
	return true
}
