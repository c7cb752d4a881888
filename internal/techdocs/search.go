package techdocs

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// searchIndex is the search/search_index.json of MkDocs' search plugin,
// which Backstage's TechDocs collator also reads.
type searchIndex struct {
	Config searchConfig  `json:"config"`
	Docs   []searchEntry `json:"docs"`
}

type searchConfig struct {
	Indexing        string   `json:"indexing"`
	Lang            []string `json:"lang"`
	MinSearchLength int      `json:"min_search_length"`
	PrebuildIndex   bool     `json:"prebuild_index"`
	Separator       string   `json:"separator"`
}

type searchEntry struct {
	Location string `json:"location"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

// searchSections splits rendered content at its headings: the first
// section (id "") is the whole page's text; each heading with an id starts
// a section holding the text up to the next heading.
func searchSections(content []byte) []searchSection {
	z := html.NewTokenizer(bytes.NewReader(content))
	secs := []searchSection{{}}
	var all strings.Builder
	cur := -1
	inHeading := false
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			s := strings.Join(strings.Fields(all.String()), " ")
			secs[0].text.WriteString(s)
			return secs
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6' {
				id := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "id" {
						id = string(v)
					}
				}
				if id != "" {
					secs = append(secs, searchSection{id: id})
					cur = len(secs) - 1
					inHeading = true
				}
			}
			if tag == "a" {
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "class" && string(v) == "headerlink" {
						skip++
					}
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6' {
				inHeading = false
			}
			if tag == "a" && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			all.WriteString(t)
			if cur >= 0 {
				if inHeading {
					secs[cur].title += t
				} else {
					secs[cur].text.WriteString(t)
				}
			}
		}
	}
}

func (b *builder) searchIndex() *searchIndex {
	idx := &searchIndex{Config: searchConfig{Indexing: "full", Lang: []string{"en"}, MinSearchLength: 3, Separator: `[\s\-]+`}}
	for _, p := range b.all {
		loc := pageURL(p.File)
		for i := range p.sections {
			s := &p.sections[i]
			if i == 0 {
				idx.Docs = append(idx.Docs, searchEntry{Location: loc, Title: p.Title, Text: s.text.String()})
				continue
			}
			idx.Docs = append(idx.Docs, searchEntry{Location: loc + "#" + s.id, Title: strings.TrimSpace(s.title),
				Text: strings.Join(strings.Fields(s.text.String()), " ")})
		}
	}
	return idx
}
