package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"greenroom/internal/catalog"
)

type entityItem struct {
	Kind, Namespace, Name, Title, Description, Type, Owner string
}

type kindGroup struct {
	Kind     string
	Entities []entityItem
}

type homeView struct {
	Title string
	Total int
	Kinds []kindGroup
}

type entityJSON struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string `json:"name"`
		Namespace   string `json:"namespace"`
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"metadata"`
	Spec struct {
		Type  any `json:"type"`
		Owner any `json:"owner"`
	} `json:"spec"`
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	ents, err := h.catalog.Entities(r.Context(), catalog.Query{})
	if err != nil {
		return err
	}
	return h.render(w, "home.html", buildHome(h.title, ents))
}

func buildHome(title string, ents []json.RawMessage) homeView {
	byKind := map[string][]entityItem{}
	for _, raw := range ents {
		var e entityJSON
		if json.Unmarshal(raw, &e) != nil {
			continue // stored bodies are valid JSON; skip rather than fail the page
		}
		byKind[e.Kind] = append(byKind[e.Kind], entityItem{
			Kind: e.Kind, Namespace: e.Metadata.Namespace, Name: e.Metadata.Name,
			Title: e.Metadata.Title, Description: e.Metadata.Description,
			Type: str(e.Spec.Type), Owner: str(e.Spec.Owner),
		})
	}
	v := homeView{Title: title, Total: len(ents)}
	for k, list := range byKind {
		v.Kinds = append(v.Kinds, kindGroup{Kind: k, Entities: list})
	}
	order := map[string]int{"Domain": 0, "System": 1, "Component": 2, "API": 3, "Resource": 4, "Group": 5, "User": 6}
	sort.Slice(v.Kinds, func(i, j int) bool {
		oi, iok := order[v.Kinds[i].Kind]
		oj, jok := order[v.Kinds[j].Kind]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return v.Kinds[i].Kind < v.Kinds[j].Kind
	})
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}
