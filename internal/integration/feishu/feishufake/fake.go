// Package feishufake is a fake Feishu Open API server for tests: it answers
// the endpoints the feishu client reads with the real envelopes
// ({"code":0,"msg":"success","data":{…}}), pages every listing with opaque
// page tokens (so pages split block trees across boundaries), and can be
// told to rate-limit (HTTP 429 or code 99991400), fail, or refuse access to
// documents.
//
// It is for tests only and must not be imported by production code.
package feishufake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"greenroom/internal/feishu"
)

// Credentials the fake accepts.
const (
	AppID     = "cli_fake_app"
	AppSecret = "fake-secret"
)

// Fault is an injected failure.
type Fault string

// The faults Inject knows.
const (
	Fault429       Fault = "http429"      // HTTP 429, code 99991400
	FaultRateCode  Fault = "code99991400" // HTTP 200, code 99991400
	Fault500       Fault = "http500"
	FaultBadToken  Fault = "badtoken" // code 99991663: the token is no longer valid
	FaultTruncated Fault = "truncated"
)

// Server is the fake. Its fields may be set before the first request.
type Server struct {
	*httptest.Server

	// BlockPageSize and FilePageSize cap the page sizes the fake serves
	// (smaller than the client asks, to cross page boundaries). Defaults
	// 500 and 200.
	BlockPageSize int
	FilePageSize  int
	// TokenExpire is the lifetime announced for tenant tokens, in seconds.
	// Default 7200.
	TokenExpire int

	mu       sync.Mutex
	docs     map[string]feishu.Dump
	folders  map[string][]feishu.File // folder token -> items
	media    map[string]feishu.Media
	users    map[string]string
	members  map[string][]feishu.Member
	denied   map[string]bool
	broken   map[string]bool
	comments map[string]map[string]string
	tokens   map[string]bool
	issued   int
	faults   []Fault
	requests map[string]int
	log      []string
}

