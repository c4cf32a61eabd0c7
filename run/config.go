package run

import (
	"embed"
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

	"sgan/internal/knobs"
	"sgan/model"
)

// Config is the whole training configuration: the one TOML file that `sgan config init` writes,
// `sgan train --config` reads, and that is stored next to the outputs and inside checkpoints.
// Each key is declared once, by its field's tags (package knobs): TOML name, default (the
// reference recipe), range and meaning. DefaultConfig, Validate and TOML are derived from them;
// Preset applies a preset file (presets/*.toml) over the defaults.
type Config struct {
	Run   RunConfig    `toml:"run" doc:"Where outputs go and what the run executes on."`
	Data  DataConfig   `toml:"data" doc:"Training images and their augmentation on the CPU."`
	Model model.Config `toml:"model" doc:"The generator, mapping network and critic (StyleGAN2, NVlabs' networks)."`
	Train TrainConfig  `toml:"train" doc:"Losses, optimiser, schedule and outputs."`
}

// RunConfig says where outputs go and what the run executes on.
type RunConfig struct {
	Dir     string `toml:"dir" default:"\"runs/sgan\"" nonempty:"true" doc:"Output folder: checkpoints, sample grids, losses.csv, the config."`
	Seed    int64  `toml:"seed" default:"0" doc:"Seed of the initial weights, latents and data order."`
	Device  string `toml:"device" default:"\"auto\"" pattern:"auto|cpu|cuda|cuda:[0-9]+" rangedoc:"must be auto, cpu, cuda or cuda:N" doc:"\"auto\" (CUDA when available, else CPU), \"cpu\", \"cuda\" or \"cuda:N\"."`
	Threads int    `toml:"threads" default:"0" min:"0" max:"1024" doc:"CPU threads of libtorch; 0 = all cores."`
	Quiet   bool   `toml:"quiet" default:"false" doc:"No live progress line; a plain line every 30 s instead."`
}

// DataConfig says which images to train on and how they are augmented.
type DataConfig struct {
	Root        string  `toml:"root" default:"\"\"" doc:"Dataset folder: ADNI layout ROOT/{train,test}/CLASS/*.png, ROOT/CLASS/*, a flat folder of images,\nor the CIFAR-10 binary folder. \"\" = the embedded demo slices."`
	Split       string  `toml:"split" default:"\"train\"" nonempty:"true" doc:"Split folder to train on when the dataset has splits."`
	HFlip       bool    `toml:"hflip" default:"true" doc:"Random horizontal flips (p = 0.5)."`
	Workers     int     `toml:"workers" default:"0" min:"0" max:"1024" doc:"Image decoding goroutines; 0 = all cores."`
	SkipBad     bool    `toml:"skip_bad" default:"false" doc:"Skip unreadable images (counted and named) instead of stopping with an error."`
	Conditional bool    `toml:"conditional" default:"false" doc:"Train class-conditional (e.g. AD/NC) when the data has classes."`
	RotateDeg   float64 `toml:"rotate_deg" default:"0.0" min:"0" max:"45" doc:"Augmentation: random rotation in [-x, x] degrees; 0 = off."`
	Brightness  float64 `toml:"brightness" default:"0.0" min:"0" lt:"1" doc:"Augmentation: random gain in [1-x, 1+x] (e.g. 0.05); 0 = off."`
	Contrast    float64 `toml:"contrast" default:"0.0" min:"0" lt:"1" doc:"Augmentation: random gamma in [1-x, 1+x] (e.g. 0.05); 0 = off."`
}

// Phase is one stretch of the learning-rate schedule.
type Phase struct {
	Epochs       int     `toml:"epochs" min:"1" max:"1000000" doc:"length of the phase in epochs"`
	LR           float64 `toml:"lr" gt:"0" max:"10" doc:"Adam learning rate of G and D"`
	WarmupEpochs float64 `toml:"warmup_epochs" min:"0" max:"1000000" doc:"linear ramp from 0 over the phase's first epochs, 0 = none"`
}

