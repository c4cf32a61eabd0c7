package run

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sgan/internal/safefile"
	"sgan/model"
	"sgan/torch"
)

// CheckpointFormat marks sgan checkpoints; files without it are refused with a clear message.
// v2: the synthesis network computes NVlabs' StyleGAN2 exactly, with NVlabs' state-dict names
// (resample_filter buffers, the conditional critic's mapping network). v1 files came from a
// generator whose upsampling convolutions differed; their weights draw other images here.
const CheckpointFormat = "sgan-checkpoint-v2"

const checkpointFormatV1 = "sgan-checkpoint-v1"

// Checkpoint is everything a run saves: the config, networks, optimizers, counters and random
// state. On disk it is a torch.save-compatible dict (Python: ck = torch.load(path);
// ck["generator_ema"]["synthesis.b64.conv1.weight"]):
//
//	format, config (TOML), classes ("\n"-joined), epoch, batch, step, g_steps, pl_mean,
//	generator/<name>, generator_ema/<name>, critic/<name>  (state dicts, NVlabs names)
//	optim_g/..., optim_d/..., optim_g_steps, optim_d_steps, rng/torch, extra/<name>
//
// The tensors are the owners' own (a saved Checkpoint refers to the live networks); a loaded
// one owns its tensors until Free.
type Checkpoint struct {
	Config  Config
	Classes []string

	Epoch  int   // completed epochs
	Batch  int   // next batch within epoch Epoch+1
	Step   int64 // critic steps taken
	GSteps int64 // generator steps taken
	PLMean float64

	Generator, GeneratorEMA, Critic map[string]*torch.Tensor
	OptimG, OptimD                  map[string]*torch.Tensor
	OptimGSteps, OptimDSteps        int64
	RNG                             *torch.Tensor      // the device generator's state
	Extra                           map[string]float64 // other scalar training state (e.g. ADA's p)

	archive *torch.Archive // what a loaded checkpoint came from, freed by Free
}

// Marshal encodes c in torch.save's format.
func (c *Checkpoint) Marshal() ([]byte, error) {
	a := torch.NewArchive()
	a.Strings["format"] = CheckpointFormat
	a.Strings["config"] = c.Config.TOML()
	a.Strings["classes"] = strings.Join(c.Classes, "\n")
	a.Ints["epoch"] = int64(c.Epoch)
	a.Ints["batch"] = int64(c.Batch)
	a.Ints["step"] = c.Step
	a.Ints["g_steps"] = c.GSteps
	a.Ints["optim_g_steps"] = c.OptimGSteps
	a.Ints["optim_d_steps"] = c.OptimDSteps
	a.Floats["pl_mean"] = c.PLMean
	for k, v := range c.Extra {
		a.Floats["extra/"+k] = v
	}
	for _, part := range []struct {
		prefix string
		sd     map[string]*torch.Tensor
	}{{"generator", c.Generator}, {"generator_ema", c.GeneratorEMA}, {"critic", c.Critic}, {"optim_g", c.OptimG}, {"optim_d", c.OptimD}} {
		for k, v := range part.sd {
			a.Tensors[part.prefix+"/"+k] = v
		}
	}
	if c.RNG != nil {
		a.Tensors["rng/torch"] = c.RNG
	}
	b, err := a.Marshal()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return b, nil
}

// Save writes c to every path, serialized once (last.pt and an epoch checkpoint share the
// bytes), each write atomic: a crash or full disk leaves the previous file intact.
func (c *Checkpoint) Save(paths ...string) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	for _, path := range paths {
		if err := safefile.Write(path, b); err != nil {
			return fmt.Errorf("checkpoint: %w (the previous checkpoint is intact)", err)
		}
	}
	return nil
}

// ResolveCheckpoint turns a run folder into its models/last.pt; a file path is returned as is.
func ResolveCheckpoint(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: no such run folder or checkpoint", p)
	}
	if st.IsDir() {
		last := Dir(p).Last()
		if _, err := os.Stat(last); err != nil {
			return "", fmt.Errorf("%s has no models/last.pt to resume from", p)
		}
		return last, nil
	}
	return p, nil
}

// FolderOf is the run folder a checkpoint belongs to: RUN for RUN/models/NAME.pt, "" for a file
// elsewhere.
func FolderOf(checkpoint string) string {
	dir := filepath.Dir(checkpoint)
	if filepath.Base(dir) != "models" {
		return ""
	}
	return filepath.Dir(dir)
}

