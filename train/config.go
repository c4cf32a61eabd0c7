package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"sgan/model"
)

// Config is the whole training configuration: the one TOML file that `sgan config init` writes,
// `sgan train --config` reads, and that is stored next to the outputs and inside checkpoints.
// DefaultConfig is the reference recipe; Preset gives the others.
type Config struct {
	Run   RunConfig    `toml:"run"`
	Data  DataConfig   `toml:"data"`
	Model model.Config `toml:"model"`
	Train TrainConfig  `toml:"train"`
}

// RunConfig says where outputs go and what the run executes on.
type RunConfig struct {
	Dir     string `toml:"dir"`     // output folder: checkpoints, samples, losses (default "runs/sgan")
	Seed    int64  `toml:"seed"`    // seed of weights, latents and data order (default 0)
	Device  string `toml:"device"`  // "auto" | "cpu" | "cuda" | "cuda:N" (default "auto")
	Threads int    `toml:"threads"` // CPU threads of libtorch, 0 = all cores (default 0)
	Quiet   bool   `toml:"quiet"`   // no live progress line (default false)
}

// DataConfig says which images to train on and how they are augmented.
type DataConfig struct {
	Root        string  `toml:"root"`        // "" = embedded demo data; an ADNI-layout, flat or CIFAR-10 binary folder
	Split       string  `toml:"split"`       // split folder to train on (default "train")
	HFlip       bool    `toml:"hflip"`       // random horizontal flips (default true)
	Workers     int     `toml:"workers"`     // decoding goroutines, 0 = all cores (default 0)
	SkipBad     bool    `toml:"skip_bad"`    // skip unreadable images instead of stopping (default false)
	Conditional bool    `toml:"conditional"` // class-conditional (e.g. AD/NC) when the data has classes (default false)
	RotateDeg   float64 `toml:"rotate_deg"`  // random rotation in [-x, x] degrees, 0 = off (default 0)
	Brightness  float64 `toml:"brightness"`  // random gain in [1-x, 1+x], 0 = off (default 0)
	Contrast    float64 `toml:"contrast"`    // random gamma in [1-x, 1+x], 0 = off (default 0)
}

// Phase is one stretch of the learning-rate schedule.
type Phase struct {
	Epochs       int     `toml:"epochs"`        // length of the phase in epochs
	LR           float64 `toml:"lr"`            // Adam learning rate of G and D
	WarmupEpochs float64 `toml:"warmup_epochs"` // linear ramp from 0 over the phase's first epochs, 0 = none
}

// TrainConfig holds the losses, optimiser, schedule and output cadence.
type TrainConfig struct {
	Epochs          int     `toml:"epochs"`           // total epochs, the sum of the schedule's (default 150)
	BatchSize       int     `toml:"batch_size"`       // images per step (default 64)
	Loss            string  `toml:"loss"`             // "wgan-gp" (reference recipe) or "logistic" (StyleGAN2 paper)
	GPLambda        float64 `toml:"gp_lambda"`        // WGAN-GP weight on interpolates (default 10)
	R1Gamma         float64 `toml:"r1_gamma"`         // R1 penalty weight on reals (default 0.001)
	R1Interval      int     `toml:"r1_interval"`      // lazy regularization: R1 every k critic steps (default 1)
	PLWeight        float64 `toml:"pl_weight"`        // path-length regularization weight, 0 = off (default 0)
	PLInterval      int     `toml:"pl_interval"`      // path-length regularization every k G steps (default 4)
	StyleMixProb    float64 `toml:"style_mix_prob"`   // probability of style mixing (default 0.9)
	NCritic         int     `toml:"n_critic"`         // critic steps per generator step (default 1)
	DiffAug         string  `toml:"diffaug"`          // DiffAugment transforms for the critic's inputs, e.g. "translation,cutout" ("" = off)
	Beta1           float64 `toml:"beta1"`            // Adam beta1 (default 0)
	Beta2           float64 `toml:"beta2"`            // Adam beta2 (default 0.99)
	Eps             float64 `toml:"eps"`              // Adam epsilon (default 1e-8)
	Schedule        []Phase `toml:"schedule"`         // learning-rate phases (default 100 epochs at 1e-4, 50 at 1e-5)
	EMA             bool    `toml:"ema"`              // keep an exponential moving average of G (default true)
	EMAKimg         float64 `toml:"ema_kimg"`         // EMA half-life in thousands of images (default 10)
	CheckpointEvery int     `toml:"checkpoint_every"` // epochs between checkpoints, 0 = only the last (default 10)
	KeepCheckpoints int     `toml:"keep_checkpoints"` // newest checkpoints kept, 0 = all (default 0)
	SampleEpochs    []int   `toml:"sample_epochs"`    // epochs after which a sample grid is saved (default 50, 100, 150)
	SampleGrid      int     `toml:"sample_grid"`      // side of the sample grid, fixed seeds (default 8)
	LogEvery        int     `toml:"log_every"`        // steps between loss log rows (default 10)
}

