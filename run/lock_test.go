package run

import (
	"strings"
	"testing"
)

func TestRunDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Dir(dir).Lock()
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open files, so a second open in this process conflicts too.
	if _, err := Dir(dir).Lock(); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	u2, err := Dir(dir).Lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u2()
}
