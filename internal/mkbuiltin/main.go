// Command mkbuiltin writes builtin/demo.pt, the model sgan uses when no checkpoint is named, from
// a training run (scripts/make-builtin-model runs it):
//
//	go run ./internal/mkbuiltin [-precision float16|float32] [-out builtin/demo.pt] RUN_DIR_OR_CKPT
//
// It extracts the run's sampling generator (builtin.Extract) and prints the file's figures:
// parameters, size, epochs, and how far images rendered from the stored weights are from the
// run's own (seeds 0-63, psi 1, 8-bit levels).
package main

import (
	"flag"
	"fmt"
	"image"
	"os"

	"sgan/builtin"
	"sgan/run"
	"sgan/sample"
	"sgan/torch"
)

func main() {
	prec := flag.String("precision", "float16", "weight storage: float16 (half the size) or float32")
	out := flag.String("out", "builtin/demo.pt", "file to write")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: mkbuiltin [-precision float16|float32] [-out FILE] RUN_DIR_OR_CKPT")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := mk(flag.Arg(0), *out, *prec); err != nil {
		fmt.Fprintln(os.Stderr, "mkbuiltin:", err)
		os.Exit(1)
	}
}

func mk(src, out, prec string) error {
	dt := torch.Float16
	switch prec {
	case "float16":
	case "float32":
		dt = torch.Float32
	default:
		return fmt.Errorf("-precision %q: use float16 or float32", prec)
	}
	srcPath, err := run.ResolveCheckpoint(src)
	if err != nil {
		return err
	}
	info, err := builtin.Extract(srcPath, out, dt)
	if err != nil {
		return err
	}
	a, err := sample.Open(srcPath, torch.CPU)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := sample.Open(out, torch.CPU)
	if err != nil {
		return err
	}
	defer b.Close()
	seeds := make([]uint64, 64)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	cls, _ := a.ClassIndex("")
	ia, err := a.Render(seeds, 1, cls)
	if err != nil {
		return err
	}
	ib, err := b.Render(seeds, 1, cls)
	if err != nil {
		return err
	}
	maxd, mean := levelDiff(ia, ib)
	fmt.Printf("mkbuiltin: wrote %s from %s: %s\n", out, srcPath, info)
	fmt.Printf("mkbuiltin: %d parameters, %d bytes (%s), %dx%d", b.G.Store.NumParams(), info.Bytes, info.Precision, info.Resolution, info.Resolution)
	if len(info.Classes) > 0 {
		fmt.Printf(", classes %v", info.Classes)
	}
	fmt.Println()
	fmt.Printf("mkbuiltin: %s weights vs the run's: seeds 0-63 differ by at most %d and on average %.4f 8-bit levels\n", info.Precision, maxd, mean)
	fmt.Println("mkbuiltin: rebuild bin/sgan to embed it (go build $SGAN_GO_TAGS -o bin/sgan ./cmd/sgan)")
	return nil
}

// levelDiff is the largest and the mean absolute difference of the 8-bit levels of two image
// lists of the same shapes.
func levelDiff(a, b []image.Image) (int, float64) {
	maxd, sum, n := 0, 0, 0
	for i := range a {
		r := a[i].Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				p, _, _, _ := a[i].At(x, y).RGBA()
				q, _, _, _ := b[i].At(x, y).RGBA()
				d := int(p>>8) - int(q>>8)
				if d < 0 {
					d = -d
				}
				maxd = max(maxd, d)
				sum += d
				n++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return maxd, float64(sum) / float64(n)
}