// Loss names accepted in train.loss.
const (
	LossWGANGP   = "wgan-gp"
	LossLogistic = "logistic"
)

// DefaultConfig is the reference recipe: 64x64, z = w = 512, WGAN-GP, batch 64, 150 epochs
// (100 at lr 1e-4, then 50 at 1e-5), EMA of G, samples at epochs 50, 100 and 150.
func DefaultConfig() Config {
	return Config{
		Run:   RunConfig{Dir: "runs/sgan", Device: "auto"},
		Data:  DataConfig{Split: "train", HFlip: true},
		Model: model.DefaultConfig(),
		Train: TrainConfig{
			Epochs: 150, BatchSize: 64, Loss: LossWGANGP,
			GPLambda: 10, R1Gamma: 0.001, R1Interval: 1, PLWeight: 0, PLInterval: 4,
			StyleMixProb: 0.9, NCritic: 1, Beta1: 0, Beta2: 0.99, Eps: 1e-8,
			Schedule:        []Phase{{Epochs: 100, LR: 1e-4}, {Epochs: 50, LR: 1e-5}},
			EMA:             true,
			EMAKimg:         10,
			CheckpointEvery: 10,
			SampleEpochs:    []int{50, 100, 150},
			SampleGrid:      8,
			LogEvery:        10,
		},
	}
}

// The "demo" preset: the recipe's architecture, narrower, to train on the embedded demo data
// (402 64x64 training slices) on a 2-core CPU to recognizable brain slices in about half an hour.
// What got it there (measured, README "What the demo run gives"): the StyleGAN2 paper loss with
// lazy R1 (WGAN-GP at these step counts left blobs), a 2-layer mapping network, DiffAugment (a
// critic seeing a few hundred slices undisguised wins within minutes and stops teaching) and a
// stronger R1 than the paper's 0.05 for this resolution.
const (
	DemoResolution    = 64
	DemoZDim          = 128 // z_dim = w_dim
	DemoMappingLayers = 2
	DemoChannelBase   = 1024 // 16 maps at 64x64, 32 at 32x32, 64 at 16x16, 128 below
	DemoChannelMax    = 128
	DemoBatchSize     = 16 // 25 steps per epoch on the demo data
	DemoEpochs        = 170
	DemoLR            = 2e-3
	DemoR1Gamma       = 0.5
	DemoR1Interval    = 16
	DemoDiffAug       = "translation,cutout,color"
	DemoEMAKimg       = 2
	DemoCheckpoint    = 10 // checkpoint_every
	DemoKeep          = 4  // keep_checkpoints: 23 MB each at these widths
	DemoSampleEvery   = 10 // a sample grid every this many epochs
	DemoLogEvery      = 5
)

// Presets lists the names Preset accepts.
var Presets = []string{"recipe", "demo", "tiny"}

