package catalog

import (
	"context"
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"greenroom/internal/greenroom"
)

// defaultCatalogFilename is the file analyze-location looks for in a
// repository, as Backstage's analyzers do.
const defaultCatalogFilename = "catalog-info.yaml"

// AnalyzeLocationRequest is the body of POST /analyze-location.
type AnalyzeLocationRequest struct {
	Location LocationInput `json:"location"`
	// CatalogFilename is the file to look for in a repository;
	// catalog-info.yaml when empty.
	CatalogFilename string `json:"catalogFilename,omitempty"`
}

// AnalyzeLocationResponse is Backstage's AnalyzeLocationResponse
// (@backstage/plugin-catalog-common).
type AnalyzeLocationResponse struct {
	ExistingEntityFiles []AnalyzeExistingEntity `json:"existingEntityFiles"`
	GenerateEntities    []AnalyzeGenerateEntity `json:"generateEntities"`
}

// AnalyzeExistingEntity is an entity found at the analyzed location, with
// the file it is in and whether that file is a registered location.
type AnalyzeExistingEntity struct {
	Location     LocationInput   `json:"location"`
	IsRegistered bool            `json:"isRegistered"`
	Entity       json.RawMessage `json:"entity"`
}

// AnalyzeGenerateEntity is an entity the analyzer suggests creating, with
// the fields the user should review.
type AnalyzeGenerateEntity struct {
	Entity map[string]any       `json:"entity"`
	Fields []AnalyzeEntityField `json:"fields"`
}

// AnalyzeEntityField is one field of a suggested entity.
type AnalyzeEntityField struct {
	Field       string  `json:"field"`
	State       string  `json:"state"` // analysisSuggestedValue, analysisSuggestedNoValue or needsUserInput
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// AnalyzeLocation says what registering a url location would bring, as
// catalog-import's analyze step asks: for a catalog file (a .yaml, .yml or
// .json target) its entities; for a repository URL the entities of its
// catalog file when it has one, else a Component to create, named after the
// repository, as Backstage's RepoLocationAnalyzer suggests. Errors: a target
// that is not an http(s) URL, or a catalog file with problems: CodeInvalid;
// a catalog file that is missing: CodeNotFound.
func (s *Service) AnalyzeLocation(ctx context.Context, req AnalyzeLocationRequest) (AnalyzeLocationResponse, error) {
	if req.Location.Type != LocationTypeURL {
		return AnalyzeLocationResponse{}, greenroom.Errorf(greenroom.CodeInvalid, "analyze-location reads url locations only, got type %q", req.Location.Type)
	}
	u, err := url.Parse(req.Location.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.Location.Target) > maxLocationTarget {
		return AnalyzeLocationResponse{}, greenroom.Errorf(greenroom.CodeInvalid, "The given location.target is not a URL")
	}
	file := req.CatalogFilename
	if file == "" {
		file = defaultCatalogFilename
	}
	if len(file) > 255 || path.IsAbs(file) || path.Clean(file) != file || strings.HasPrefix(file, "../") || file == ".." || strings.ContainsAny(file, "?#") {
		return AnalyzeLocationResponse{}, greenroom.Errorf(greenroom.CodeInvalid, "catalogFilename %q is not a relative file name such as catalog-info.yaml", file)
	}
	if isCatalogFile(u.Path) {
		return s.analyzeCatalogFile(ctx, u.String(), false)
	}
	owner, name, ok := repoOwnerName(u)
	if !ok {
		return AnalyzeLocationResponse{}, greenroom.Errorf(greenroom.CodeInvalid, "%s is neither a catalog file nor a repository URL", req.Location.Target)
	}
	resp, err := s.analyzeCatalogFile(ctx, repoFileURL(u, file), true)
	if err != nil || len(resp.ExistingEntityFiles) > 0 {
		return resp, err
	}
	return AnalyzeLocationResponse{
		ExistingEntityFiles: []AnalyzeExistingEntity{},
		GenerateEntities:    []AnalyzeGenerateEntity{{Entity: componentSkeleton(u.Host, owner, name), Fields: []AnalyzeEntityField{}}},
	}, nil
}

// analyzeCatalogFile reads and validates a catalog file and the files its
// Location entities reach. When missingOK, a file that is not there gives
// an empty response instead of a not_found error.
func (s *Service) analyzeCatalogFile(ctx context.Context, fileURL string, missingOK bool) (AnalyzeLocationResponse, error) {
	empty := AnalyzeLocationResponse{ExistingEntityFiles: []AnalyzeExistingEntity{}, GenerateEntities: []AnalyzeGenerateEntity{}}
	if s.loc.urls == nil {
		return empty, greenroom.Errorf(greenroom.CodeUnavailable, "reading URLs is not configured on this server")
	}
	src := Source{Name: LocationTypeURL + ":" + fileURL, Root: fileURL}
	raws, problems := readTree(ctx, nil, fileURL, s.loc.urls)
	if len(raws) == 0 && len(problems) == 1 && greenroom.IsNotFound(problems[0]) {
		if missingOK {
			return empty, nil
		}
		return empty, greenroom.Errorf(greenroom.CodeNotFound, "%s", problems[0])
	}
	ents, problems := s.processAll(src, raws, problems)
	if err := problemsError(problems); err != nil {
		return empty, err
	}
	locs, err := s.Locations(ctx)
	if err != nil {
		return empty, err
	}
	registered := map[string]bool{}
	for _, l := range locs {
		registered[l.Type+":"+l.Target] = true
	}
	for _, e := range ents {
		empty.ExistingEntityFiles = append(empty.ExistingEntityFiles, AnalyzeExistingEntity{
			Location:     LocationInput{Type: LocationTypeURL, Target: e.file},
			IsRegistered: registered[LocationTypeURL+":"+e.file],
			Entity:       e.rec.Body,
		})
	}
	return empty, nil
}

func isCatalogFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// repoOwnerName reads owner and repository name from a repository URL, as
// git-url-parse does for the common hosts: the path up to a /tree/, /blob/
// or /-/ part, whose last segment is the name (".git" dropped) and the rest
// the owner, e.g. https://gitlab.com/group/sub/repo → group/sub, repo.
func repoOwnerName(u *url.URL) (owner, name string, ok bool) {
	var segs []string
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg == "tree" || seg == "blob" || seg == "-" || seg == "src" {
			break
		}
		segs = append(segs, seg)
	}
	if len(segs) < 2 {
		return "", "", false
	}
	name = strings.TrimSuffix(segs[len(segs)-1], ".git")
	owner = strings.Join(segs[:len(segs)-1], "/")
	if name == "" || owner == "" {
		return "", "", false
	}
	return owner, name, true
}

