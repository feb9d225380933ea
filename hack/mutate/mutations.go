package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// mutation is one deliberate break of a promise, and the tests that must notice it.
type mutation struct {
	ID string
	// Promise is the promise the mutation breaks, naming the proposal or doc.
	Promise string
	// File is the file mutated, relative to the repository root.
	File string
	// Packages are the packages whose tests must fail, as go test takes them.
	Packages []string
	// Run is go test's -run regex; empty runs every test of the packages.
	Run string
	// Timeout is go test's -timeout for this mutation; zero takes the -timeout flag.
	Timeout time.Duration
	// Find occurs exactly once in File; Replace takes its place.
	Find, Replace string
	// Line is the line of "=== id" in the list, for messages.
	Line int
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// Markers of the list's format (see mutations.txt).
const (
	startMarker   = "=== "
	findMarker    = "--- find"
	replaceMarker = "--- replace"
)

// parseMutations reads the list in the format mutations.txt describes.
func parseMutations(r io.Reader) ([]mutation, error) {
	var (
		list []mutation
		cur  *mutation
		// where says what the lines being read belong to: "" (before the first
		// mutation), "header", "find" or "replace".
		where string
		block []string
		n     int
	)
	ids := map[string]bool{}
	endBlock := func() {
		switch where {
		case "find":
			cur.Find = strings.Join(trimTrailing(block, isBlank), "\n")
		case "replace":
			// Comments between two mutations follow the replace text: its trailing
			// lines that are blank or start with '#' are theirs.
			cur.Replace = strings.Join(trimTrailing(block, isBlankOrComment), "\n")
		}
		block = nil
	}
	finish := func() error {
		if cur == nil {
			return nil
		}
		endBlock()
		if err := cur.validate(); err != nil {
			return fmt.Errorf("line %d: mutation %s: %w", cur.Line, cur.ID, err)
		}
		list = append(list, *cur)
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, startMarker):
			if err := finish(); err != nil {
				return nil, err
			}
			id := strings.TrimSpace(strings.TrimPrefix(line, startMarker))
			if !idPattern.MatchString(id) {
				return nil, fmt.Errorf("line %d: id %q: want lower-case letters, digits, '.' and '-'", n, id)
			}
			if ids[id] {
				return nil, fmt.Errorf("line %d: id %s twice", n, id)
			}
			ids[id] = true
			cur, where = &mutation{ID: id, Line: n}, "header"
		case where == "header" && line == findMarker:
			where = "find"
		case where == "find" && line == replaceMarker:
			endBlock()
			where = "replace"
		case where == "find" || where == "replace":
			block = append(block, line)
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
			// Blank lines and comments, outside find and replace.
		case where == "":
			return nil, fmt.Errorf("line %d: text before the first %q line", n, strings.TrimSpace(startMarker))
		default:
			if err := cur.setField(line); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return list, nil
}

// setField sets one "key: value" line of a mutation's header.
func (m *mutation) setField(line string) error {
	key, value, ok := strings.Cut(line, ":")
	if !ok {
		return fmt.Errorf("want \"key: value\", %q or %q, got %q", findMarker, replaceMarker, line)
	}
	value = strings.TrimSpace(value)
	switch strings.TrimSpace(key) {
	case "promise":
		m.Promise = value
	case "file":
		m.File = value
	case "packages":
		m.Packages = strings.Fields(value)
	case "run":
		if _, err := regexp.Compile(value); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		m.Run = value
	case "timeout":
		d, err := time.ParseDuration(value)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeout %q: want a positive Go duration such as 3m", value)
		}
		m.Timeout = d
	default:
		return fmt.Errorf("unknown key %q (want promise, file, packages, run, timeout)", key)
	}
	return nil
}

func (m *mutation) validate() error {
	switch {
	case m.Promise == "":
		return fmt.Errorf("no promise")
	case m.File == "":
		return fmt.Errorf("no file")
	case len(m.Packages) == 0:
		return fmt.Errorf("no packages")
	case m.Find == "":
		return fmt.Errorf("no %q block, or an empty one", findMarker)
	case m.Find == m.Replace:
		return fmt.Errorf("replace is the same as find")
	}
	return nil
}

func trimTrailing(lines []string, drop func(string) bool) []string {
	for len(lines) > 0 && drop(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func isBlank(line string) bool { return strings.TrimSpace(line) == "" }

func isBlankOrComment(line string) bool { return isBlank(line) || strings.HasPrefix(line, "#") }

// apply returns the file's content with the mutation made, or why it cannot be: the find
// snippet must occur exactly once, else the list no longer matches the code (stale).
func (m *mutation) apply(content string) (string, error) {
	switch n := strings.Count(content, m.Find); n {
	case 1:
		return strings.Replace(content, m.Find, m.Replace, 1), nil
	case 0:
		return "", fmt.Errorf("find snippet not in %s", m.File)
	default:
		return "", fmt.Errorf("find snippet occurs %d times in %s", n, m.File)
	}
}