// Preset returns a named configuration:
//
//	recipe  the reference recipe (DefaultConfig)
//	demo    a narrower network that trains on the embedded demo data on a laptop CPU
//	tiny    a minute network and 2 epochs, for tests
func Preset(name string) (Config, error) {
	c := DefaultConfig()
	switch name {
	case "recipe", "default":
	case "demo":
		c.Model.Resolution = DemoResolution
		c.Model.ZDim, c.Model.WDim = DemoZDim, DemoZDim
		c.Model.MappingLayers = DemoMappingLayers
		c.Model.ChannelBase, c.Model.ChannelMax = DemoChannelBase, DemoChannelMax
		c.Run.Dir = "runs/demo"
		c.Train.BatchSize = DemoBatchSize
		c.Train.Epochs = DemoEpochs
		c.Train.Schedule = []Phase{{Epochs: DemoEpochs, LR: DemoLR}}
		c.Train.Loss = LossLogistic
		c.Train.R1Gamma, c.Train.R1Interval = DemoR1Gamma, DemoR1Interval
		c.Train.DiffAug = DemoDiffAug
		c.Train.EMAKimg = DemoEMAKimg
		c.Train.CheckpointEvery, c.Train.KeepCheckpoints = DemoCheckpoint, DemoKeep
		c.Train.SampleEpochs = nil
		for e := DemoSampleEvery; e <= c.Train.Epochs; e += DemoSampleEvery {
			c.Train.SampleEpochs = append(c.Train.SampleEpochs, e)
		}
		if !slices.Contains(c.Train.SampleEpochs, c.Train.Epochs) {
			c.Train.SampleEpochs = append(c.Train.SampleEpochs, c.Train.Epochs)
		}
		c.Train.LogEvery = DemoLogEvery
	case "tiny":
		c.Model.Resolution = 32
		c.Model.ZDim, c.Model.WDim = 32, 32
		c.Model.MappingLayers = 2
		c.Model.ChannelBase, c.Model.ChannelMax = 256, 32
		c.Run.Dir = "runs/tiny"
		c.Train.BatchSize = 4
		c.Train.Epochs = 2
		c.Train.Schedule = []Phase{{Epochs: 1, LR: 1e-3}, {Epochs: 1, LR: 1e-4}}
		c.Train.EMAKimg = 0.01
		c.Train.CheckpointEvery = 1
		c.Train.SampleEpochs = []int{2}
		c.Train.SampleGrid = 2
		c.Train.LogEvery = 1
	default:
		return Config{}, fmt.Errorf("unknown preset %q (choose one of %s)", name, strings.Join(Presets, ", "))
	}
	return c, nil
}

// clone returns c with its slices copied, so that decoding into the result leaves c untouched.
func (c Config) clone() Config {
	c.Train.Schedule = slices.Clone(c.Train.Schedule)
	c.Train.SampleEpochs = slices.Clone(c.Train.SampleEpochs)
	return c
}