// New starts a fake with an empty root folder; Close it when done.
func New() *Server {
	s := &Server{
		BlockPageSize: 500, FilePageSize: 200, TokenExpire: 7200,
		docs: map[string]feishu.Dump{}, folders: map[string][]feishu.File{"": nil},
		media: map[string]feishu.Media{}, users: map[string]string{}, members: map[string][]feishu.Member{},
		denied: map[string]bool{}, broken: map[string]bool{}, comments: map[string]map[string]string{}, tokens: map[string]bool{}, requests: map[string]int{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddFolder adds a folder named name with token under parent ("" is the
// root).
func (s *Server) AddFolder(parent, token, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.folders[parent] = append(s.folders[parent], feishu.File{Token: token, Name: name, Type: "folder", ParentToken: parent})
	if _, ok := s.folders[token]; !ok {
		s.folders[token] = nil
	}
}

// AddFile adds a non-docx item (sheet, file…) to a folder.
func (s *Server) AddFile(folder string, f feishu.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.ParentToken = folder
	s.folders[folder] = append(s.folders[folder], f)
}

// AddDocument adds a docx document to a folder. Its blocks are served in
// the given order, which should be the pre-order the API uses.
func (s *Server) AddDocument(folder string, d feishu.Dump) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := d.Document.DocumentID
	s.docs[id] = d
	s.folders[folder] = append(s.folders[folder], feishu.File{Token: id, Name: d.Document.Title, Type: "docx",
		ParentToken: folder, URL: s.URL + "/docx/" + id})
}

// AddMedia adds a downloadable media file.
func (s *Server) AddMedia(token string, m feishu.Media) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[token] = m
}

// AddUser adds a user name for contact lookups.
func (s *Server) AddUser(openID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[openID] = name
}

// SetMembers sets a document's collaborators.
func (s *Server) SetMembers(token string, m []feishu.Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[token] = m
}

// Deny makes the document answer "forbidden" (code 1770032) to the app.
func (s *Server) Deny(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[token] = true
}

// AddComment adds a comment (one reply with text) to a document.
func (s *Server) AddComment(doc, commentID, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.comments[doc] == nil {
		s.comments[doc] = map[string]string{}
	}
	s.comments[doc][commentID] = text
}

// Break makes the document's blocks answer HTTP 500 every time.
func (s *Server) Break(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken[token] = true
}

// Inject makes the next API requests (token requests excluded) fail with
// the faults, one each, in order.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Requests returns how many requests each endpoint (method and path
// pattern) got.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// Log returns every request line received, in order.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// TokensIssued returns how many tenant tokens were handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// LoadDumps reads every {document, blocks} JSON file of dir (the public
// samples' shape).
func LoadDumps(dir string) ([]feishu.Dump, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []feishu.Dump
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d feishu.Dump
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ok(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "success", "data": data})
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "msg": msg, "error": map[string]any{"log_id": "fake"}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/open-apis/")
	pattern := route(path)
	s.mu.Lock()
	s.requests[r.Method+" "+pattern]++
	s.log = append(s.log, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()
	if pattern == "auth/v3/tenant_access_token/internal" {
		s.token(w, r)
		return
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	valid := s.tokens[tok]
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	if fault == FaultBadToken {
		delete(s.tokens, tok)
	}
	s.mu.Unlock()
	if !valid && fault == "" {
		fail(w, http.StatusBadRequest, 99991663, "Invalid access token for authorization. Please make a request with token attached.")
		return
	}
	switch fault {
	case Fault429:
		w.Header().Set("x-ogw-ratelimit-limit", "5")
		w.Header().Set("x-ogw-ratelimit-reset", "0")
		fail(w, http.StatusTooManyRequests, 99991400, "request trigger frequency limit")
		return
	case FaultRateCode:
		fail(w, http.StatusOK, 99991400, "request trigger frequency limit")
		return
	case Fault500:
		fail(w, http.StatusInternalServerError, 1770001, "internal error")
		return
	case FaultBadToken:
		fail(w, http.StatusBadRequest, 99991663, "Invalid access token for authorization.")
		return
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"code":0,"msg":"success","data":{"items":[`))
		return
	}
	parts := strings.Split(path, "/")
	switch {
	case pattern == "drive/v1/files":
		s.files(w, r)
	case pattern == "docx/v1/documents/:id":
		s.document(w, parts[3])
	case pattern == "docx/v1/documents/:id/blocks":
		s.blocks(w, r, parts[3])
	case pattern == "drive/v1/medias/:token/download":
		s.download(w, parts[3])
	case pattern == "contact/v3/users/:id":
		s.user(w, parts[3])
	case pattern == "drive/v1/permissions/:token/members":
		s.membersOf(w, parts[3])
	case pattern == "drive/v1/files/:token/comments":
		s.commentsOf(w, parts[3])
	default:
		fail(w, http.StatusNotFound, 404, "404 page not found")
	}
}

// route names the endpoint of a path for counting.
func route(p string) string {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) == 4 && parts[0] == "docx" && parts[2] == "documents":
		return "docx/v1/documents/:id"
	case len(parts) == 5 && parts[0] == "docx" && parts[4] == "blocks":
		return "docx/v1/documents/:id/blocks"
	case len(parts) == 5 && parts[2] == "medias" && parts[4] == "download":
		return "drive/v1/medias/:token/download"
	case len(parts) == 4 && parts[0] == "contact" && parts[2] == "users":
		return "contact/v3/users/:id"
	case len(parts) == 5 && parts[2] == "permissions" && parts[4] == "members":
		return "drive/v1/permissions/:token/members"
	case len(parts) == 5 && parts[2] == "files" && parts[4] == "comments":
		return "drive/v1/files/:token/comments"
	}
	return p
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AppID     string `json:"app_id"`
		AppSecret string `json:"app_secret"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		fail(w, http.StatusBadRequest, 10003, "invalid param")
		return
	}
	if body.AppID != AppID || body.AppSecret != AppSecret {
		fail(w, http.StatusBadRequest, 10014, "app secret invalid")
		return
	}
	s.mu.Lock()
	s.issued++
	tok := fmt.Sprintf("t-fake-%d", s.issued)
	s.tokens[tok] = true
	expire := s.TokenExpire
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": expire})
}

// pageToken encodes an offset opaquely, as Feishu's tokens are opaque.
func pageToken(scope string, off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(scope + "|" + strconv.Itoa(off)))
}

func pageOffset(scope, tok string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, n, found := strings.Cut(string(b), "|")
	off, err := strconv.Atoi(n)
	return off, found && s == scope && err == nil && off >= 0
}

func pageSize(r *http.Request, max int) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page_size"))
	if err != nil || n <= 0 || n > max {
		return max
	}
	return n
}

func (s *Server) files(w http.ResponseWriter, r *http.Request) {
	folder := r.URL.Query().Get("folder_token")
	s.mu.Lock()
	items, exists := s.folders[folder]
	items = append([]feishu.File(nil), items...)
	size := pageSize(r, s.FilePageSize)
	s.mu.Unlock()
	if !exists {
		fail(w, http.StatusNotFound, 1061007, "file has been delete")
		return
	}
	off, valid := pageOffset("files:"+folder, r.URL.Query().Get("page_token"))
	if !valid {
		fail(w, http.StatusBadRequest, 1061002, "params error: page_token")
		return
	}
	end := min(off+size, len(items))
	var out []map[string]any
	for _, f := range items[min(off, len(items)):end] {
		out = append(out, map[string]any{"token": f.Token, "name": f.Name, "type": f.Type, "parent_token": f.ParentToken,
			"url": f.URL, "created_time": "1700000000", "modified_time": "1700000600", "owner_id": "ou_owner"})
	}
	data := map[string]any{"files": out, "has_more": end < len(items)}
	if end < len(items) {
		data["next_page_token"] = pageToken("files:"+folder, end)
	}
	ok(w, data)
}

func (s *Server) doc(w http.ResponseWriter, id string) (feishu.Dump, bool) {
	s.mu.Lock()
	d, exists := s.docs[id]
	denied := s.denied[id]
	s.mu.Unlock()
	switch {
	case denied:
		fail(w, http.StatusForbidden, 1770032, "forBidden")
		return d, false
	case !exists:
		fail(w, http.StatusNotFound, 1770002, "not found")
		return d, false
	}
	return d, true
}

func (s *Server) document(w http.ResponseWriter, id string) {
	if d, found := s.doc(w, id); found {
		ok(w, map[string]any{"document": d.Document})
	}
}

func (s *Server) blocks(w http.ResponseWriter, r *http.Request, id string) {
	d, found := s.doc(w, id)
	if !found {
		return
	}
	s.mu.Lock()
	size := pageSize(r, s.BlockPageSize)
	broken := s.broken[id]
	s.mu.Unlock()
	if broken {
		fail(w, http.StatusInternalServerError, 1770001, "internal error")
		return
	}
	off, valid := pageOffset("blocks:"+id, r.URL.Query().Get("page_token"))
	if !valid {
		fail(w, http.StatusBadRequest, 1770001, "invalid param: page_token")
		return
	}
	end := min(off+size, len(d.Blocks))
	data := map[string]any{"items": d.Blocks[min(off, len(d.Blocks)):end], "has_more": end < len(d.Blocks)}
	if end < len(d.Blocks) {
		data["page_token"] = pageToken("blocks:"+id, end)
	}
	ok(w, data)
}

func (s *Server) download(w http.ResponseWriter, token string) {
	s.mu.Lock()
	m, found := s.media[token]
	s.mu.Unlock()
	if !found {
		fail(w, http.StatusNotFound, 1061044, "parent node not exist")
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	if m.FileName != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+m.FileName+`"`)
	}
	_, _ = w.Write(m.Data)
}

func (s *Server) user(w http.ResponseWriter, id string) {
	s.mu.Lock()
	name, found := s.users[id]
	s.mu.Unlock()
	if !found {
		fail(w, http.StatusBadRequest, 41050, "no user authority error")
		return
	}
	ok(w, map[string]any{"user": map[string]any{"open_id": id, "name": name}})
}

func (s *Server) membersOf(w http.ResponseWriter, token string) {
	s.mu.Lock()
	m := s.members[token]
	denied := s.denied[token]
	s.mu.Unlock()
	if denied {
		fail(w, http.StatusForbidden, 1063002, "Permission denied.")
		return
	}
	var items []map[string]any
	for _, x := range m {
		items = append(items, map[string]any{"member_type": x.MemberType, "member_id": x.MemberID, "perm": x.Perm, "name": x.Name, "type": "user"})
	}
	ok(w, map[string]any{"items": items})
}

func (s *Server) commentsOf(w http.ResponseWriter, doc string) {
	s.mu.Lock()
	cs := s.comments[doc]
	ids := make([]string, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var items []map[string]any
	for _, id := range ids {
		items = append(items, map[string]any{"comment_id": id, "is_solved": false, "reply_list": map[string]any{
			"replies": []any{map[string]any{"reply_id": id + "-r", "content": map[string]any{"elements": []any{
				map[string]any{"type": "text_run", "text_run": map[string]any{"text": cs[id]}}}}}}}})
	}
	s.mu.Unlock()
	ok(w, map[string]any{"items": items, "has_more": false})
}
