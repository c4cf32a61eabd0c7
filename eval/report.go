package eval

import (
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/tabwriter"

	"sgan/figure"
	"sgan/internal/safefile"
)

// WriteJSON writes the report as indented JSON (eval.json) atomically.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return safefile.Write(path, append(b, '\n'))
}

// MarshalJSON writes a NaN or Inf (a number that cannot be computed, e.g. nn_ratio when test
// images duplicate training images) as -1, since JSON has no NaN.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	b, err := json.Marshal(plain(r))
	if err != nil && strings.Contains(err.Error(), "unsupported value") {
		c := r
		if r.FID != nil { // copies, so fixing c leaves r alone
			fid, kid := *r.FID, *r.KIDInc
			c.FID, c.KIDInc = &fid, &kid
		}
		fix := func(v *float64) {
			if math.IsNaN(*v) || math.IsInf(*v, 0) {
				*v = -1
			}
		}
		for _, v := range []*float64{&c.FD, &c.KID.Mean, &c.KID.Std, &c.PRDC.Precision, &c.PRDC.Recall, &c.PRDC.Density, &c.PRDC.Coverage,
			&c.CopyPixel.MeehanZU, &c.CopyDomain.MeehanZU, &c.CopyPixel.MedianRatio, &c.CopyDomain.MedianRatio} {
			fix(v)
		}
		if c.FID != nil {
			fix(c.FID)
			fix(&c.KIDInc.Mean)
			fix(&c.KIDInc.Std)
		}
		return json.Marshal(plain(c))
	}
	return b, err
}