// LoadConfig reads the TOML file at path over base: keys the file leaves out keep base's
// values. Unknown keys and values of the wrong type are errors naming the key and the file.
// The result is not validated (call Validate).
func LoadConfig(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("config: %w", err)
	}
	c, err := decodeOver(string(b), base)
	if err != nil {
		return base, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig is LoadConfig on TOML text instead of a file.
func ParseConfig(text string, base Config) (Config, error) {
	c, err := decodeOver(text, base)
	if err != nil {
		return base, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// decodeOver decodes text over a copy of base and rejects unknown keys.
func decodeOver(text string, base Config) (Config, error) {
	c := base.clone()
	md, err := toml.Decode(text, &c)
	if err != nil {
		return base, tomlError(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		s := "key"
		if len(keys) > 1 {
			s = "keys"
		}
		return base, fmt.Errorf("unknown %s %s (see sgan config init for every key)", s, strings.Join(keys, ", "))
	}
	return c, nil
}

var (
	typeErrRE = regexp.MustCompile(`incompatible types: TOML value has type (\S+); destination has type (\S+)`)
	keyErrRE  = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)
)

// tomlError turns a toml error into one line naming the key and line where known:
// "key train.batch_size (line 2): want integer, got string".
func tomlError(err error) error {
	var msg, key, line string
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg, key = pe.Message, pe.LastKey
		if pe.Position.Line > 0 {
			line = strconv.Itoa(pe.Position.Line)
		}
	} else if m := keyErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, key, msg = m[1], m[2], m[3]
	} else {
		msg = strings.TrimPrefix(err.Error(), "toml: ")
	}
	msg = typeErrRE.ReplaceAllString(msg, "want $2, got $1")
	msg = strings.Join(strings.Fields(msg), " ")
	switch {
	case key != "" && line != "":
		return fmt.Errorf("key %s (line %s): %s", key, line, msg)
	case key != "":
		return fmt.Errorf("key %s: %s", key, msg)
	case line != "":
		return fmt.Errorf("line %s: %s", line, msg)
	}
	return errors.New(msg)
}

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Set applies one KEY=VALUE override, such as "train.batch_size=32" or "data.root=/data/adni"
// (what --set passes). VALUE is read as a TOML value; when it is not one, or does not fit the
// key's type while the key takes a string, it is taken as a plain string, so strings need no
// quotes. An unknown key is an error naming it.
func (c *Config) Set(kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	key = strings.TrimSpace(key)
	val = strings.TrimSpace(val)
	if !ok || key == "" {
		return fmt.Errorf("--set %q: want KEY=VALUE, e.g. train.batch_size=32", kv)
	}
	if !keyRE.MatchString(key) {
		return fmt.Errorf("--set %s: malformed key %q (keys look like train.batch_size)", kv, key)
	}
	nc, rawErr := decodeOver(key+" = "+val+"\n", *c)
	if rawErr == nil {
		*c = nc
		return nil
	}
	// The raw value parsed as TOML: a plain-string retry only helps for string keys.
	_, parseErr := toml.Decode("v = "+val+"\n", new(map[string]any))
	nc, strErr := decodeOver(key+" = "+quoteTOML(val)+"\n", *c)
	if strErr == nil {
		*c = nc
		return nil
	}
	err := rawErr
	if parseErr != nil && !strings.ContainsAny(val[:min(len(val), 1)], `[{"'`) {
		err = strErr
	}
	return fmt.Errorf("--set %s: %s", kv, strings.Replace(err.Error(), " (line 1)", "", 1))
}

var deviceRE = regexp.MustCompile(`^(auto|cpu|cuda|cuda:[0-9]+)$`)

// Validate reports the first impossible setting as one line naming its key.
func (c Config) Validate() error {
	r, d, t := c.Run, c.Data, c.Train
	if !deviceRE.MatchString(r.Device) {
		return fmt.Errorf("run.device = %q: must be auto, cpu, cuda or cuda:N", r.Device)
	}
	if r.Threads < 0 {
		return fmt.Errorf("run.threads = %d: must be 0 (all cores) or more", r.Threads)
	}
	if r.Dir == "" {
		return errors.New(`run.dir = "": must name the output folder`)
	}
	if d.Root != "" && d.Root != "demo" {
		st, err := os.Stat(d.Root)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("data.root = %q: no such folder", d.Root)
		case err != nil:
			return fmt.Errorf("data.root = %q: %w", d.Root, err)
		case !st.IsDir():
			return fmt.Errorf("data.root = %q: not a folder", d.Root)
		}
	}
	switch {
	case d.Split == "":
		return errors.New(`data.split = "": must name a split folder, e.g. "train"`)
	case d.Workers < 0:
		return fmt.Errorf("data.workers = %d: must be 0 (all cores) or more", d.Workers)
	case d.RotateDeg < 0 || d.RotateDeg > 45:
		return fmt.Errorf("data.rotate_deg = %g: must be in [0, 45]", d.RotateDeg)
	case d.Brightness < 0 || d.Brightness >= 1:
		return fmt.Errorf("data.brightness = %g: must be in [0, 1)", d.Brightness)
	case d.Contrast < 0 || d.Contrast >= 1:
		return fmt.Errorf("data.contrast = %g: must be in [0, 1)", d.Contrast)
	}
	if err := c.Model.Validate(); err != nil {
		return err
	}
	switch {
	case t.BatchSize < 1:
		return fmt.Errorf("train.batch_size = %d: must be at least 1", t.BatchSize)
	case t.Loss != LossWGANGP && t.Loss != LossLogistic:
		return fmt.Errorf("train.loss = %q: must be %q or %q", t.Loss, LossWGANGP, LossLogistic)
	case t.GPLambda < 0 || math.IsNaN(t.GPLambda):
		return fmt.Errorf("train.gp_lambda = %g: must be 0 or more", t.GPLambda)
	case t.R1Gamma < 0 || math.IsNaN(t.R1Gamma):
		return fmt.Errorf("train.r1_gamma = %g: must be 0 or more", t.R1Gamma)
	case t.R1Interval < 1:
		return fmt.Errorf("train.r1_interval = %d: must be at least 1", t.R1Interval)
	case t.PLWeight < 0 || math.IsNaN(t.PLWeight):
		return fmt.Errorf("train.pl_weight = %g: must be 0 (off) or more", t.PLWeight)
	case t.PLInterval < 1:
		return fmt.Errorf("train.pl_interval = %d: must be at least 1", t.PLInterval)
	case !(t.StyleMixProb >= 0 && t.StyleMixProb <= 1):
		return fmt.Errorf("train.style_mix_prob = %g: must be in [0, 1]", t.StyleMixProb)
	case t.NCritic < 1:
		return fmt.Errorf("train.n_critic = %d: must be at least 1", t.NCritic)
	case !(t.Beta1 >= 0 && t.Beta1 < 1):
		return fmt.Errorf("train.beta1 = %g: must be in [0, 1)", t.Beta1)
	case !(t.Beta2 >= 0 && t.Beta2 < 1):
		return fmt.Errorf("train.beta2 = %g: must be in [0, 1)", t.Beta2)
	case !(t.Eps > 0):
		return fmt.Errorf("train.eps = %g: must be positive", t.Eps)
	case len(t.Schedule) == 0:
		return errors.New("train.schedule is empty: give at least one phase, e.g. [{epochs = 150, lr = 1e-4}]")
	}
	if _, err := parseAugPolicy(t.DiffAug); err != nil {
		return fmt.Errorf("train.diffaug = %q: %v", t.DiffAug, err)
	}
	sum := 0
	for i, p := range t.Schedule {
		switch {
		case p.Epochs < 1:
			return fmt.Errorf("train.schedule[%d].epochs = %d: must be at least 1", i, p.Epochs)
		case !(p.LR > 0) || math.IsInf(p.LR, 1):
			return fmt.Errorf("train.schedule[%d].lr = %g: must be positive", i, p.LR)
		case !(p.WarmupEpochs >= 0 && p.WarmupEpochs <= float64(p.Epochs)):
			return fmt.Errorf("train.schedule[%d].warmup_epochs = %g: must be in [0, %d] (the phase's epochs)", i, p.WarmupEpochs, p.Epochs)
		}
		sum += p.Epochs
	}
	if t.Epochs != sum {
		return fmt.Errorf("train.epochs = %d: must equal the sum of train.schedule epochs (%d)", t.Epochs, sum)
	}
	switch {
	case t.EMAKimg < 0 || math.IsNaN(t.EMAKimg):
		return fmt.Errorf("train.ema_kimg = %g: must be 0 or more", t.EMAKimg)
	case t.CheckpointEvery < 0:
		return fmt.Errorf("train.checkpoint_every = %d: must be 0 (only the last epoch) or more", t.CheckpointEvery)
	case t.KeepCheckpoints < 0:
		return fmt.Errorf("train.keep_checkpoints = %d: must be 0 (keep all) or more", t.KeepCheckpoints)
	case t.SampleGrid < 1:
		return fmt.Errorf("train.sample_grid = %d: must be at least 1", t.SampleGrid)
	case t.LogEvery < 1:
		return fmt.Errorf("train.log_every = %d: must be at least 1", t.LogEvery)
	}
	for _, e := range t.SampleEpochs {
		if e < 1 || e > t.Epochs {
			return fmt.Errorf("train.sample_epochs: epoch %d is outside 1..%d (train.epochs)", e, t.Epochs)
		}
	}
	return nil
}

