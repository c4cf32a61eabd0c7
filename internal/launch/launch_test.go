package launch

import (
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("SGAN_DIST_TIMEOUT", "90")
	if d, err := Timeout(); err != nil || d != 90*time.Second {
		t.Errorf("SGAN_DIST_TIMEOUT=90: %v %v", d, err)
	}
	t.Setenv("SGAN_DIST_TIMEOUT", "2m")
	if d, err := Timeout(); err != nil || d != 2*time.Minute {
		t.Errorf("SGAN_DIST_TIMEOUT=2m: %v %v", d, err)
	}
	t.Setenv("SGAN_DIST_TIMEOUT", "soon")
	if _, err := Timeout(); err == nil {
		t.Error("SGAN_DIST_TIMEOUT=soon accepted")
	}
	t.Setenv("WORLD_SIZE", "2")
	t.Setenv("RANK", "2")
	if _, _, err := FromEnv(); err == nil {
		t.Error("RANK outside WORLD_SIZE accepted")
	}
}
