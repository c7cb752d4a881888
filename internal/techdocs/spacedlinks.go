package techdocs

import (
	"bytes"
	"regexp"
)

// spacedLinkRE finds inline link and image destinations with spaces:
// "](a b.md)" or "](a b.md "title")". Python-Markdown accepts them;
// CommonMark needs them in angle brackets.
var spacedLinkRE = regexp.MustCompile(`\]\(([^()<>\s"'][^()<>\n"']*?[ ][^()<>\n"']*?)((?:[ ]+"[^"\n]*"|[ ]+'[^'\n]*')?)\)`)

// fixSpacedLinks rewrites destinations with spaces to "<a b.md>", outside
// fenced code and code spans. It adds no newline, so line numbers stay.
func fixSpacedLinks(src []byte) []byte {
	if !bytes.Contains(src, []byte("](")) {
		return src
	}
	var out bytes.Buffer
	out.Grow(len(src) + 16)
	var fence []byte
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		var line []byte
		if i < 0 {
			line, src = src, nil
		} else {
			line, src = src[:i+1], src[i+1:]
		}
		t := bytes.TrimLeft(line, " \t")
		if fence != nil {
			if bytes.HasPrefix(t, fence) {
				fence = nil
			}
			out.Write(line)
			continue
		}
		if bytes.HasPrefix(t, []byte("```")) || bytes.HasPrefix(t, []byte("~~~")) {
			n := 0
			for n < len(t) && t[n] == t[0] {
				n++
			}
			fence = t[:n]
			out.Write(line)
			continue
		}
		if !bytes.Contains(line, []byte("](")) {
			out.Write(line)
			continue
		}
		out.Write(fixLine(line))
	}
	return out.Bytes()
}

// fixLine rewrites one line's spaced destinations outside code spans.
func fixLine(line []byte) []byte {
	var out []byte
	for len(line) > 0 {
		tick := bytes.IndexByte(line, '`')
		seg := line
		if tick >= 0 {
			seg = line[:tick]
		}
		out = append(out, spacedLinkRE.ReplaceAll(seg, []byte("](<$1>$2)"))...)
		if tick < 0 {
			break
		}
		// Copy the code span (a run of n backticks up to the next run of n).
		n := 0
		for tick+n < len(line) && line[tick+n] == '`' {
			n++
		}
		rest := line[tick+n:]
		end := bytes.Index(rest, bytes.Repeat([]byte("`"), n))
		if end < 0 {
			out = append(out, line[tick:]...)
			break
		}
		out = append(out, line[tick:tick+n+end+n]...)
		line = rest[end+n:]
	}
	return out
}
