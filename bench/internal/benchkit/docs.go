package benchkit

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// WriteDocs replaces the section of a markdown file between the markers begin and end
// with section, stamped with today's date and the make target that measured it.
func WriteDocs(path, begin, end, target, section string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	text := string(data)
	b, e := strings.Index(text, begin), strings.Index(text, end)
	if b < 0 || e < b {
		return fmt.Errorf("%s has no section between %q and %q", path, begin, end)
	}
	stamp := fmt.Sprintf("Measured %s by `%s`.\n\n", time.Now().UTC().Format("2006-01-02"), target)
	text = text[:b+len(begin)] + "\n" + stamp + section + text[e:]
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
