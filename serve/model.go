package serve

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sgan/model"
	"sgan/project"
	"sgan/run"
	"sgan/sample"
	"sgan/torch"
)

// loaded is the generator the server renders from. Its tensors are used and freed only on the
// queue's thread; the other fields are read-only after loadModel.
type loaded struct {
	G       *model.Generator
	s       *sample.Sampler // renders seeds (its Noise is set per request)
	p       *project.Model  // projects uploads (the same generator, frozen)
	path    string          // the checkpoint file
	name    string          // how the page and the log name the model
	epoch   int
	classes []string
	version string    // names this load in image URLs and cache keys
	stamp   fileStamp // the file when it was read
	mix     map[string][2]int
}

// fileStamp identifies a version of a file: a rewrite (atomic rename) changes it.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.Size(), st.ModTime()}, nil
}

// loadModel reads the sampling generator of checkpoint path onto d. It runs on the queue's
// thread.
func loadModel(path, name string, d torch.Device) (*loaded, error) {
	stamp, err := stampOf(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	defer ck.Free()
	G, err := ck.Sampler(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pm, err := project.NewModel(G, ck.Classes, path)
	if err != nil {
		G.Free()
		return nil, err
	}
	if name == "" {
		name = path
	}
	abs, _ := filepath.Abs(path)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", abs, stamp.size, stamp.mod.UnixNano()))
	m := &loaded{G: G, p: pm, path: path, name: name, epoch: ck.Epoch, classes: ck.Classes,
		version: fmt.Sprintf("%x", sum[:6]), stamp: stamp, mix: map[string][2]int{},
		s: &sample.Sampler{G: G, Classes: ck.Classes, Device: d, Ckpt: path, Noise: model.NoiseConst}}
	for _, layers := range mixLayers {
		lo, hi, err := m.s.MixRange(layers)
		if err != nil {
			G.Free()
			return nil, err
		}
		m.mix[layers] = [2]int{lo, hi}
	}
	return m, nil
}

// mixLayers are the layer ranges style mixing offers.
var mixLayers = []string{"coarse", "middle", "fine"}

// free releases the generator (queue thread).
func (m *loaded) free() { m.G.Free() }

// conditional reports whether the model takes a class label.
func (m *loaded) conditional() bool { return m.G.Cfg.NumClasses > 0 }

// side is the image side in pixels.
func (m *loaded) side() int { return m.G.Cfg.Resolution }

// channels is 1 (grayscale) or 3.
func (m *loaded) channels() int { return m.G.Cfg.Channels }