// TrainConfig holds the losses, optimiser, schedule and output cadence.
type TrainConfig struct {
	Epochs          int     `toml:"epochs" default:"150" min:"1" max:"1000000" doc:"Total epochs; must equal the sum of the schedule's epochs."`
	BatchSize       int     `toml:"batch_size" default:"64" min:"1" max:"65536" doc:"Images per step (global, over all data-parallel processes)."`
	Loss            string  `toml:"loss" default:"\"wgan-gp\"" enum:"wgan-gp|logistic" doc:"\"wgan-gp\" (reference recipe) or \"logistic\" (non-saturating, StyleGAN2 paper)."`
	GPLambda        float64 `toml:"gp_lambda" default:"10.0" min:"0" max:"1e6" doc:"WGAN-GP gradient-penalty weight on interpolates (wgan-gp)."`
	R1Gamma         float64 `toml:"r1_gamma" default:"0.001" min:"0" max:"1e6" doc:"R1 penalty weight on reals; 0 = off."`
	R1Interval      int     `toml:"r1_interval" default:"1" min:"1" max:"1000000" doc:"Lazy regularization: R1 as its own phase every k critic steps (the paper uses 16); 1 = in every critic step."`
	PLWeight        float64 `toml:"pl_weight" default:"0.0" min:"0" max:"1e6" doc:"Path-length regularization weight; 0 = off (the paper uses 2)."`
	PLInterval      int     `toml:"pl_interval" default:"4" min:"1" max:"1000000" doc:"Path-length regularization as its own phase every k generator steps; 1 = in every generator step."`
	StyleMixProb    float64 `toml:"style_mix_prob" default:"0.9" min:"0" max:"1" doc:"Probability of style mixing with a second latent."`
	NCritic         int     `toml:"n_critic" default:"1" min:"1" max:"100" doc:"Critic steps per generator step."`
	Noise           string  `toml:"noise" default:"\"random\"" enum:"random|none" doc:"The synthesis layers' per-pixel noise inputs while training: \"random\" (StyleGAN2: fresh noise\nevery step, scaled by a learned strength per layer) or \"none\" (left out: the strengths are set to 0,\nalso after --init, and all detail must come from the latent; sampling with any --noise then\ngives the same image)."`
	NoiseMaxRes     int     `toml:"noise_max_res" default:"0" min:"0" max:"1024" doc:"With train.noise = \"random\": noise inputs only in the layers of at most this resolution (e.g.\n16: none at 32x32 and 64x64, where fresh per-pixel noise can stand in for fine anatomy as a\nspeckle; the strengths there are set to 0); 0 = all layers."`
	Augment         string  `toml:"augment" default:"\"diffaug\"" enum:"none|diffaug|ada|fixed" doc:"Augmentation of every image the critic sees (real and generated), which keeps a critic from\nmemorizing a small dataset (a few thousand images or fewer): \"diffaug\" (DiffAugment with the\ntransforms in train.diffaug; none when that is empty), \"ada\" (NVlabs' adaptive augmentation:\ntrain.ada_pipe with a probability p tuned so that E[sign D(real)] stays near train.ada_target),\n\"fixed\" (train.ada_pipe at p = train.ada_p), or \"none\"."`
	DiffAug         string  `toml:"diffaug" default:"\"\"" doc:"DiffAugment transforms (train.augment = \"diffaug\"): a comma-separated list of \"translation\",\n\"cutout\", \"color\"; \"\" = none."`
	ADAPipe         string  `toml:"ada_pipe" default:"\"bgc\"" enum:"blit|geom|color|bg|bgc" doc:"NVlabs' augmentation pipeline for ada and fixed: blit (flips, quarter turns, integer\ntranslation), geom (scaling, rotation, anisotropy, fractional translation), color (brightness,\ncontrast, luma flip; hue and saturation for RGB), or their unions bg and bgc (the ADA paper's)."`
	ADATarget       float64 `toml:"ada_target" default:"0.6" gt:"0" lt:"1" doc:"ADA's target for r_t = E[sign D(real)] (NVlabs: 0.6)."`
	ADAKimg         float64 `toml:"ada_kimg" default:"500.0" gt:"0" max:"1e6" doc:"ADA's speed: thousands of images for p to move by 1 (NVlabs: 500)."`
	ADAInterval     int     `toml:"ada_interval" default:"4" min:"1" max:"1000" doc:"Steps between adjustments of ADA's p."`
	ADAP            float64 `toml:"ada_p" default:"0.0" min:"0" max:"10" doc:"Augmentation probability: ada's starting p, or the fixed p."`
	Beta1           float64 `toml:"beta1" default:"0.0" min:"0" lt:"1" doc:"Adam beta1."`
	Beta2           float64 `toml:"beta2" default:"0.99" min:"0" lt:"1" doc:"Adam beta2."`
	Eps             float64 `toml:"eps" default:"1e-8" gt:"0" max:"1" doc:"Adam epsilon."`
	Schedule        []Phase `toml:"schedule" default:"[{epochs = 100, lr = 1e-4}, {epochs = 50, lr = 1e-5}]" doc:"Learning-rate phases, run in order: epochs, Adam lr, and warmup_epochs (a linear ramp from 0\nover the phase's first epochs; 0 = none)."`
	EMA             bool    `toml:"ema" default:"true" doc:"Keep an exponential moving average of the generator (used for samples)."`
	EMAKimg         float64 `toml:"ema_kimg" default:"10.0" min:"0" max:"1e6" doc:"Half-life of the moving average in thousands of images."`
	EMARampup       float64 `toml:"ema_rampup" default:"0.0" min:"0" max:"1" doc:"EMA ramp-up (NVlabs' ema_rampup): the half-life is at most this share of the images shown so far,\nso the average of a young run does not drag in its random start; 0 = off (NVlabs' auto configs: 0.05)."`
	CheckpointEvery int     `toml:"checkpoint_every" default:"10" min:"0" max:"1000000" doc:"Epochs between checkpoints (the last epoch always gets one); 0 = only the last."`
	KeepCheckpoints int     `toml:"keep_checkpoints" default:"0" min:"0" max:"1000000" doc:"Newest epoch checkpoints kept; 0 = keep all."`
	SampleEpochs    []int   `toml:"sample_epochs" default:"[50, 100, 150]" min:"1" max:"1000000" doc:"Epochs after which a sample grid is saved."`
	SampleGrid      int     `toml:"sample_grid" default:"8" min:"1" max:"32" doc:"Sample grid side: n x n images from fixed seeds."`
	CPUMinutes      float64 `toml:"cpu_minutes" default:"0.0" min:"0" max:"1e7" doc:"Stop when this process has used this many minutes of CPU time (all threads; 30 minutes on 2\nbusy cores are 60), writing the final checkpoint and grid as at the last epoch; 0 = no budget.\nRuns compared at equal CPU time use it."`
	LogEvery        int     `toml:"log_every" default:"10" min:"1" max:"1000000" doc:"Steps between rows of losses.csv (each costs a device sync)."`
}