// LRAt is the learning rate at 1-based epoch, frac (in [0, 1]) of the way through it. Within a
// phase with WarmupEpochs > 0 the rate ramps linearly from 0 over the phase's first
// WarmupEpochs. Epochs past the schedule get the last phase's rate; 0 if the schedule is empty.
func (c Config) LRAt(epoch int, frac float64) float64 {
	s := c.Train.Schedule
	if len(s) == 0 {
		return 0
	}
	start := 0 // epochs before the phase
	for i, p := range s {
		if epoch <= start+p.Epochs || i == len(s)-1 {
			pos := float64(epoch-start-1) + frac // epochs into the phase
			if p.WarmupEpochs > 0 && pos < p.WarmupEpochs {
				return p.LR * max(pos, 0) / p.WarmupEpochs
			}
			return p.LR
		}
		start += p.Epochs
	}
	return s[len(s)-1].LR
}

// EMABeta is the per-step decay of the generator's moving average for batchSize images per
// step: 0.5^(batchSize / (ema_kimg*1000)), as in NVlabs StyleGAN2, so that the average's
// half-life is ema_kimg thousand images. It is 0 (no averaging) when EMA is off or ema_kimg <= 0.
func (c Config) EMABeta(batchSize int) float64 {
	if !c.Train.EMA || c.Train.EMAKimg <= 0 {
		return 0
	}
	return math.Pow(0.5, float64(batchSize)/(c.Train.EMAKimg*1000))
}