// ResumeDir is where a run resumed from resume (a run folder or checkpoint) writes: the folder it
// resumes, whatever run.dir the preset or its stored config names (a copied run folder stores
// the original's). A run.dir given explicitly (configured, explicit) that is another folder is
// refused, naming both. A checkpoint outside a run folder goes on in configured.
func ResumeDir(resume, configured string, explicit bool) (string, error) {
	path, err := ResolveCheckpoint(resume)
	if err != nil {
		return "", err
	}
	dir := FolderOf(path)
	if dir == "" {
		return configured, nil
	}
	if explicit && !SameFolder(configured, dir) {
		return "", fmt.Errorf("run.dir = %q, but --resume %s continues the run in %s: a resumed run writes into its own folder; drop run.dir, or copy the run folder to %s and resume that", configured, resume, dir, configured)
	}
	return dir, nil
}

// SameFolder reports whether a and b name the same folder.
func SameFolder(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// LoadCheckpoint reads an sgan checkpoint, refusing other files with a one-line error.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	a, err := torch.LoadArchive(path)
	if err != nil {
		return nil, fmt.Errorf("%w (is it an sgan checkpoint from RUN/models/?)", err)
	}
	ok := false
	defer func() {
		if !ok {
			a.Free()
		}
	}()
	switch f := a.Strings["format"]; f {
	case CheckpointFormat:
	case checkpointFormatV1:
		return nil, fmt.Errorf("%s: written by sgan 0.1, whose generator computed a different function from NVlabs' StyleGAN2 (its upsampling convolutions); its weights would draw other images: train again with this version", path)
	default:
		return nil, fmt.Errorf("%s: not an sgan checkpoint (no format %q); use a file from RUN/models/, or `sgan convert` for an NVlabs pickle", path, CheckpointFormat)
	}
	cfg, err := ParseConfig(a.Strings["config"], DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("%s: stored config: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: stored config: %w", path, err)
	}
	c := &Checkpoint{
		Config:      cfg,
		Epoch:       int(a.Ints["epoch"]),
		Batch:       int(a.Ints["batch"]),
		Step:        a.Ints["step"],
		GSteps:      a.Ints["g_steps"],
		PLMean:      a.Floats["pl_mean"],
		OptimGSteps: a.Ints["optim_g_steps"],
		OptimDSteps: a.Ints["optim_d_steps"],
		RNG:         a.Tensors["rng/torch"],
		archive:     a,
	}
	if s := a.Strings["classes"]; s != "" {
		c.Classes = strings.Split(s, "\n")
	}
	c.Generator = sub(a, "generator")
	c.GeneratorEMA = sub(a, "generator_ema")
	c.Critic = sub(a, "critic")
	c.OptimG = sub(a, "optim_g")
	c.OptimD = sub(a, "optim_d")
	c.Extra = map[string]float64{}
	for k, v := range a.Floats {
		if name, ok := strings.CutPrefix(k, "extra/"); ok {
			c.Extra[name] = v
		}
	}
	if c.Epoch < 0 || c.Batch < 0 || c.Step < 0 || c.GSteps < 0 || c.OptimGSteps < 0 || c.OptimDSteps < 0 {
		return nil, fmt.Errorf("%s: negative counters (epoch %d, batch %d, step %d): the file is damaged", path, c.Epoch, c.Batch, c.Step)
	}
	if len(c.Generator) == 0 {
		return nil, fmt.Errorf("%s: holds no generator", path)
	}
	if k := cfg.Model.NumClasses; k > 0 && len(c.Classes) != k {
		return nil, fmt.Errorf("%s: model.num_classes = %d but the checkpoint names %d classes", path, k, len(c.Classes))
	}
	if err := c.checkSize(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.CheckFinite(); err != nil {
		return nil, fmt.Errorf("%s: %w; use an earlier checkpoint", path, err)
	}
	ok = true
	return c, nil
}

func sub(a *torch.Archive, prefix string) map[string]*torch.Tensor {
	sd := map[string]*torch.Tensor{}
	for k, v := range a.Tensors {
		if rest, ok := strings.CutPrefix(k, prefix+"/"); ok {
			sd[rest] = v
		}
	}
	return sd
}

// CheckFinite reports the first network tensor (in name order) holding NaN or Inf: such a
// checkpoint renders black images and cannot be trained on.
func (c *Checkpoint) CheckFinite() error {
	for _, part := range []struct {
		name string
		sd   map[string]*torch.Tensor
	}{{"generator", c.Generator}, {"generator_ema", c.GeneratorEMA}, {"critic", c.Critic}} {
		if name := firstNonFinite(part.sd); name != "" {
			return fmt.Errorf("%s %s holds NaN or Inf values (the training diverged before it was saved)", part.name, name)
		}
	}
	return nil
}

// firstNonFinite is the first tensor of sd, by name, with a NaN or Inf value ("" if none).
func firstNonFinite(sd map[string]*torch.Tensor) string {
	names := make([]string, 0, len(sd))
	for n := range sd {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if t := sd[n]; t.DType() == torch.Float32 || t.DType() == torch.Float64 || t.DType() == torch.Float16 {
			if !t.AllFinite() {
				return n
			}
		}
	}
	return ""
}

// Free releases a loaded checkpoint's tensors.
func (c *Checkpoint) Free() {
	if c.archive != nil {
		c.archive.Free()
		c.archive = nil
	}
}

// SamplingWeights is the state dict samples come from: the EMA generator when there is one.
func (c *Checkpoint) SamplingWeights() map[string]*torch.Tensor {
	if len(c.GeneratorEMA) > 0 {
		return c.GeneratorEMA
	}
	return c.Generator
}

// checkSize: the stored config decides what gets allocated (networks, optimizers), and a small
// hostile file could describe a huge network, so its weights must be of about the size it
// describes (Params is an estimate: slack).
func (c *Checkpoint) checkSize() error {
	stored, critic := numel(c.SamplingWeights()), numel(c.Critic)
	wantG, wantD := c.Config.Model.ParamCounts()
	if wantG > 4*stored+1<<20 {
		return fmt.Errorf("its config describes a generator of about %d parameters but it stores %d weights: not an sgan checkpoint of this config", wantG, stored)
	}
	// The critic (built by train --init and --resume) is bounded by the critic stored, or, in a
	// checkpoint without one (a sampling-only export), by a generous multiple of the generator.
	limit := 4*critic + 1<<20
	if len(c.Critic) == 0 {
		limit = 64*stored + 1<<20
	}
	if wantD > limit {
		return fmt.Errorf("its config describes a critic of about %d parameters but it stores %d critic and %d generator weights: not an sgan checkpoint of this config", wantD, critic, stored)
	}
	return nil
}

// numel is the number of values in a state dict.
func numel(sd map[string]*torch.Tensor) int64 {
	var n int64
	for _, t := range sd {
		n += t.Numel()
	}
	return n
}

// Sampler builds the generator samples come from (the EMA copy when present) on device d.
func (c *Checkpoint) Sampler(d torch.Device) (*model.Generator, error) {
	if err := c.checkSize(); err != nil {
		return nil, err
	}
	G, err := model.NewGenerator(c.Config.Model, 0, d)
	if err != nil {
		return nil, err
	}
	if err := G.Store.Load(c.SamplingWeights()); err != nil {
		G.Free()
		return nil, err
	}
	return G, nil
}

// LoadGenerator builds the sampling generator of a checkpoint (the EMA copy when present) on
// device d, with its config and class names.
func LoadGenerator(path string, d torch.Device) (*model.Generator, Config, []string, error) {
	ck, err := LoadCheckpoint(path)
	if err != nil {
		return nil, Config{}, nil, err
	}
	defer ck.Free()
	G, err := ck.Sampler(d)
	if err != nil {
		return nil, Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	return G, ck.Config, ck.Classes, nil
}

// Dir is a run folder and its layout: config.toml, models/ (checkpoints), stylegan_outputs/
// (sample grids), losses.csv and losses.png, and the .lock of a training in progress.
type Dir string

// Models is the checkpoint folder.
func (d Dir) Models() string { return filepath.Join(string(d), "models") }

// Samples is the sample-grid folder.
func (d Dir) Samples() string { return filepath.Join(string(d), "stylegan_outputs") }

// Last is the newest checkpoint, models/last.pt.
func (d Dir) Last() string { return filepath.Join(d.Models(), "last.pt") }

// Epoch is the checkpoint of epoch e, models/epochNNN.pt.
func (d Dir) Epoch(e int) string { return filepath.Join(d.Models(), fmt.Sprintf("epoch%03d.pt", e)) }

// Grid is the sample grid of epoch e.
func (d Dir) Grid(e int) string { return filepath.Join(d.Samples(), fmt.Sprintf("epoch%03d.png", e)) }

// ConfigFile is the run's config.toml.
func (d Dir) ConfigFile() string { return filepath.Join(string(d), "config.toml") }

// LossLog is the run's losses.csv.
func (d Dir) LossLog() string { return filepath.Join(string(d), "losses.csv") }

// LossPlot is the run's losses.png.
func (d Dir) LossPlot() string { return filepath.Join(string(d), "losses.png") }

// Create makes the run folder and its subfolders.
func (d Dir) Create() error {
	for _, p := range []string{string(d), d.Models(), d.Samples()} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("run.dir: %w", err)
		}
	}
	return nil
}
