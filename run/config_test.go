package run

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sgan/internal/knobs"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestConfigPresetsValid(t *testing.T) {
	for _, name := range Presets {
		c, err := Preset(name)
		if err != nil {
			t.Fatalf("Preset(%q): %v", name, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Preset(%q).Validate: %v", name, err)
		}
	}
	if c, _ := Preset("recipe"); !reflect.DeepEqual(c, DefaultConfig()) {
		t.Errorf("recipe preset differs from DefaultConfig")
	}
	_, err := Preset("huge")
	if err == nil || !strings.Contains(err.Error(), "recipe, demo, gpu, tiny") {
		t.Errorf("Preset(huge) error = %v, want one listing the presets", err)
	}
	tiny, _ := Preset("tiny")
	if tiny.Model.Resolution != 32 || tiny.Train.BatchSize != 4 || tiny.Train.Epochs != 2 || !reflect.DeepEqual(tiny.Train.SampleEpochs, []int{2}) {
		t.Errorf("tiny preset = %+v", tiny)
	}
	// The gpu preset is NVlabs' auto configuration (train.py --cfg=auto, one GPU): keep it on
	// NVlabs' formulas if its resolution or batch change.
	gpu, _ := Preset("gpu")
	res, mb := float64(gpu.Model.Resolution), float64(gpu.Train.BatchSize)
	if mb != min(4096/res, 32) || math.Abs(gpu.Train.R1Gamma-0.0002*res*res/mb) > 1e-12 || gpu.Train.EMAKimg != mb*10/32 ||
		gpu.Model.ChannelBase != 16384 || gpu.Train.EMARampup != 0.05 || gpu.Train.Augment != "ada" {
		t.Errorf("gpu preset is off NVlabs' auto rules: %+v", gpu)
	}
	demo, _ := Preset("demo")
	if demo.Model.ChannelsAt(64) != 4 || demo.Train.SampleEpochs[len(demo.Train.SampleEpochs)-1] != demo.Train.Epochs {
		t.Errorf("demo preset: %d maps at 64, sample epochs %v", demo.Model.ChannelsAt(64), demo.Train.SampleEpochs)
	}
}

// Every config written by TOML loads back equal, over an empty base, so no key is missing.
func TestConfigTOMLRoundTrip(t *testing.T) {
	odd := DefaultConfig()
	odd.Run.Dir = `C:\runs\"x" ü`
	odd.Run.Seed = -7
	odd.Data.Root = "some/where\twith tab"
	odd.Data.Conditional = true
	odd.Data.RotateDeg = 5
	odd.Train.Schedule = []Phase{{Epochs: 3, LR: 2.5e-3, WarmupEpochs: 0.5}, {Epochs: 7, LR: 1}}
	odd.Train.Epochs = 10
	odd.Train.SampleEpochs = []int{}
	odd.Train.Eps = 1e-300
	configs := map[string]Config{"odd": odd}
	for _, name := range Presets {
		configs[name], _ = Preset(name)
	}
	dir := t.TempDir()
	for name, c := range configs {
		text := c.TOML()
		path := filepath.Join(dir, name+".toml")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadConfig(path, Config{})
		if err != nil {
			t.Fatalf("%s: LoadConfig: %v\n%s", name, err, text)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, got, c)
		}
		// Every key is defined and has a comment line above it.
		var m map[string]any
		md, err := toml.Decode(text, &m)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range tomlKeys(reflect.TypeOf(Config{}), nil) {
			if !md.IsDefined(k...) {
				t.Errorf("%s: key %s missing from TOML()", name, strings.Join(k, "."))
			}
		}
		lines := strings.Split(text, "\n")
		for i, l := range lines {
			if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "[") && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "]") {
				if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
					t.Errorf("%s: line %q has no comment above it", name, l)
				}
			}
		}
	}
}

// tomlKeys lists the leaf key paths of struct type t (slices of structs count as leaves).
func tomlKeys(t reflect.Type, prefix []string) [][]string {
	var out [][]string
	for i := range t.NumField() {
		f := t.Field(i)
		k := append(append([]string{}, prefix...), f.Tag.Get("toml"))
		if f.Type.Kind() == reflect.Struct {
			out = append(out, tomlKeys(f.Type, k)...)
		} else {
			out = append(out, k)
		}
	}
	return out
}

func TestConfigLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text string
		want       []string // substrings of the error
	}{
		{"unknown", "[train]\nbatchsize = 3\n", []string{"unknown key train.batchsize", "sgan config init"}},
		{"unknown2", "foo = 1\n[model]\nres = 2\n", []string{"unknown keys foo, model.res"}},
		{"type", "[train]\nbatch_size = \"big\"\n", []string{"train.batch_size", "line 2"}},
		{"syntax", "[train\n", []string{"line "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".toml")
			os.WriteFile(path, []byte(tt.text), 0o644)
			_, err := LoadConfig(path, DefaultConfig())
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("multi-line error %q", msg)
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(dir, "none.toml"), DefaultConfig()); err == nil {
		t.Error("missing file: no error")
	}
}

