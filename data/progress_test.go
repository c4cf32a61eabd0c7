package data

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgressBar: off a terminal, one line at the start and at every tenth.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressBar(&buf, "build", "volumes", 20)
	for i := 0; i < 20; i++ {
		p.add(1)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 11 || lines[0] != "build: 0/20 volumes" || lines[10] != "build: 20/20 volumes" || !strings.HasPrefix(lines[1], "build: 2/20 volumes  ") {
		t.Fatalf("lines %q", lines)
	}
	var nilBar *progressBar
	nilBar.add(1) // no-op
	nilBar.finish()
	if newProgressBar(nil, "x", "y", 3) != nil || newProgressBar(&buf, "x", "y", 0) != nil {
		t.Fatal("want nil bars")
	}
}
