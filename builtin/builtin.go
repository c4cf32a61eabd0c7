package builtin

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the model file
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"sgan/internal/safefile"
	"sgan/run"
	"sgan/torch"
)

//go:embed demo.pt
var demo []byte

// Bytes is the embedded model file, an sgan checkpoint (see the package comment).
func Bytes() []byte { return demo }

// Info describes the built-in model.
type Info struct {
	Epochs     int      // training epochs behind it
	Data       string   // what it was trained on
	Resolution int      // image side in pixels
	Classes    []string // class names of a conditional model (nil for an unconditional one)
	Precision  string   // how its weights are stored: float32 or float16
	Bytes      int      // size of the model file
}

// String is how sgan names the model in the one line it prints: "the built-in demo model
// (trained on the embedded demo slices, 240 epochs)".
func (i Info) String() string {
	return fmt.Sprintf("the built-in demo model (trained on %s, %d epochs)", i.Data, i.Epochs)
}

// Describe reads the Info of the sgan checkpoint at path (a file Extract wrote, or any other).
func Describe(path string) (Info, error) {
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return Info{}, err
	}
	defer ck.Free()
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, fmt.Errorf("builtin: %w", err)
	}
	return describe(ck, int(st.Size())), nil
}

func describe(ck *run.Checkpoint, size int) Info {
	data := ck.Config.Data.Root
	switch data {
	case "", "demo":
		data = "the embedded demo slices"
	default:
		data = filepath.Base(filepath.Clean(data))
	}
	prec := "float32"
	for _, t := range ck.SamplingWeights() {
		if t.DType() == torch.Float16 {
			prec = "float16" // Extract converts every floating-point tensor alike
		}
	}
	var classes []string
	if ck.Config.Model.NumClasses > 0 {
		classes = ck.Classes
	}
	return Info{Epochs: ck.Epoch, Data: data, Resolution: ck.Config.Model.Resolution, Classes: classes, Precision: prec, Bytes: size}
}

// Open writes the built-in model to a file (Path) and returns the file and its Info.
func Open() (string, Info, error) {
	p, err := Path()
	if err != nil {
		return "", Info{}, err
	}
	info, err := Describe(p)
	if err != nil {
		return "", Info{}, fmt.Errorf("builtin: the embedded model: %w", err)
	}
	return p, info, nil
}

// Path returns a file holding the built-in model, for the code that reads checkpoints from
// files (and records their path and hash, as sample.Export's manifest does). The file is
// $XDG_CACHE_HOME/sgan/builtin-demo-HASH.pt (HASH: the start of the content's SHA-256), or the
// same name under $TMPDIR/sgan-UID when the cache folder cannot be written; it is written
// (atomically) only when missing or different.
func Path() (string, error) {
	if len(demo) == 0 {
		return "", errors.New("this sgan was built without a built-in model (builtin/demo.pt is empty): name a checkpoint with --ckpt")
	}
	sum := sha256.Sum256(demo)
	name := fmt.Sprintf("builtin-demo-%x.pt", sum[:6])
	var errs []string
	if d, err := os.UserCacheDir(); err == nil {
		dir := filepath.Join(d, "sgan")
		p, err := writeOnce(dir, name, 0o755)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err.Error())
	}
	// A shared temporary folder: a folder of our own that others cannot write into.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("sgan-%d", os.Getuid()))
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = checkPrivate(dir)
	}
	if err == nil {
		var p string
		if p, err = writeOnce(dir, name, 0o700); err == nil {
			return p, nil
		}
	}
	errs = append(errs, err.Error())
	return "", fmt.Errorf("builtin: cannot write the built-in model to a file (set XDG_CACHE_HOME to a writable folder): %s", strings.Join(errs, "; "))
}

// writeOnce makes sure dir/name holds the embedded model, writing it (atomically) only when it
// is missing or differs, and returns the path.
func writeOnce(dir, name string, perm os.FileMode) (string, error) {
	p := filepath.Join(dir, name)
	// Only a file of the model's size is read and compared: another is rewritten unread.
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() == int64(len(demo)) {
		if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, demo) {
			return p, nil
		}
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return "", err
	}
	if err := safefile.Write(p, demo); err != nil {
		return "", err
	}
	return p, nil
}

// checkPrivate refuses a folder that other users own or can write into (another user may have
// made the temporary folder's sgan-UID first).
func checkPrivate(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is not a private folder (a link, or writable by others): remove it", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to another user (uid %d): remove it", dir, sys.Uid)
	}
	return nil
}

// Extract writes the sampling generator of src (a checkpoint, or a run folder: its
// models/last.pt) to dst as an sgan checkpoint that holds only that generator, under
// "generator" (so it is what run.Checkpoint.SamplingWeights returns), with the run's config,
// class names and counters; no critic, optimizer or random state. Floating-point tensors are
// stored as dt (torch.Float32, or torch.Float16 to halve the file; loading copies them back
// into the float32 generator). The write is atomic. It returns the new file's Info.
func Extract(src, dst string, dt torch.DType) (Info, error) {
	if dt != torch.Float32 && dt != torch.Float16 {
		return Info{}, fmt.Errorf("builtin: precision %v: use float32 or float16", dt)
	}
	path, err := run.ResolveCheckpoint(src)
	if err != nil {
		return Info{}, err
	}
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return Info{}, err
	}
	defer ck.Free()
	out := &run.Checkpoint{Config: ck.Config, Classes: ck.Classes, Epoch: ck.Epoch, Step: ck.Step, GSteps: ck.GSteps,
		Generator: map[string]*torch.Tensor{}}
	var saveErr error
	err = torch.Try(func() {
		torch.WithScope(func() {
			for name, t := range ck.SamplingWeights() {
				if t.DType() == torch.Float32 {
					t = t.ToDType(dt)
				}
				out.Generator[name] = t
			}
			saveErr = out.Save(dst)
		})
	})
	if err = errors.Join(err, saveErr); err != nil {
		return Info{}, fmt.Errorf("builtin: extract %s: %w", path, err)
	}
	return Describe(dst)
}