// Loss names accepted in train.loss.
const (
	LossWGANGP   = "wgan-gp"
	LossLogistic = "logistic"
)

// DefaultConfig is the reference recipe: 64x64, z = w = 512, WGAN-GP, batch 64, 150 epochs
// (100 at lr 1e-4, then 50 at 1e-5), EMA of G, samples at epochs 50, 100 and 150.
func DefaultConfig() Config {
	var c Config
	if err := knobs.Fill(&c); err != nil {
		panic(err)
	}
	return c
}

//go:embed presets/*.toml
var presetFiles embed.FS

// Presets lists the names Preset accepts.
var Presets = func() []string {
	names := []string{"recipe"}
	ents, _ := presetFiles.ReadDir("presets")
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return names
}()

// Preset returns a named configuration: "recipe" is DefaultConfig; the others are the files in
// presets/ (each says what it is for) applied over it.
func Preset(name string) (Config, error) {
	c := DefaultConfig()
	if name == "recipe" || name == "default" {
		return c, nil
	}
	b, err := presetFiles.ReadFile("presets/" + name + ".toml")
	if err != nil || strings.ContainsAny(name, "/.") {
		return Config{}, fmt.Errorf("unknown preset %q (choose one of %s)", name, strings.Join(Presets, ", "))
	}
	c, err = decodeOver(string(b), c)
	if err != nil {
		panic(fmt.Sprintf("run: preset %s: %v", name, err)) // a broken embedded file is a programmer error
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
	if len(b) > maxConfigBytes {
		return base, fmt.Errorf("config %s: %d bytes; a config is at most %d", path, len(b), maxConfigBytes)
	}
	c, err := decodeOver(string(b), base)
	if err != nil {
		return base, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// maxConfigBytes bounds a config file (a full one with comments is about 6 KB).
const maxConfigBytes = 1 << 20

// ParseConfig is LoadConfig on TOML text instead of a file.
func ParseConfig(text string, base Config) (Config, error) {
	if len(text) > maxConfigBytes {
		return base, fmt.Errorf("config: %d bytes; a config is at most %d", len(text), maxConfigBytes)
	}
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
	nc, strErr := decodeOver(key+" = "+knobs.Quote(val)+"\n", *c)
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

// Validate reports the first impossible setting as one line naming its key: every key's own
// declaration (range, finite numbers, allowed values), then the rules that tie keys together.
// It reads no files (CheckData looks at data.root).
func (c Config) Validate() error {
	for _, part := range []struct {
		v       any
		section string
	}{{c.Run, "run"}, {c.Data, "data"}, {c.Train, "train"}} {
		if err := knobs.Check(part.v, part.section); err != nil {
			return err
		}
	}
	if err := c.Model.Validate(); err != nil {
		return err
	}
	t := c.Train
	if len(t.Schedule) == 0 {
		return errors.New("train.schedule is empty: give at least one phase, e.g. [{epochs = 150, lr = 1e-4}]")
	}
	if _, err := ParseDiffAug(t.DiffAug); err != nil {
		return fmt.Errorf("train.diffaug = %q: %v", t.DiffAug, err)
	}
	if t.DiffAug != "" && t.Augment != "diffaug" {
		return fmt.Errorf("train.diffaug = %q but train.augment = %q: DiffAugment runs only with train.augment = \"diffaug\"; clear one of them", t.DiffAug, t.Augment)
	}
	sum := 0
	for i, p := range t.Schedule {
		if p.WarmupEpochs > float64(p.Epochs) {
			return fmt.Errorf("train.schedule[%d].warmup_epochs = %g: must be in [0, %d] (the phase's epochs)", i, p.WarmupEpochs, p.Epochs)
		}
		sum += p.Epochs
	}
	if t.Epochs != sum {
		return fmt.Errorf("train.epochs = %d: must equal the sum of train.schedule epochs (%d)", t.Epochs, sum)
	}
	for _, e := range t.SampleEpochs {
		if e > t.Epochs {
			return fmt.Errorf("train.sample_epochs: epoch %d is outside 1..%d (train.epochs)", e, t.Epochs)
		}
	}
	return nil
}

// CheckData reports a data.root that is not a folder, naming the key.
func (c Config) CheckData() error {
	d := c.Data
	if d.Root == "" || d.Root == "demo" {
		return nil
	}
	st, err := os.Stat(d.Root)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("data.root = %q: no such folder", d.Root)
	case err != nil:
		return fmt.Errorf("data.root = %q: %w", d.Root, err)
	case !st.IsDir():
		return fmt.Errorf("data.root = %q: not a folder", d.Root)
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
// step after shown images: 0.5^(batchSize / half-life), as in NVlabs StyleGAN2, where the
// half-life is ema_kimg thousand images, or ema_rampup * shown when that is shorter. It is 0 (no
// averaging) when EMA is off or the half-life is 0.
func (c Config) EMABeta(batchSize int, shown int64) float64 {
	nimg := c.Train.EMAKimg * 1000
	if r := c.Train.EMARampup; r > 0 {
		nimg = math.Min(nimg, float64(shown)*r)
	}
	if !c.Train.EMA || nimg <= 0 {
		return 0
	}
	return math.Pow(0.5, float64(batchSize)/nimg)
}

// TOML is the whole configuration as TOML, with a comment above every key saying what it is,
// its range and its default. LoadConfig reads it back to an equal Config.
func (c Config) TOML() string {
	return knobs.Encode(c, "sgan configuration (sgan config init writes it; sgan config check FILE checks it).\n"+
		"Every key is optional: left out, it keeps the recipe default noted above it.\n"+
		"Any key can be overridden on the command line, e.g. --set train.batch_size=32.")
}

// DiffAugTransforms lists the transforms train.diffaug accepts.
var DiffAugTransforms = []string{"translation", "cutout", "color"}

// DiffAugPolicy is a parsed train.diffaug: which DiffAugment transforms are on.
type DiffAugPolicy struct{ Translation, Cutout, Color bool }

// On reports whether any transform is on.
func (p DiffAugPolicy) On() bool { return p.Translation || p.Cutout || p.Color }

// ParseDiffAug reads a comma-separated list of DiffAugTransforms ("" = off).
func ParseDiffAug(s string) (DiffAugPolicy, error) {
	var p DiffAugPolicy
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "translation":
			p.Translation = true
		case "cutout":
			p.Cutout = true
		case "color":
			p.Color = true
		default:
			return p, fmt.Errorf("unknown transform %q (use a comma-separated list of %s, or \"\" for none)",
				strings.TrimSpace(f), strings.Join(DiffAugTransforms, ", "))
		}
	}
	return p, nil
}