func TestConfigLoadPartialKeepsBase(t *testing.T) {
	base := DefaultConfig()
	c, err := ParseConfig("[train]\nsample_epochs = [1]\nschedule = [{epochs = 150, lr = 2e-4}]\n", base)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.BatchSize != 64 || c.Model.ZDim != 512 || len(c.Train.Schedule) != 1 || c.Train.SampleEpochs[0] != 1 {
		t.Errorf("got %+v", c.Train)
	}
	if !reflect.DeepEqual(base, DefaultConfig()) {
		t.Errorf("base was modified: %+v", base.Train)
	}
}

func TestConfigSet(t *testing.T) {
	tests := []struct {
		kv    string
		check func(Config) bool
		err   string
	}{
		{kv: "train.batch_size=32", check: func(c Config) bool { return c.Train.BatchSize == 32 }},
		{kv: "train.batch_size = 16", check: func(c Config) bool { return c.Train.BatchSize == 16 }},
		{kv: "data.root=/data/adni", check: func(c Config) bool { return c.Data.Root == "/data/adni" }},
		{kv: `data.root="quoted dir"`, check: func(c Config) bool { return c.Data.Root == "quoted dir" }},
		{kv: "run.device=cuda:1", check: func(c Config) bool { return c.Run.Device == "cuda:1" }},
		{kv: "run.dir=123", check: func(c Config) bool { return c.Run.Dir == "123" }},
		{kv: "train.loss=logistic", check: func(c Config) bool { return c.Train.Loss == "logistic" }},
		{kv: "train.ema=false", check: func(c Config) bool { return !c.Train.EMA }},
		{kv: "train.r1_gamma=2", check: func(c Config) bool { return c.Train.R1Gamma == 2 }},
		{kv: "model.resolution=128", check: func(c Config) bool { return c.Model.Resolution == 128 }},
		{kv: "train.sample_epochs=[1, 2]", check: func(c Config) bool { return reflect.DeepEqual(c.Train.SampleEpochs, []int{1, 2}) }},
		{kv: "train.schedule=[{epochs=150, lr=3e-4}]", check: func(c Config) bool { return len(c.Train.Schedule) == 1 && c.Train.Schedule[0].LR == 3e-4 }},
		{kv: "train.batchsize=3", err: "unknown key train.batchsize"},
		{kv: "train.batch_size=abc", err: "train.batch_size"},
		{kv: "train.batch_size=1.5", err: "train.batch_size"},
		{kv: "train.batch_size", err: "KEY=VALUE"},
		{kv: "=3", err: "KEY=VALUE"},
		{kv: "a b=3", err: "malformed key"},
	}
	for _, tt := range tests {
		t.Run(tt.kv, func(t *testing.T) {
			c := DefaultConfig()
			err := c.Set(tt.kv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Set error = %v, want %q", err, tt.err)
				}
				if !reflect.DeepEqual(c, DefaultConfig()) {
					t.Errorf("failed Set changed the config")
				}
				return
			}
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("Set(%q) gave %+v", tt.kv, c)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"default", func(c *Config) {}, ""},
		{"demo root", func(c *Config) { c.Data.Root = "demo" }, ""},
		{"cuda:3", func(c *Config) { c.Run.Device = "cuda:3" }, ""},
		{"device", func(c *Config) { c.Run.Device = "gpu" }, "run.device"},
		{"device cuda:", func(c *Config) { c.Run.Device = "cuda:" }, "run.device"},
		{"resolution", func(c *Config) { c.Model.Resolution = 48 }, "model.resolution"},
		{"batch", func(c *Config) { c.Train.BatchSize = 0 }, "train.batch_size"},
		{"epochs sum", func(c *Config) { c.Train.Epochs = 100 }, "train.epochs = 100: must equal the sum of train.schedule epochs (150)"},
		{"empty schedule", func(c *Config) { c.Train.Schedule = nil }, "train.schedule is empty"},
		{"lr", func(c *Config) { c.Train.Schedule[1].LR = 0 }, "train.schedule[1].lr"},
		{"warmup", func(c *Config) { c.Train.Schedule[0].WarmupEpochs = -1 }, "train.schedule[0].warmup_epochs"},
		{"loss", func(c *Config) { c.Train.Loss = "hinge" }, "train.loss"},
		{"gp", func(c *Config) { c.Train.GPLambda = -1 }, "train.gp_lambda"},
		{"r1", func(c *Config) { c.Train.R1Gamma = -1 }, "train.r1_gamma"},
		{"pl", func(c *Config) { c.Train.PLWeight = -1 }, "train.pl_weight"},
		{"ncritic", func(c *Config) { c.Train.NCritic = 0 }, "train.n_critic"},
		{"r1 interval", func(c *Config) { c.Train.R1Interval = 0 }, "train.r1_interval"},
		{"pl interval", func(c *Config) { c.Train.PLInterval = 0 }, "train.pl_interval"},
		{"mix", func(c *Config) { c.Train.StyleMixProb = 1.5 }, "train.style_mix_prob"},
		{"mix nan", func(c *Config) { c.Train.StyleMixProb = math.NaN() }, "train.style_mix_prob"},
		{"sample epochs", func(c *Config) { c.Train.SampleEpochs = []int{151} }, "train.sample_epochs"},
		{"beta2", func(c *Config) { c.Train.Beta2 = 1 }, "train.beta2"},
		{"eps", func(c *Config) { c.Train.Eps = 0 }, "train.eps"},
		{"workers", func(c *Config) { c.Data.Workers = -1 }, "data.workers"},
		{"rotate", func(c *Config) { c.Data.RotateDeg = 90 }, "data.rotate_deg"},
		{"log every", func(c *Config) { c.Train.LogEvery = 0 }, "train.log_every"},
		// Absurd values a hostile or mistyped config could carry: refused before anything is built.
		{"lr huge", func(c *Config) { c.Train.Schedule[0].LR = 1e30 }, "train.schedule[0].lr = 1e+30: must be at most 10"},
		{"lr inf", func(c *Config) { c.Train.Schedule[0].LR = math.Inf(1) }, "train.schedule[0].lr = +Inf: must be a finite number"},
		{"rotate nan", func(c *Config) { c.Data.RotateDeg = math.NaN() }, "data.rotate_deg = NaN: must be a finite number"},
		{"mapping lr inf", func(c *Config) { c.Model.MappingLRMul = math.Inf(1) }, "model.mapping_lr_mul"},
		{"ema nan", func(c *Config) { c.Train.EMAKimg = math.NaN() }, "train.ema_kimg"},
		{"z_dim 2^40", func(c *Config) { c.Model.ZDim = 1 << 40 }, "model.z_dim = 1099511627776: must be at most 4096"},
		{"width 2^40", func(c *Config) { c.Model.ChannelMax = 1 << 40 }, "model.channel_max"},
		{"base 2^40", func(c *Config) { c.Model.ChannelBase = 1 << 40 }, "model.channel_base"},
		{"resolution 2^20", func(c *Config) { c.Model.Resolution = 1 << 20 }, "model.resolution = 1048576: must be at most 1024"},
		{"threads", func(c *Config) { c.Run.Threads = 1 << 30 }, "run.threads"},
		{"grid", func(c *Config) { c.Train.SampleGrid = 100000 }, "train.sample_grid"},
		{"batch huge", func(c *Config) { c.Train.BatchSize = 1 << 40 }, "train.batch_size"},
		{"no feature maps", func(c *Config) { c.Model.ChannelBase = 32 }, "model.channel_base = 32: gives no feature maps"},
		{"critic no feature maps", func(c *Config) { c.Model.CriticChannelBase = 32 }, "model.critic_channel_base = 32: gives the critic no feature maps"},
		{"critic base 2^40", func(c *Config) { c.Model.CriticChannelBase = 1 << 40 }, "model.critic_channel_base"},
		{"diffaug", func(c *Config) { c.Train.DiffAug = "translation,zoom" }, `train.diffaug = "translation,zoom": unknown transform "zoom"`},
		{"empty dir", func(c *Config) { c.Run.Dir = "" }, "run.dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

func TestConfigCheckData(t *testing.T) {
	c := DefaultConfig()
	c.Data.Root = t.TempDir()
	if err := c.CheckData(); err != nil {
		t.Errorf("existing root: %v", err)
	}
	c.Data.Root = "/no/such/dir/x"
	if err := c.CheckData(); err == nil || err.Error() != `data.root = "/no/such/dir/x": no such folder` {
		t.Errorf("missing root: %v", err)
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	c.Data.Root = file
	if err := c.CheckData(); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("file root: %v", err)
	}
}

// TestConfigKeysDeclaredOnce: every key has a doc, and config init's comment above it states
// its default as the declaration gives it.
func TestConfigKeysDeclaredOnce(t *testing.T) {
	text := DefaultConfig().TOML()
	lines := strings.Split(text, "\n")
	for _, k := range knobs.Keys(Config{}) {
		key := k[strings.LastIndex(k, ".")+1:]
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+" = ") && i > 0 && strings.Contains(lines[i-1], "Default ") {
				found = true
				doc := strings.TrimPrefix(lines[i-1], "# ")
				if len(doc) < len("Default x.")+5 {
					t.Errorf("%s: no doc (%q)", k, doc)
				}
			}
		}
		if !found {
			t.Errorf("%s: no commented line in config init's output", k)
		}
	}
	if !strings.Contains(text, "# Images per step (global, over all data-parallel processes). Range 1 to 65536. Default 64.") {
		t.Errorf("batch_size line not derived from its declaration:\n%s", text)
	}
}

func TestConfigLRAt(t *testing.T) {
	c := DefaultConfig()
	w := DefaultConfig()
	w.Train.Schedule = []Phase{{Epochs: 10, LR: 1e-3, WarmupEpochs: 2}, {Epochs: 5, LR: 1e-4, WarmupEpochs: 1}}
	tests := []struct {
		c     Config
		epoch int
		frac  float64
		want  float64
	}{
		{c, 1, 0, 1e-4}, {c, 100, 0.99, 1e-4}, {c, 101, 0, 1e-5}, {c, 150, 1, 1e-5}, {c, 200, 0, 1e-5},
		{w, 1, 0, 0}, {w, 1, 0.5, 2.5e-4}, {w, 2, 0, 5e-4}, {w, 2, 0.5, 7.5e-4}, {w, 3, 0, 1e-3}, {w, 10, 0.5, 1e-3},
		{w, 11, 0, 0}, {w, 11, 0.5, 5e-5}, {w, 12, 0, 1e-4},
	}
	for _, tt := range tests {
		if got := tt.c.LRAt(tt.epoch, tt.frac); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("LRAt(%d, %g) = %g, want %g", tt.epoch, tt.frac, got, tt.want)
		}
	}
}

