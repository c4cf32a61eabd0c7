package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"sgan/torch"
)

// netVersion changes whenever the feature net's architecture or training recipe changes, so
// old cached nets are never mistaken for current ones.
const netVersion = "sgan-eval-featnet-v1"

// DataKey identifies a training set for the feature-net cache: a SHA-256 over the decoded
// pixels (at the evaluated resolution and channels), labels, class names and the training
// recipe. It is content-keyed, so the same images give the same key wherever the folder lives,
// and any changed, added or removed image gives a new one.
func DataKey(imgs Images, classes []string, cfg TrainConfig) string {
	cfg = cfg.withDefaults()
	h := sha256.New()
	fmt.Fprintf(h, "%s\nres=%d ch=%d n=%d\nclasses=%q\nsteps=%d batch=%d lr=%g seed=%d hflip=%v\n", netVersion,
		imgs.H, imgs.C, imgs.N, classes, cfg.Steps, cfg.BatchSize, cfg.LR, cfg.Seed, cfg.HFlip)
	var b [4]byte
	for _, v := range imgs.Pix {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	for _, l := range imgs.Labels {
		binary.LittleEndian.PutUint32(b[:], uint32(l))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// DefaultCacheDir is ~/.cache/sgan (or the OS's user cache folder).
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "sgan")
	}
	return filepath.Join(os.TempDir(), "sgan-cache")
}

// Save writes the net as a torch.save file (Python: torch.load(path)["weights"]).
func (n *Net) Save(path string) error {
	a := torch.NewArchive()
	a.Strings["format"] = netVersion
	a.Strings["kind"] = n.Kind
	a.Strings["classes"] = strings.Join(n.Classes, "\n")
	a.Ints["res"], a.Ints["channels"], a.Ints["steps"] = int64(n.Res), int64(n.Ch), int64(n.Steps)
	a.Floats["loss"] = n.Loss
	for k, v := range n.params {
		a.Tensors["weights/"+k] = v
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("eval: feature cache: %w", err)
	}
	return torch.SaveArchive(path, a)
}

// LoadNet reads a net written by Save.
func LoadNet(path string) (*Net, error) {
	a, err := torch.LoadArchive(path)
	if err != nil {
		return nil, err
	}
	defer a.Free()
	if a.Strings["format"] != netVersion {
		return nil, fmt.Errorf("eval: %s: not a %s feature net", path, netVersion)
	}
	var classes []string
	if s := a.Strings["classes"]; s != "" {
		classes = strings.Split(s, "\n")
	}
	n, err := newNet(a.Strings["kind"], classes, int(a.Ints["res"]), int(a.Ints["channels"]), 0)
	if err != nil {
		return nil, err
	}
	n.Steps, n.Loss = int(a.Ints["steps"]), a.Floats["loss"]
	err = torch.Try(func() {
		for k, p := range n.params {
			src, ok := a.Tensors["weights/"+k]
			if !ok {
				panic(&torch.Error{Op: "load feature net", Msg: path + " lacks " + k})
			}
			torch.NoGrad(func() { p.CopyFrom(src) })
		}
	})
	if err != nil {
		n.Free()
		return nil, err
	}
	return n, nil
}

// CachedNet returns the feature net for this training set from cacheDir
// (features-<DataKey>.pt), training and saving it first when absent. cached reports a hit.
func CachedNet(cacheDir string, imgs Images, classes []string, cfg TrainConfig, progress func(step, steps int)) (n *Net, path string, cached bool, err error) {
	path = filepath.Join(cacheDir, "features-"+DataKey(imgs, classes, cfg)+".pt")
	if _, err := os.Stat(path); err == nil {
		n, err := LoadNet(path)
		if err == nil {
			return n, path, true, nil
		}
		// A damaged cache file is retrained over.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, path, false, fmt.Errorf("eval: feature cache: %w", err)
	}
	n, err = TrainNet(imgs, classes, cfg, progress)
	if err != nil {
		return nil, path, false, err
	}
	if err := n.Save(path); err != nil {
		n.Free()
		return nil, path, false, err
	}
	return n, path, false, nil
}
