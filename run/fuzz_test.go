package run

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sgan/model"
	"sgan/torch"
)

// Fuzz targets for the two things of a run that come from files which may be hostile: the TOML
// config (written by users, and stored in every checkpoint) and the checkpoint reader. Seeds: the
// committed corpora under testdata/fuzz/<target>/ plus the f.Add calls; plain `go test` replays
// them. Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 60s -parallel 1 ./run
//
// (scripts/fuzz runs every target of the repository).

// FuzzParseConfig: ParseConfig and Validate never panic and fail with one line; a config that
// validates has finite numbers, networks within model.MaxParams, and TOML that reads back to it.
func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultConfig().TOML())
	for _, name := range Presets {
		c, err := Preset(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.TOML())
	}
	f.Add("[model]\nchannel_max = 1099511627776\nz_dim = 1099511627776\n")
	f.Add("[train]\nlr = nan\nbeta1 = inf\n")
	f.Add("a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig(text, DefaultConfig())
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if hasNonFinite(reflect.ValueOf(c)) {
			t.Fatalf("a valid config holds NaN or Inf: %+v", c)
		}
		if p := c.Model.Params(); p <= 0 || p > model.MaxParams {
			t.Fatalf("a valid config describes %d parameters: %+v", p, c.Model)
		}
		back, err := ParseConfig(c.TOML(), DefaultConfig())
		if err != nil {
			t.Fatalf("its TOML does not read back: %v\n%s", err, c.TOML())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("TOML round trip changed the config:\n%+v\n%+v", c, back)
		}
	})
}

// hasNonFinite reports a NaN or infinite float anywhere in v.
func hasNonFinite(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if hasNonFinite(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if hasNonFinite(v.Index(i)) {
				return true
			}
		}
	}
	return false
}

// fuzzModel is a generator small enough that its checkpoint seeds stay a few KB.
func fuzzModel() model.Config {
	m := model.DefaultConfig()
	m.Resolution, m.ZDim, m.WDim, m.MappingLayers, m.ChannelBase, m.ChannelMax = 8, 4, 4, 1, 16, 2
	return m
}

// fuzzCheckpoint is a real checkpoint of fuzzModel's generator (classes for num_classes 2).
func fuzzCheckpoint(tb testing.TB, classes int) []byte {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Model = fuzzModel()
	cfg.Model.NumClasses = classes
	G, err := model.NewGenerator(cfg.Model, 1, torch.CPU)
	if err != nil {
		tb.Fatal(err)
	}
	defer G.Free()
	ck := &Checkpoint{Config: cfg, Epoch: 1, Step: 3, Generator: G.Store.StateDict()}
	if classes == 2 {
		ck.Classes = []string{"AD", "NC"}
	}
	b, err := ck.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzLoadCheckpoint: LoadCheckpoint never panics and fails with one line naming the file; a
// checkpoint it accepts has a valid config, finite networks, as many class names as classes,
// and a generator that its config can take (or a one-line error saying why not).
func FuzzLoadCheckpoint(f *testing.F) {
	f.Add(fuzzCheckpoint(f, 0))
	f.Add(fuzzCheckpoint(f, 2))
	f.Add([]byte("PK\x03\x04"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "ck.pt")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ck, err := LoadCheckpoint(path)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, path) {
				t.Fatalf("error %q: want one line naming %s", msg, path)
			}
			return
		}
		defer ck.Free()
		if err := ck.Config.Validate(); err != nil {
			t.Fatalf("accepted a checkpoint whose config is invalid: %v", err)
		}
		if k := ck.Config.Model.NumClasses; k > 0 && len(ck.Classes) != k {
			t.Fatalf("num_classes %d with %d class names", k, len(ck.Classes))
		}
		if err := ck.CheckFinite(); err != nil {
			t.Fatalf("accepted a non-finite checkpoint: %v", err)
		}
		// Building the sampler allocates what the config says: only for configs near the seeds'
		// size (see the report of issue 15 on configs that the tensors do not back).
		if ck.Config.Model.Params() > 1<<16 {
			return
		}
		G, err := ck.Sampler(torch.CPU)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		G.Free()
	})
}