func TestConfigEMABeta(t *testing.T) {
	c := DefaultConfig()
	if got, want := c.EMABeta(64, 0), math.Pow(0.5, 64.0/10000); math.Abs(got-want) > 1e-15 {
		t.Errorf("EMABeta(64) = %g, want %g", got, want)
	}
	// Half-life: after ema_kimg*1000 images the weight of the start is one half.
	if got := math.Pow(c.EMABeta(32, 1e6), 10000.0/32); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("half-life weight %g", got)
	}
	// Ramp-up (NVlabs: ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)).
	c.Train.EMARampup = 0.05
	for _, tt := range []struct {
		shown int64
		want  float64
	}{
		{0, 0},                                // no images yet: G itself
		{64000, math.Pow(0.5, 64.0/3200)},     // 5% of 64k images = 3.2k < 10k
		{200000, math.Pow(0.5, 64.0/10000)},   // 5% = 10k: ema_kimg again
		{10000000, math.Pow(0.5, 64.0/10000)}, // capped by ema_kimg
	} {
		if got := c.EMABeta(64, tt.shown); math.Abs(got-tt.want) > 1e-15 {
			t.Errorf("ramp-up: EMABeta(64, %d) = %g, want %g", tt.shown, got, tt.want)
		}
	}
	c.Train.EMARampup = 0
	c.Train.EMA = false
	if c.EMABeta(64, 1000) != 0 {
		t.Error("EMA off: beta != 0")
	}
	c.Train.EMA, c.Train.EMAKimg = true, 0
	if c.EMABeta(64, 1000) != 0 {
		t.Error("ema_kimg 0: beta != 0")
	}
}

func TestConfigSetBadArray(t *testing.T) {
	c := DefaultConfig()
	err := c.Set("train.schedule=[{epochs=1,lr=x}]")
	if err == nil || strings.Contains(err.Error(), "got string") {
		t.Errorf("error = %v, want the TOML syntax error", err)
	}
}

func TestParseDiffAug(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    DiffAugPolicy
		wantErr bool
	}{
		{"", DiffAugPolicy{}, false},
		{"translation", DiffAugPolicy{Translation: true}, false},
		{"translation,cutout", DiffAugPolicy{Translation: true, Cutout: true}, false},
		{" color , cutout ", DiffAugPolicy{Color: true, Cutout: true}, false},
		{"translation,,color", DiffAugPolicy{Translation: true, Color: true}, false},
		{"rotate", DiffAugPolicy{}, true},
		{"Translation", DiffAugPolicy{}, true},
	} {
		got, err := ParseDiffAug(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got != tc.want) {
			t.Errorf("ParseDiffAug(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	cfg := DefaultConfig()
	cfg.Train.DiffAug = "translation,flip"
	if err := cfg.Validate(); err == nil {
		t.Error("train.diffaug with an unknown transform validated")
	}
}
