package project

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"

	"sgan/internal/safefile"
	"sgan/torch"
)

// Compare returns PSNR and SSIM of each image of a against the same image of b (both
// N*C*R*R in [-1, 1]).
func Compare(a, b []float32, n, ch, side int) (psnr, ssim []float64, err error) {
	if len(a) != n*ch*side*side || len(b) != len(a) {
		return nil, nil, fmt.Errorf("project: compare: %d and %d values for %d images of %dx%dx%d", len(a), len(b), n, ch, side, side)
	}
	err = torch.Try(func() {
		torch.WithScope(func() {
			torch.NoGrad(func() {
				x := torch.FromFloat32(a, int64(n), int64(ch), int64(side), int64(side))
				y := torch.FromFloat32(b, int64(n), int64(ch), int64(side), int64(side))
				for _, v := range MSE(x, y).Float32s() {
					psnr = append(psnr, PSNR(float64(v)))
				}
				ssim = float64s(SSIM(x, y).Float32s())
			})
		})
	})
	return psnr, ssim, err
}

// Anomalies computes every target's AnomalyMap against its reconstruction and its AnomalyScore.
func (r *Result) Anomalies(ch, side int, sigma float64) (maps [][]float32, scores []float64) {
	size := ch * side * side
	for i, t := range r.Targets {
		m := AnomalyMap(t.Pix, at(r.Recon, i, size), ch, side, sigma)
		maps = append(maps, m)
		scores = append(scores, AnomalyScore(m))
	}
	return maps, scores
}

// TargetReport is one target's line of proj.json and scores.csv.
type TargetReport struct {
	File         string   `json:"file"`
	Class        string   `json:"class,omitempty"`
	PSNR         float64  `json:"psnr"`
	SSIM         float64  `json:"ssim"`
	MSSSIM       float64  `json:"msssim"`
	Anomaly      float64  `json:"anomaly"`
	BaselinePSNR *float64 `json:"baseline_psnr,omitempty"`
	BaselineSSIM *float64 `json:"baseline_ssim,omitempty"`
}

// Summary holds means over the targets.
type Summary struct {
	PSNR    float64 `json:"psnr"`
	SSIM    float64 `json:"ssim"`
	MSSSIM  float64 `json:"msssim,omitempty"`
	Anomaly float64 `json:"anomaly,omitempty"`
}

// BaselineReport describes the trivial baseline: the mean of a set of images (the training
// images) taken as every target's reconstruction.
type BaselineReport struct {
	Dir    string  `json:"dir"`
	Images int     `json:"images"`
	Mean   Summary `json:"mean"`
}

// ShiftReport describes one class shift of a counterfactual.
type ShiftReport struct {
	From   string  `json:"from"`
	To     string  `json:"to"`
	Norm   float64 `json:"norm"`   // |mean shift| in W
	Spread float64 `json:"spread"` // spread of the per-z shifts relative to Norm (0: a constant shift)
}

// Report is proj.json.
type Report struct {
	Ckpt           string          `json:"ckpt"`
	Space          string          `json:"space"`
	Distance       string          `json:"distance"`
	Steps          int             `json:"steps"`
	Seed           uint64          `json:"seed"`
	OptimizeNoise  bool            `json:"optimize_noise"`
	NoiseReg       float64         `json:"noise_reg"`
	AnomalySigma   float64         `json:"anomaly_sigma"`
	Targets        []TargetReport  `json:"targets"`
	Mean           Summary         `json:"mean"`
	Baseline       *BaselineReport `json:"baseline,omitempty"`
	Counterfactual []ShiftReport   `json:"counterfactual,omitempty"`
	Trace          []Step          `json:"trace"`
}

// NewReport fills a report from a result and the anomaly scores.
func NewReport(m *Model, r *Result, o Options, sigma float64, scores []float64) *Report {
	rep := &Report{Ckpt: m.Ckpt, Space: r.Space.String(), Distance: o.Distance, Steps: o.Steps, Seed: o.Seed,
		OptimizeNoise: o.OptimizeNoise, NoiseReg: o.NoiseReg, AnomalySigma: sigma, Trace: r.Trace}
	n := float64(len(r.Targets))
	for i, t := range r.Targets {
		tr := TargetReport{File: t.Name, Class: m.ClassName(t.Class), PSNR: r.PSNR[i], SSIM: r.SSIM[i], MSSSIM: r.MSSSIM[i], Anomaly: scores[i]}
		rep.Targets = append(rep.Targets, tr)
		rep.Mean.PSNR += tr.PSNR / n
		rep.Mean.SSIM += tr.SSIM / n
		rep.Mean.MSSSIM += tr.MSSSIM / n
		rep.Mean.Anomaly += tr.Anomaly / n
	}
	return rep
}

// SetBaseline records the baseline's PSNR and SSIM per target.
func (rep *Report) SetBaseline(dir string, images int, psnr, ssim []float64) {
	b := &BaselineReport{Dir: dir, Images: images}
	n := float64(len(psnr))
	for i := range psnr {
		rep.Targets[i].BaselinePSNR = &psnr[i]
		rep.Targets[i].BaselineSSIM = &ssim[i]
		b.Mean.PSNR += psnr[i] / n
		b.Mean.SSIM += ssim[i] / n
	}
	rep.Baseline = b
}

// SetShifts records the class shifts of a counterfactual.
func (rep *Report) SetShifts(m *Model, shifts map[int]Shift) {
	var keys []int
	for k := range shifts {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		s := shifts[k]
		rep.Counterfactual = append(rep.Counterfactual, ShiftReport{From: m.ClassName(s.From), To: m.ClassName(s.To), Norm: s.Norm, Spread: s.Spread})
	}
}

// WriteJSON writes the report, indented, atomically.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return fmt.Errorf("project: %s: %w", path, err)
	}
	return safefile.Write(path, append(b, '\n'))
}

// WriteCSV writes scores.csv: file, class, psnr, ssim, anomaly (and the baseline's psnr and
// ssim when there is one), one row per target.
func (rep *Report) WriteCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	w := csv.NewWriter(f)
	head := []string{"file", "class", "psnr", "ssim", "anomaly"}
	if rep.Baseline != nil {
		head = append(head, "baseline_psnr", "baseline_ssim")
	}
	w.Write(head)
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, t := range rep.Targets {
		row := []string{t.File, t.Class, g(t.PSNR), g(t.SSIM), g(t.Anomaly)}
		if t.BaselinePSNR != nil {
			row = append(row, g(*t.BaselinePSNR), g(*t.BaselineSSIM))
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("project: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("project: %s: %w", path, err)
	}
	return nil
}