// quoteTOML is s as a TOML basic string.
func quoteTOML(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fmtFloat is v as a TOML float (always with a '.' or an exponent).
func fmtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func fmtInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func fmtSchedule(ps []Phase) string {
	if len(ps) == 0 {
		return "[]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, p := range ps {
		fmt.Fprintf(&b, "  {epochs = %d, lr = %s, warmup_epochs = %s},\n", p.Epochs, fmtFloat(p.LR), fmtFloat(p.WarmupEpochs))
	}
	b.WriteString("]")
	return b.String()
}

// TOML is the whole configuration as TOML, with a comment above every key saying what it is
// and its default. LoadConfig reads it back to an equal Config.
func (c Config) TOML() string {
	d := DefaultConfig()
	var b strings.Builder
	section := func(name, comment string) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "# %s\n[%s]\n", comment, name)
	}
	key := func(name, comment, val string) {
		fmt.Fprintf(&b, "# %s\n%s = %s\n", comment, name, val)
	}
	q, i, f := quoteTOML, strconv.Itoa, fmtFloat
	bl := strconv.FormatBool

	b.WriteString("# sgan configuration (sgan config init writes it; sgan config check FILE checks it).\n")
	b.WriteString("# Every key is optional: left out, it keeps the recipe default noted above it.\n")
	b.WriteString("# Any key can be overridden on the command line, e.g. --set train.batch_size=32.\n")

	section("run", "Where outputs go and what the run executes on.")
	key("dir", "Output folder: checkpoints, sample grids, losses.csv, the config. Default "+q(d.Run.Dir)+".", q(c.Run.Dir))
	key("seed", "Seed of the initial weights, latents and data order. Default 0.", strconv.FormatInt(c.Run.Seed, 10))
	key("device", `"auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Default "auto".`, q(c.Run.Device))
	key("threads", "CPU threads of libtorch; 0 = all cores. Default 0.", i(c.Run.Threads))
	key("quiet", "No live progress line; a plain line every 30 s instead. Default false.", bl(c.Run.Quiet))

	section("data", "Training images.")
	key("root", `Dataset folder: ADNI layout ROOT/{train,test}/CLASS/*.png, ROOT/CLASS/*, a flat folder of images,`+"\n"+
		`# or the CIFAR-10 binary folder. "" = the embedded demo slices. Default "".`, q(c.Data.Root))
	key("split", `Split folder to train on when the dataset has splits. Default "train".`, q(c.Data.Split))
	key("hflip", "Random horizontal flips (p = 0.5). Default true.", bl(c.Data.HFlip))
	key("workers", "Image decoding goroutines; 0 = all cores. Default 0.", i(c.Data.Workers))
	key("skip_bad", "Skip unreadable images (counted) instead of stopping with an error. Default false.", bl(c.Data.SkipBad))
	key("conditional", "Train class-conditional (e.g. AD/NC) when the data has classes. Default false.", bl(c.Data.Conditional))
	key("rotate_deg", "Augmentation: random rotation in [-x, x] degrees (0-45); 0 = off. Default 0.", f(c.Data.RotateDeg))
	key("brightness", "Augmentation: random gain in [1-x, 1+x] (e.g. 0.05); 0 = off. Default 0.", f(c.Data.Brightness))
	key("contrast", "Augmentation: random gamma in [1-x, 1+x] (e.g. 0.05); 0 = off. Default 0.", f(c.Data.Contrast))

	m, dm := c.Model, d.Model
	section("model", "The generator, mapping network and critic (StyleGAN2).")
	key("resolution", fmt.Sprintf("Image side in pixels, a power of two >= 8. Default %d.", dm.Resolution), i(m.Resolution))
	key("channels", fmt.Sprintf("Image channels: 1 (grayscale MRI) or 3 (RGB). Default %d.", dm.Channels), i(m.Channels))
	key("z_dim", fmt.Sprintf("Size of the latent z. Default %d.", dm.ZDim), i(m.ZDim))
	key("w_dim", fmt.Sprintf("Size of the intermediate latent w. Default %d.", dm.WDim), i(m.WDim))
	key("mapping_layers", fmt.Sprintf("Fully connected layers of the mapping network. Default %d.", dm.MappingLayers), i(m.MappingLayers))
	key("mapping_lr_mul", fmt.Sprintf("Learning-rate multiplier of the mapping layers. Default %s.", f(dm.MappingLRMul)), f(m.MappingLRMul))
	key("channel_base", fmt.Sprintf("Feature maps at resolution r are min(channel_base / r, channel_max). Default %d.", dm.ChannelBase), i(m.ChannelBase))
	key("channel_max", fmt.Sprintf("Cap on feature maps per layer. Default %d.", dm.ChannelMax), i(m.ChannelMax))
	key("num_classes", "0 = unconditional, else labels 0..n-1 (set from the data when data.conditional). Default 0.", i(m.NumClasses))
	key("mbstd_group", fmt.Sprintf("Minibatch-stddev group size in the critic. Default %d.", dm.MbstdGroup), i(m.MbstdGroup))
	key("critic_mapping_layers", fmt.Sprintf("Layers of the conditional critic's class mapping network (NVlabs' cmap). Default %d.", dm.CriticMappingLayers), i(m.CriticMappingLayers))
	key("conv_clamp", "Clamp convolution outputs to +-x (NVlabs trains with 256 for float16); 0 = off. Default 0.", f(m.ConvClamp))

	t, dt := c.Train, d.Train
	section("train", "Losses, optimiser, schedule and outputs.")
	key("epochs", fmt.Sprintf("Total epochs; must equal the sum of the schedule's epochs. Default %d.", dt.Epochs), i(t.Epochs))
	key("batch_size", fmt.Sprintf("Images per step. Default %d.", dt.BatchSize), i(t.BatchSize))
	key("loss", `"wgan-gp" (reference recipe) or "logistic" (non-saturating, StyleGAN2 paper). Default "wgan-gp".`, q(t.Loss))
	key("gp_lambda", fmt.Sprintf("WGAN-GP gradient-penalty weight on interpolates (wgan-gp). Default %s.", f(dt.GPLambda)), f(t.GPLambda))
	key("r1_gamma", fmt.Sprintf("R1 penalty weight on reals; 0 = off. Default %s.", f(dt.R1Gamma)), f(t.R1Gamma))
	key("r1_interval", fmt.Sprintf("Lazy regularization: R1 every k critic steps (the paper uses 16). Default %d.", dt.R1Interval), i(t.R1Interval))
	key("pl_weight", "Path-length regularization weight; 0 = off (the paper uses 2). Default 0.", f(t.PLWeight))
	key("pl_interval", fmt.Sprintf("Path-length regularization every k generator steps. Default %d.", dt.PLInterval), i(t.PLInterval))
	key("style_mix_prob", fmt.Sprintf("Probability of style mixing with a second latent, in [0, 1]. Default %s.", f(dt.StyleMixProb)), f(t.StyleMixProb))
	key("n_critic", fmt.Sprintf("Critic steps per generator step. Default %d.", dt.NCritic), i(t.NCritic))
	key("diffaug", `DiffAugment: transforms applied to every image the critic sees (real and generated), a`+"\n"+
		`# comma-separated list of "translation", "cutout", "color"; keeps a critic from memorizing a small`+"\n"+
		`# dataset (a few thousand images or fewer). "" = off. Default "".`, q(t.DiffAug))
	key("beta1", fmt.Sprintf("Adam beta1. Default %s.", f(dt.Beta1)), f(t.Beta1))
	key("beta2", fmt.Sprintf("Adam beta2. Default %s.", f(dt.Beta2)), f(t.Beta2))
	key("eps", fmt.Sprintf("Adam epsilon. Default %s.", f(dt.Eps)), f(t.Eps))
	key("schedule", "Learning-rate phases, run in order: epochs, Adam lr, and warmup_epochs (a linear ramp from 0\n"+
		"# over the phase's first epochs; 0 = none). Default 100 epochs at 1e-4, then 50 at 1e-5.", fmtSchedule(t.Schedule))
	key("ema", "Keep an exponential moving average of the generator (used for samples). Default true.", bl(t.EMA))
	key("ema_kimg", fmt.Sprintf("Half-life of the moving average in thousands of images. Default %s.", f(dt.EMAKimg)), f(t.EMAKimg))
	key("checkpoint_every", fmt.Sprintf("Epochs between checkpoints (the last epoch always gets one); 0 = only the last. Default %d.", dt.CheckpointEvery), i(t.CheckpointEvery))
	key("keep_checkpoints", "Newest checkpoints kept; 0 = keep all. Default 0.", i(t.KeepCheckpoints))
	key("sample_epochs", "Epochs after which a sample grid is saved. Default "+fmtInts(dt.SampleEpochs)+".", fmtInts(t.SampleEpochs))
	key("sample_grid", fmt.Sprintf("Sample grid side: n x n images from fixed seeds. Default %d.", dt.SampleGrid), i(t.SampleGrid))
	key("log_every", fmt.Sprintf("Steps between rows of losses.csv (each costs a device sync). Default %d.", dt.LogEvery), i(t.LogEvery))
	return b.String()
}
