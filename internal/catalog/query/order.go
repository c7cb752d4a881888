package query

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Order sorts entities by the values of one search key.
type Order struct {
	// Field is a search key such as metadata.name; it compares
	// case-insensitively, as the index keys are lowercased.
	Field string
	Desc  bool
}

// Key returns the search key the order reads.
func (o Order) Key() string { return Lower(o.Field) }

// direction is Backstage's spelling of an order direction.
func (o Order) direction() string {
	if o.Desc {
		return "desc"
	}
	return "asc"
}

// MarshalJSON encodes o as Backstage's {"field","order"}.
func (o Order) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Field string `json:"field"`
		Order string `json:"order"`
	}{o.Field, o.direction()})
}

// UnmarshalJSON decodes {"field","order"}; a missing order is ascending.
func (o *Order) UnmarshalJSON(b []byte) error {
	var v struct {
		Field *string `json:"field"`
		Order string  `json:"order"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Field == nil {
		return errors.New("an order needs a field")
	}
	switch v.Order {
	case "", "asc":
		*o = Order{Field: *v.Field}
	case "desc":
		*o = Order{Field: *v.Field, Desc: true}
	default:
		return errors.New("an order must be asc or desc")
	}
	return nil
}

// ParseOrder reads the order parameters of GET /entities, each
// "asc:<field>" or "desc:<field>", in priority order.
func ParseOrder(v url.Values) ([]Order, error) {
	var out []Order
	for _, item := range v["order"] {
		dir, field, _ := strings.Cut(item, ":")
		// Backstage matches /^(asc|desc):(.+)$/, whose dot stops at line
		// terminators.
		if (dir != "asc" && dir != "desc") || field == "" || strings.ContainsAny(field, "\n\r\u2028\u2029") {
			return nil, invalid("Invalid order parameter \"%s\", expected \"<asc or desc>:<field name>\"", item)
		}
		if err := checkText("order", field); err != nil {
			return nil, err
		}
		out = append(out, Order{Field: field, Desc: dir == "desc"})
	}
	return out, nil
}

// ParseOrderFields reads the orderField parameters of
// GET /entities/by-query, each "<field>" or "<field>,<asc|desc>".
func ParseOrderFields(v url.Values) ([]Order, error) {
	var out []Order
	for _, item := range v["orderField"] {
		parts := strings.Split(item, ",")
		o := Order{Field: parts[0]}
		if len(parts) > 1 {
			switch parts[1] {
			case "asc":
			case "desc":
				o.Desc = true
			default:
				return nil, invalid("Invalid order field order, must be asc or desc")
			}
		}
		if err := checkText("orderField", o.Field); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