// repoFileURL is the URL of file in the repository or directory u names:
// under a /tree/<ref>/ path as a /blob/ of that ref, else at the default
// branch of a GitHub (/blob/HEAD/) or GitLab (/-/blob/HEAD/) repository,
// else simply below u.
func repoFileURL(u *url.URL, file string) string {
	v := *u
	v.RawQuery, v.Fragment, v.RawPath = "", "", ""
	p := strings.TrimSuffix(strings.TrimSuffix(v.Path, "/"), ".git")
	host := strings.ToLower(v.Host)
	switch {
	case strings.Contains(p, "/-/tree/"):
		p = strings.Replace(p, "/-/tree/", "/-/blob/", 1)
	case strings.Contains(p, "/tree/"):
		p = strings.Replace(p, "/tree/", "/blob/", 1)
	case strings.Contains(p, "/blob/"):
	case strings.Contains(host, "gitlab"):
		p += "/-/blob/HEAD"
	case strings.Contains(host, "github"):
		p += "/blob/HEAD"
	}
	v.Path = p + "/" + file
	return v.String()
}

// componentSkeleton is the Component RepoLocationAnalyzer suggests for a
// repository without a catalog file, with the project-slug annotation of
// the hosts it knows.
func componentSkeleton(host, owner, name string) map[string]any {
	meta := map[string]any{"name": name}
	prefix := ""
	switch h := strings.ToLower(host); {
	case h == "dev.azure.com" || strings.HasSuffix(h, ".visualstudio.com"):
		prefix = "dev.azure.com"
	case strings.Contains(h, "bitbucket"):
		prefix = "bitbucket.org"
	case strings.Contains(h, "github"):
		prefix = "github.com"
	case strings.Contains(h, "gitlab"):
		prefix = "gitlab.com"
	}
	if prefix != "" {
		meta["annotations"] = map[string]any{prefix + "/project-slug": owner + "/" + name}
	}
	return map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Component",
		"metadata":   meta,
		"spec":       map[string]any{"type": "other", "lifecycle": "unknown"},
	}
}
