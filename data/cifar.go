package data

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR-10 binary release constants.
const (
	cifarSide   = 32
	cifarRecord = 1 + 3*cifarSide*cifarSide
)

// CIFAR10Classes are the default CIFAR-10 class names, used when the folder
// has no batches.meta.txt.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// CIFAR10 is the CIFAR-10 binary release (cifar-10-batches-bin) held in
// memory: 50000 training or 10000 test 32x32 RGB images.
type CIFAR10 struct {
	dir     string
	files   []string // file of each chunk
	starts  []int    // first image index of each chunk
	raw     [][]byte // file contents
	n       int
	classes []string
}

// IsCIFAR10Dir reports whether dir holds the CIFAR-10 binary release.
func IsCIFAR10Dir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "data_batch_1.bin"))
	if err == nil {
		return true
	}
	_, err = os.Stat(filepath.Join(dir, "test_batch.bin"))
	return err == nil
}

// OpenCIFAR10 reads the CIFAR-10 binary release in dir: data_batch_1.bin …
// data_batch_5.bin when train is true, test_batch.bin otherwise. Class names
// come from batches.meta.txt when present.
func OpenCIFAR10(dir string, train bool) (*CIFAR10, error) {
	names := []string{"test_batch.bin"}
	if train {
		names = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	}
	c := &CIFAR10{dir: dir, classes: CIFAR10Classes}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("data: %s: no such folder (set data.root to the cifar-10-batches-bin folder)", dir)
	}
	for _, name := range names {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("data: %s: missing CIFAR-10 file (download and unpack cifar-10-binary.tar.gz into %s)", p, dir)
			}
			return nil, fmt.Errorf("data: reading CIFAR-10: %w", err)
		}
		if len(b) == 0 || len(b)%cifarRecord != 0 {
			return nil, fmt.Errorf("data: %s: %d bytes is not a whole number of %d-byte CIFAR-10 records (re-download the binary release)", p, len(b), cifarRecord)
		}
		for off := 0; off < len(b); off += cifarRecord {
			if b[off] > 9 {
				return nil, fmt.Errorf("data: %s: record %d has label %d, want 0-9 (not the CIFAR-10 binary format; re-download the binary release)", p, off/cifarRecord, b[off])
			}
		}
		c.files = append(c.files, p)
		c.starts = append(c.starts, c.n)
		c.raw = append(c.raw, b)
		c.n += len(b) / cifarRecord
	}
	if meta, err := os.ReadFile(filepath.Join(dir, "batches.meta.txt")); err == nil {
		var cls []string
		for _, line := range strings.Split(string(meta), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				cls = append(cls, line)
			}
		}
		if len(cls) == 10 {
			c.classes = cls
		}
	}
	return c, nil
}

// Len is the number of images.
func (c *CIFAR10) Len() int { return c.n }

// Classes are the ten class names.
func (c *CIFAR10) Classes() []string { return c.classes }

func (c *CIFAR10) locate(i int) (chunk, rec int) {
	chunk = len(c.starts) - 1
	for chunk > 0 && c.starts[chunk] > i {
		chunk--
	}
	return chunk, i - c.starts[chunk]
}

// Label is the class index of image i.
func (c *CIFAR10) Label(i int) int {
	ch, r := c.locate(i)
	return int(c.raw[ch][r*cifarRecord])
}

// Name is "FILE#RECORD" for image i.
func (c *CIFAR10) Name(i int) string {
	ch, r := c.locate(i)
	return fmt.Sprintf("%s#%d", c.files[ch], r)
}

// Load returns image i as a 32x32 *image.RGBA.
func (c *CIFAR10) Load(i int) (image.Image, int, error) {
	if i < 0 || i >= c.n {
		return nil, 0, fmt.Errorf("data: CIFAR-10 index %d out of range [0,%d)", i, c.n)
	}
	ch, r := c.locate(i)
	rec := c.raw[ch][r*cifarRecord : (r+1)*cifarRecord]
	const plane = cifarSide * cifarSide
	img := image.NewRGBA(image.Rect(0, 0, cifarSide, cifarSide))
	for p := 0; p < plane; p++ {
		img.Pix[4*p+0] = rec[1+p]
		img.Pix[4*p+1] = rec[1+plane+p]
		img.Pix[4*p+2] = rec[1+2*plane+p]
		img.Pix[4*p+3] = 255
	}
	return img, int(rec[0]), nil
}
