package train

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sgan/model"
	"sgan/torch"
)

// CheckpointFormat marks sgan checkpoints; files without it are refused with a clear message.
const CheckpointFormat = "sgan-checkpoint-v1"

// A checkpoint is a torch.save-compatible dict:
//
//	format, config (TOML), classes ("\n"-joined), epoch, batch, step, g_steps, pl_mean,
//	generator/<name>, generator_ema/<name>, critic/<name>  (state dicts, NVlabs names)
//	optim_g/..., optim_d/..., optim_g_steps, optim_d_steps, rng/torch
//
// In Python: ck = torch.load("models/epoch150.pt"); ck["generator_ema"]["synthesis.b64.conv1.weight"].
func (t *Trainer) save(paths ...string) error {
	a := torch.NewArchive()
	a.Strings["format"] = CheckpointFormat
	a.Strings["config"] = t.Cfg.TOML()
	a.Strings["classes"] = strings.Join(t.classes, "\n")
	a.Ints["epoch"] = int64(t.epoch)
	a.Ints["batch"] = int64(t.batch)
	a.Ints["step"] = t.step
	a.Ints["g_steps"] = t.gSteps
	a.Ints["optim_g_steps"] = t.optG.Steps()
	a.Ints["optim_d_steps"] = t.optD.Steps()
	a.Floats["pl_mean"] = t.plMean
	put := func(prefix string, sd map[string]*torch.Tensor) {
		for k, v := range sd {
			a.Tensors[prefix+"/"+k] = v
		}
	}
	put("generator", t.G.Store.StateDict())
	put("critic", t.Dnet.Store.StateDict())
	if t.GEma != nil {
		put("generator_ema", t.GEma.Store.StateDict())
	}
	put("optim_g", t.optG.State(""))
	put("optim_d", t.optD.State(""))
	var st *torch.Tensor
	if err := torch.Try(func() { st = t.gen.State().Keep() }); err != nil {
		return err
	}
	defer st.Free()
	a.Tensors["rng/torch"] = st
	// Serialized once, written to every path (last.pt and an epoch checkpoint share the bytes).
	b, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	for _, path := range paths {
		if err := torch.WriteFileAtomic(path, b); err != nil {
			return fmt.Errorf("train: checkpoint %s: %w (the previous checkpoint is intact)", path, err)
		}
	}
	return nil
}

// ResolveCheckpoint turns a run folder into its models/last.pt; a file path is returned as is.
func ResolveCheckpoint(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("train: %s: no such run folder or checkpoint", p)
	}
	if st.IsDir() {
		last := filepath.Join(p, "models", "last.pt")
		if _, err := os.Stat(last); err != nil {
			return "", fmt.Errorf("train: %s has no models/last.pt to resume from", p)
		}
		return last, nil
	}
	return p, nil
}

// LoadCheckpoint reads an sgan checkpoint, refusing other files with a one-line error.
func LoadCheckpoint(path string) (*torch.Archive, error) {
	a, err := torch.LoadArchive(path)
	if err != nil {
		return nil, fmt.Errorf("%w (is it an sgan checkpoint from models/?)", err)
	}
	if a.Strings["format"] != CheckpointFormat {
		a.Free()
		return nil, fmt.Errorf("%s: not an sgan checkpoint (no format %q); use a file from RUN/models/", path, CheckpointFormat)
	}
	return a, nil
}

// ConfigOf returns the config stored in a checkpoint.
func ConfigOf(a *torch.Archive) (Config, error) {
	return ParseConfig(a.Strings["config"], DefaultConfig())
}

// StateDict extracts the tensors under prefix/ from a checkpoint archive.
func StateDict(a *torch.Archive, prefix string) map[string]*torch.Tensor {
	sd := map[string]*torch.Tensor{}
	for k, v := range a.Tensors {
		if rest, ok := strings.CutPrefix(k, prefix+"/"); ok {
			sd[rest] = v
		}
	}
	return sd
}

// LoadGenerator builds the sampling generator of a checkpoint (the EMA copy when present) on
// device d, with its config and class names.
func LoadGenerator(path string, d torch.Device) (*model.Generator, Config, []string, error) {
	a, err := LoadCheckpoint(path)
	if err != nil {
		return nil, Config{}, nil, err
	}
	defer a.Free()
	cfg, err := ConfigOf(a)
	if err != nil {
		return nil, Config{}, nil, fmt.Errorf("%s: stored config: %w", path, err)
	}
	G, err := model.NewGenerator(cfg.Model, 0, d)
	if err != nil {
		return nil, Config{}, nil, err
	}
	sd := StateDict(a, "generator_ema")
	if len(sd) == 0 {
		sd = StateDict(a, "generator")
	}
	if err := G.Store.Load(sd); err != nil {
		G.Free()
		return nil, Config{}, nil, fmt.Errorf("%s: %w", path, err)
	}
	var classes []string
	if s := a.Strings["classes"]; s != "" {
		classes = strings.Split(s, "\n")
	}
	return G, cfg, classes, nil
}

// restore loads a checkpoint into a trainer built from the same config.
func (t *Trainer) restore(p string) error {
	path, err := ResolveCheckpoint(p)
	if err != nil {
		return err
	}
	a, err := LoadCheckpoint(path)
	if err != nil {
		return err
	}
	defer a.Free()
	for _, part := range []struct {
		prefix string
		store  *model.Store
	}{{"generator", t.G.Store}, {"critic", t.Dnet.Store}} {
		if err := part.store.Load(StateDict(a, part.prefix)); err != nil {
			return fmt.Errorf("resume %s: %s: %w (was it trained with another model config?)", path, part.prefix, err)
		}
	}
	if t.GEma != nil {
		sd := StateDict(a, "generator_ema")
		if len(sd) == 0 {
			sd = StateDict(a, "generator")
		}
		if err := t.GEma.Store.Load(sd); err != nil {
			return fmt.Errorf("resume %s: generator_ema: %w", path, err)
		}
	}
	if err := t.optG.LoadState("", StateDict(a, "optim_g"), a.Ints["optim_g_steps"]); err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	if err := t.optD.LoadState("", StateDict(a, "optim_d"), a.Ints["optim_d_steps"]); err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	if st, ok := a.Tensors["rng/torch"]; ok {
		if err := t.gen.SetState(st); err != nil {
			return fmt.Errorf("resume %s: %w", path, err)
		}
	}
	t.epoch, t.batch = int(a.Ints["epoch"]), int(a.Ints["batch"])
	t.step, t.gSteps = a.Ints["step"], a.Ints["g_steps"]
	t.plMean = a.Floats["pl_mean"]
	fmt.Fprintf(t.Out, "sgan: resuming from %s at epoch %d, batch %d (step %d)\n", path, t.epoch+1, t.batch, t.step)
	return nil
}

// SaveCheckpoint writes the trainer's current state to path (atomically).
func (t *Trainer) SaveCheckpoint(path string) error { return t.save(path) }
