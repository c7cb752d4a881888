package techdocs

import "fmt"

// Warning is a problem in a project that does not stop its build, located
// in the project (File relative to the project directory; Line 0 when the
// problem is with the whole file).
type Warning struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	switch {
	case w.File == "":
		return w.Message
	case w.Line > 0:
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
	}
	return w.File + ": " + w.Message
}
