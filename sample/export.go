package sample

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sgan/data"
	"sgan/figure"
	"sgan/internal/safefile"
)

// ManifestRow traces one exported image.
type ManifestRow struct {
	File  string  `json:"file"`
	Seed  uint64  `json:"seed"`
	Class string  `json:"class,omitempty"`
	Psi   float64 `json:"psi"`
	Noise string  `json:"noise"`
	Ckpt  string  `json:"checkpoint"`
	Hash  string  `json:"checkpoint_sha256"`
}

// ExportOptions says what Export writes.
type ExportOptions struct {
	Root     string  // output folder; images go to Root/train/CLASS/
	Count    int     // images in all, or per class with PerClass
	PerClass bool    // every class of a conditional model
	Class    int     // the one class otherwise (-1 for unconditional models)
	Psi      float64 // truncation
	Progress func(class string, done, total int)
}

// Export writes a synthetic dataset in the ADNI layout (Root/train/CLASS/syn_SEED.png; the class
// folder is "synthetic" for unconditional models) and, once every image is written,
// Root/manifest.jsonl. Seeds run from 0 across classes, so every image has its own seed. A class
// name that is not one plain folder name (data.CheckClassFolder: "../x", "a/b", ".hidden", ...)
// is refused before anything is written.
func (s *Sampler) Export(o ExportOptions) error {
	if o.Count < 1 {
		return fmt.Errorf("export count %d: must be at least 1", o.Count)
	}
	if err := CheckPsi(o.Psi); err != nil {
		return err
	}
	hash, err := fileSHA256(s.Ckpt)
	if err != nil {
		return err
	}
	type job struct {
		cls  int
		name string
	}
	var jobs []job
	switch {
	case s.G.Cfg.NumClasses == 0:
		jobs = []job{{-1, "synthetic"}}
	case o.PerClass:
		for i, n := range s.Classes {
			jobs = append(jobs, job{i, n})
		}
	default:
		if o.Class < 0 || o.Class >= len(s.Classes) {
			return fmt.Errorf("export: class index %d out of range (the model knows %d classes)", o.Class, len(s.Classes))
		}
		jobs = []job{{o.Class, s.Classes[o.Class]}}
	}
	// Class names come from the checkpoint, which may be hostile: each must be one plain folder
	// name, so that nothing is written outside Root.
	for _, j := range jobs {
		if err := data.CheckClassFolder(j.name); err != nil {
			return fmt.Errorf("export: %s: %v; refusing to make a folder of it under %s (a checkpoint from sgan train names its classes after its class folders)", s.Ckpt, err, o.Root)
		}
	}
	mpath := filepath.Join(o.Root, "manifest.jsonl")
	var manifest bytes.Buffer
	enc := json.NewEncoder(&manifest)
	seed := uint64(0)
	for _, j := range jobs {
		dir := filepath.Join(o.Root, "train", j.name)
		for done := 0; done < o.Count; {
			n := min(256, o.Count-done)
			seeds := make([]uint64, n)
			for i := range seeds {
				seeds[i] = seed
				seed++
			}
			imgs, err := s.Render(seeds, o.Psi, j.cls)
			if err != nil {
				return err
			}
			for i, img := range imgs {
				name := fmt.Sprintf("syn_%06d.png", seeds[i])
				if err := figure.SavePNG(filepath.Join(dir, name), img); err != nil {
					return err
				}
				row := ManifestRow{File: filepath.ToSlash(filepath.Join("train", j.name, name)), Seed: seeds[i], Psi: o.Psi, Noise: NoiseName(s.Noise), Ckpt: s.Ckpt, Hash: hash}
				if j.cls >= 0 {
					row.Class = j.name
				}
				if err := enc.Encode(row); err != nil {
					return fmt.Errorf("export: %s: %w", mpath, err)
				}
			}
			done += n
			if o.Progress != nil {
				o.Progress(j.name, done, o.Count)
			}
		}
	}
	// The manifest is written last, whole: it exists only for a finished export.
	if err := safefile.Write(mpath, manifest.Bytes()); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