// WriteTable prints one row per image set: the reference first, then every checkpoint.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	util := false
	for _, m := range r.Models {
		util = util || m.Utility != nil
	}
	inc := r.Inception != nil
	head := "model\timages\tswd\tfd_domain\tkid_domain\t"
	if inc {
		head += "fid\tkid\t"
	}
	head += "precision\trecall\tdensity\tcoverage\tcopy_px\tcopy_dom\tnn_ratio\tz_u\tmemorization\t"
	if util {
		head += "acc_syn\tauc_syn\tacc_real+syn\tauc_real+syn\t"
	}
	fmt.Fprintln(tw, head)
	rows := append([]Result{r.Reference}, r.Models...)
	for _, m := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.4f\t%.5f\t", m.Name, m.Images, m.SWD.Mean, m.FD, m.KID.Mean)
		if inc {
			if m.FID != nil {
				fmt.Fprintf(tw, "%.2f\t%.5f\t", *m.FID, m.KIDInc.Mean)
			} else {
				fmt.Fprint(tw, "-\t-\t")
			}
		}
		fmt.Fprintf(tw, "%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t%s\t", m.PRDC.Precision, m.PRDC.Recall, m.PRDC.Density, m.PRDC.Coverage, m.CopyPixel.CopyFrac, m.CopyDomain.CopyFrac, m.CopyPixel.MedianRatio, m.CopyPixel.MeehanZU, verdict(m))
		if util {
			if m.Utility != nil {
				u := m.Utility
				fmt.Fprintf(tw, "%.3f\t%.3f\t%.3f\t%.3f\t", u.Syn.Acc, u.Syn.AUC, u.RealSyn.Acc, u.RealSyn.AUC)
			} else {
				fmt.Fprint(tw, "-\t-\t-\t-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "real: %s, %d train / %d %s images at %dx%d; features: %s (%d steps), not Inception: compare only within this data\n",
		r.Data, r.TrainImages, r.TestImages, r.TestSplit, r.Resolution, r.Resolution, r.FeatureNet.Kind, r.FeatureNet.Steps)
	if inc {
		fmt.Fprintf(w, "fid, kid: in the %d-d features of %s (images as 8-bit RGB resized to %dx%d); comparable with published numbers only if that is the standard Inception-v3 extractor and the image counts match\n",
			r.Inception.Dim, r.Inception.Path, InceptionSide, InceptionSide)
	}
	if util {
		for _, m := range r.Models {
			if m.Utility != nil {
				fmt.Fprintf(w, "utility baseline (real only): acc %.3f auc %.3f\n", m.Utility.Real.Acc, m.Utility.Real.AUC)
				break
			}
		}
	}
	if len(r.PrecisionYardstick) > 0 {
		var parts []string
		for _, y := range r.PrecisionYardstick {
			parts = append(parts, fmt.Sprintf("%d px score %.3f", y.ShiftPx, y.Precision))
		}
		fmt.Fprintf(w, "precision yardstick: real train images moved sideways by %s (the scale of precision on this data: low when the real images are near-copies of each other)\n", strings.Join(parts, ", "))
	}
	r.writeGroups(w)
	fmt.Fprintf(w, "copy_px: share of generated images nearer a training image than the %gth percentile of test->train distances (~%.2f = like unseen data, 1 = copies)\n",
		r.Reference.CopyPixel.Percentile, r.Reference.CopyPixel.Percentile/100)
}

// writeGroups prints each group's metrics over its runs as mean ± sample standard deviation.
func (r *Report) writeGroups(w io.Writer) {
	if len(r.Groups) == 0 {
		return
	}
	fmt.Fprintln(w, "\nper variant, mean ± sd over its runs:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "variant\truns\t")
	for _, m := range groupMetrics {
		fmt.Fprintf(tw, "%s\t", m.name)
	}
	fmt.Fprintln(tw)
	for _, g := range r.Groups {
		fmt.Fprintf(tw, "%s\t%d\t", g.Name, g.Runs)
		for _, m := range groupMetrics {
			st := g.Metrics[m.name]
			fmt.Fprintf(tw, m.format+" ± "+m.format+"\t", st.Mean, st.SD)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// PairsFigure shows the n generated images of res closest to a training image (pixel space),
// each beside that training image, captioned with the distance and the copy threshold.
func (r *Report) PairsFigure(res Result, n int) image.Image {
	train := r.train
	c := res.CopyPixel
	n = min(n, len(c.Closest))
	gen := make([]image.Image, n)
	real := make([]image.Image, n)
	caps := make([]string, n)
	s := res.Samples
	for k, i := range c.Closest[:n] {
		gen[k] = figure.ToImage(s.Pix, s.N, s.C, s.H, s.W, i)
		real[k] = figure.ToImage(train.Pix, train.N, train.C, train.H, train.W, c.GenIdx[i])
		mark := ""
		if c.GenNN[i] < c.Threshold {
			mark = " COPY?"
		}
		caps[k] = fmt.Sprintf("#%d d=%.3f%s", i, c.GenNN[i], mark)
	}
	return figure.Pairs(gen, real, caps, figure.DefaultPad)
}

// Figure is the one-page summary: per image set (reference first) a caption with its numbers,
// 16 samples, and the closest generated/training pairs.
func (r *Report) Figure(pairs int) image.Image {
	var rows []image.Image
	for _, m := range append([]Result{r.Reference}, r.Models...) {
		s := m.Samples
		k := min(16, s.N)
		grid := figure.GridFromBatch(s.Pix[:k*s.Dim()], k, s.C, s.H, s.W, 8)
		fidText := ""
		if m.FID != nil {
			fidText = fmt.Sprintf("  fid %.2f  kid %.4f", *m.FID, m.KIDInc.Mean)
		}
		text := fmt.Sprintf("%s (%d images)  memorization: %s\nswd %.2f  fd_domain %.3f  kid_domain %.4f%s\nprecision %.2f recall %.2f  density %.2f coverage %.2f\ncopy_px %.3f copy_dom %.3f (unseen ~%.2f)  nn_ratio %.2f  z_u %.1f",
			m.Name, m.Images, verdict(m), m.SWD.Mean, m.FD, m.KID.Mean, fidText, m.PRDC.Precision, m.PRDC.Recall, m.PRDC.Density, m.PRDC.Coverage,
			m.CopyPixel.CopyFrac, m.CopyDomain.CopyFrac, m.CopyPixel.Percentile/100, m.CopyPixel.MedianRatio, m.CopyPixel.MeehanZU)
		if u := m.Utility; u != nil {
			text += fmt.Sprintf("\nutility acc/auc: synthetic %.2f/%.2f, real+synthetic %.2f/%.2f, real only %.2f/%.2f",
				u.Syn.Acc, u.Syn.AUC, u.RealSyn.Acc, u.RealSyn.AUC, u.Real.Acc, u.Real.AUC)
		}
		left := figure.Labeled(grid, text)
		right := figure.Labeled(r.PairsFigure(m, pairs), "closest pairs: generated | training")
		rows = append(rows, figure.Grid([]image.Image{left, right}, 2, figure.DefaultPad, figure.Background))
	}
	return figure.Grid(rows, 1, figure.DefaultPad, figure.Background)
}

// verdict is the memorization column: "SUSPECT" when either space's copy test fires.
func verdict(m Result) string {
	if m.CopyPixel.Suspect() || m.CopyDomain.Suspect() {
		return "SUSPECT"
	}
	return "ok"
}

// WriteOutputs writes out/eval.json, out/eval.png (the one-page figure, 4 pairs per row) and
// out/pairs-NAME.png (the pairs closest generated/training pairs of each checkpoint).
func (r *Report) WriteOutputs(out string, pairs int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("eval: %s: %w", out, err)
	}
	if err := r.WriteJSON(filepath.Join(out, "eval.json")); err != nil {
		return err
	}
	if err := figure.SavePNG(filepath.Join(out, "eval.png"), r.Figure(4)); err != nil {
		return err
	}
	for _, m := range r.Models {
		name := "pairs-" + unsafeName.ReplaceAllString(m.Name, "_") + ".png"
		if err := figure.SavePNG(filepath.Join(out, name), r.PairsFigure(m, pairs)); err != nil {
			return err
		}
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
