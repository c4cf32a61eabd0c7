package eval

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sgan/data"
	"sgan/run"
	"sgan/torch"
)

// Options configure Run; zero fields take the defaults noted.
type Options struct {
	Checkpoints []string     // generator checkpoints (or run folders: their models/last.pt)
	Groups      []string     // optional: a group label per checkpoint (runs of one variant with other seeds); "" = none
	DataRoot    string       // the real data, as data.root; "" = the first checkpoint's data.root
	N           int          // generated images per checkpoint (default 2000)
	MaxReal     int          // cap on real images per split (random subset; default 10000)
	Seed        uint64       // latents, subsets, projections, feature net (default 0)
	Psi         float64      // truncation (default 1 = none)
	Device      torch.Device // where the generators and the Inception module run (the feature net always runs on the CPU)
	Inception   string       // TorchScript feature extractor for fid and kid ("" = none; see InceptionFeatures)
	CacheDir    string       // feature-net cache (default DefaultCacheDir())
	Feature     TrainConfig  // feature-net recipe, its own seed (zero value: 400 steps, batch 32, lr 1e-3, hflip, seed 0)
	SWD         SWDConfig
	KID         KIDConfig
	K           int        // k of precision/recall (default 3)
	Copy        CopyConfig // data-copying test
	NoUtility   bool       // skip the utility test of conditional models
	Pairs       int        // closest pairs in the figure (default 8)
	Log         io.Writer  // progress lines (nil: none)
}

// Report is the outcome of Run: real-vs-real reference numbers and one Result per checkpoint.
type Report struct {
	Data        string         `json:"data"`
	Resolution  int            `json:"resolution"`
	Channels    int            `json:"channels"`
	Classes     []string       `json:"classes"`
	TrainImages int            `json:"train_images"`
	TestImages  int            `json:"test_images"`
	TestSplit   string         `json:"test_split"` // "test", or "holdout" (10% of train, when the data has no test split)
	Seed        uint64         `json:"seed"`
	FeatureNet  NetInfo        `json:"feature_net"`
	Inception   *InceptionInfo `json:"inception,omitempty"` // the --inception module, when given
	Reference   Result         `json:"reference"`           // the real test split scored like a model: the floor at its sample size
	// PrecisionYardstick: the precision of real training images moved by 1 and 2 pixels, the
	// scale a model's precision is read on (see Yardstick).
	PrecisionYardstick []Yardstick    `json:"precision_yardstick"`
	Models             []Result       `json:"models"`
	Groups             []GroupSummary `json:"groups,omitempty"` // per Options.Groups label: metrics over its runs
	Created            time.Time      `json:"created"`
	// SubjectsInBothSplits are subjects with images in both train and test, per the dataset.json
	// of `sgan data build` (empty without one).
	SubjectsInBothSplits []string `json:"subjects_in_both_splits,omitempty"`

	train Images // the real training images, for the pairs figures
}

// NetInfo describes the domain feature net.
type NetInfo struct {
	Kind   string  `json:"kind"`
	Path   string  `json:"path"`
	Cached bool    `json:"cached"`
	Steps  int     `json:"steps"`
	Loss   float64 `json:"final_loss"`
	Dim    int     `json:"dim"`
}

// Result holds every number for one image set (a checkpoint's samples, or the reference).
type Result struct {
	Name       string         `json:"name"`
	Group      string         `json:"group,omitempty"` // the variant this run belongs to (Options.Groups)
	Checkpoint string         `json:"checkpoint,omitempty"`
	Epoch      int            `json:"epoch,omitempty"`
	Images     int            `json:"images"`
	Psi        float64        `json:"psi,omitempty"`
	SWD        SWDResult      `json:"swd"`
	FD         float64        `json:"fd_domain"`
	KID        KIDResult      `json:"kid_domain"`
	FID        *float64       `json:"fid,omitempty"` // with Options.Inception: in its features
	KIDInc     *KIDResult     `json:"kid,omitempty"` // with Options.Inception: in its features
	PRDC       PRDC           `json:"prdc_domain"`
	CopyPixel  CopyResult     `json:"copy_pixel"`
	CopyDomain CopyResult     `json:"copy_domain"`
	Utility    *UtilityResult `json:"utility,omitempty"`
	Seconds    float64        `json:"seconds"`

	Samples Images `json:"-"` // the images scored (for figures)
}

func (o Options) withDefaults() Options {
	if o.N == 0 {
		o.N = 2000
	}
	if o.MaxReal <= 0 {
		o.MaxReal = 10000
	}
	if o.Psi == 0 {
		o.Psi = 1
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Feature == (TrainConfig{}) {
		o.Feature.HFlip = true // brains are roughly left-right symmetric
	}
	o.Feature = o.Feature.withDefaults()
	o.SWD.Seed, o.KID.Seed = o.Seed, o.Seed
	if o.K <= 0 {
		o.K = 3
	}
	if o.Pairs <= 0 {
		o.Pairs = 8
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// prMax caps the sets of precision/recall, whose three distance matrices grow as its square.
const prMax = 5000

// kidPool is the number of real feature vectors KID draws its subsets from.
const kidPool = 4000

// realData is the real side of the evaluation, shared by every checkpoint.
type realData struct {
	train, test   Images
	trainF, testF Features
	trainStats    Gaussian
	testNNPix     []float64 // each test image's distance to its nearest train image (copy tests)
	testNNDom     []float64 // the same in the domain features
	prIdx         []int     // train images used as the real side of precision/recall
	net           *Net
	inc           *torch.Module // the --inception extractor, or nil
	incTrainF     Features      // its features of train
	incTrainStats Gaussian
	classes       []string
	split         string
	root          string
	res, ch       int
	netPath       string
	netCached     bool
}

// Run evaluates every checkpoint against the real data. All checkpoints must share resolution
// and channels (they are compared against the same real images).
func Run(opt Options) (*Report, error) {
	opt = opt.withDefaults()
	if opt.N < 10 {
		return nil, fmt.Errorf("eval: %d generated images are too few (use at least 10; 2000 is the default)", opt.N)
	}
	if len(opt.Checkpoints) == 0 {
		return nil, fmt.Errorf("eval: no checkpoint to evaluate (--ckpt)")
	}
	paths := make([]string, len(opt.Checkpoints))
	for i, c := range opt.Checkpoints {
		p, err := run.ResolveCheckpoint(c)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	// The real data at the first checkpoint's resolution.
	G, cfg, _, err := run.LoadGenerator(paths[0], torch.CPU)
	if err != nil {
		return nil, err
	}
	G.Free()
	var inc *torch.Module
	if opt.Inception != "" { // loaded first, so a bad file fails before any work
		if inc, err = torch.LoadModule(opt.Inception, opt.Device); err != nil {
			return nil, fmt.Errorf("eval: --inception: %w", err)
		}
		defer inc.Close()
	}
	root := opt.DataRoot
	if root == "" {
		root = cfg.Data.Root
	}
	// A dataset.json from sgan data build maps slices to subjects: warn when one is in both splits.
	leaks, _, err := data.SubjectLeaks(root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "eval: warning: %v\n", err)
	} else if len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "eval: warning: %s\n", data.LeakWarning(root, leaks))
	}
	rd, err := loadReal(root, cfg.Model.Resolution, cfg.Model.Channels, opt)
	if err != nil {
		return nil, err
	}
	defer rd.net.Free()
	if inc != nil {
		fmt.Fprintf(opt.Log, "eval: Inception features of %d train images (%s on %v)\n", rd.train.N, opt.Inception, opt.Device)
		if rd.incTrainF, err = InceptionFeatures(inc, rd.train); err != nil {
			return nil, err
		}
		rd.inc = inc
		if rd.incTrainStats, err = referenceStats(rd.incTrainF); err != nil {
			return nil, err
		}
	}
	rep := &Report{Data: dataName(root), Resolution: rd.res, Channels: rd.ch, Classes: rd.classes,
		TrainImages: rd.train.N, TestImages: rd.test.N, TestSplit: rd.split, Seed: opt.Seed, Created: time.Now().UTC(), SubjectsInBothSplits: leaks}
	rep.train = rd.train
	rep.FeatureNet = NetInfo{Kind: rd.net.Kind, Steps: rd.net.Steps, Loss: rd.net.Loss, Dim: FeatureDim}
	rep.FeatureNet.Path, rep.FeatureNet.Cached = rd.netPath, rd.netCached
	if inc != nil {
		rep.Inception = &InceptionInfo{Path: opt.Inception, Device: opt.Device.String(), Dim: rd.incTrainF.D}
	}

	fmt.Fprintf(opt.Log, "eval: reference: real %s split (%d) vs train (%d)\n", rd.split, rd.test.N, rd.train.N)
	ref, err := rd.score(rd.test, &rd.testF, opt)
	if err != nil {
		return nil, err
	}
	ref.Name = "real " + rd.split
	rep.Reference = ref
	if rep.PrecisionYardstick, err = rd.precisionYardsticks(rd.prSize(opt.N), opt); err != nil {
		return nil, err
	}

	names := uniqueNames(paths)
	for i, p := range paths {
		r, err := evalCheckpoint(p, names[i], rd, opt)
		if err != nil {
			return nil, err
		}
		if i < len(opt.Groups) {
			r.Group = opt.Groups[i]
		}
		rep.Models = append(rep.Models, r)
	}
	rep.Groups = summarize(rep.Models)
	return rep, nil
}

func dataName(root string) string {
	if root == "" {
		return "demo"
	}
	return root
}

// loadReal reads the train and test splits, trains or loads the feature net, and embeds both.
func loadReal(root string, res, ch int, opt Options) (*realData, error) {
	rd := &realData{root: root, res: res, ch: ch, split: "test"}
	ds, err := data.Open(root, "train")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(opt.Log, "eval: loading real images (%s) at %dx%d\n", dataName(root), res, res)
	all, err := LoadImages(ds, res, ch, 0, 0)
	if err != nil {
		return nil, err
	}
	rd.classes = ds.Classes()
	if f, ok := ds.(*data.Folder); ok && f.Split() == "" {
		// No split folders: hold out every 10th image as the test set.
		rd.split = "holdout"
		var tr, te []int
		for i := 0; i < all.N; i++ {
			if i%10 == 9 {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		rd.train, rd.test = all.Subset(tr), all.Subset(te)
	} else {
		rd.train = all
		tds, err := data.Open(root, "test")
		if err != nil {
			return nil, fmt.Errorf("%w (eval needs a held-out test split for the memorization and utility tests)", err)
		}
		if !slices.Equal(tds.Classes(), rd.classes) {
			return nil, fmt.Errorf("eval: %s: test classes %v differ from train classes %v", dataName(root), tds.Classes(), rd.classes)
		}
		if rd.test, err = LoadImages(tds, res, ch, 0, 0); err != nil {
			return nil, err
		}
	}
	if rd.train.N > opt.MaxReal {
		rd.train = rd.train.Subset(sortedSubset(rd.train.N, opt.MaxReal, opt.Seed))
	}
	if rd.test.N > opt.MaxReal {
		rd.test = rd.test.Subset(sortedSubset(rd.test.N, opt.MaxReal, opt.Seed+1))
	}
	if rd.train.N < 2*opt.K || rd.test.N < 2 {
		return nil, fmt.Errorf("eval: %d train and %d test images are too few to evaluate", rd.train.N, rd.test.N)
	}
	var netClasses []string
	if len(rd.classes) >= 2 {
		netClasses = rd.classes
	}
	kind := KindAutoencoder
	if netClasses != nil {
		kind = KindClassifier
	}
	rd.net, rd.netPath, rd.netCached, err = CachedNet(opt.CacheDir, rd.train, netClasses, opt.Feature, progress(opt.Log, "training feature net ("+kind+")"))
	if err != nil {
		return nil, err
	}
	if rd.netCached {
		fmt.Fprintf(opt.Log, "eval: feature net (%s) from %s\n", kind, rd.netPath)
	}
	if rd.trainF, err = rd.net.Embed(rd.train); err != nil {
		return nil, err
	}
	if rd.testF, err = rd.net.Embed(rd.test); err != nil {
		return nil, err
	}
	if rd.trainStats, err = referenceStats(rd.trainF); err != nil {
		return nil, err
	}
	if rd.testNNPix, err = testNearestPixels(rd.train, rd.test); err != nil {
		return nil, err
	}
	if _, rd.testNNDom, err = nearest(rd.testF.X, rd.trainF.X, rd.testF.N, rd.trainF.N, rd.trainF.D); err != nil {
		return nil, err
	}
	rd.prIdx = newRNG(opt.Seed, streamSubset, 2).Perm(rd.train.N) // any prefix is a random subset
	return rd, nil
}

// sortedSubset is k of n indices drawn from seed, ascending.
func sortedSubset(n, k int, seed uint64) []int {
	idx := newRNG(seed, streamSubset, uint64(n)).Perm(n)[:k]
	slices.Sort(idx)
	return idx
}

// prSize is the size of both sets of precision/recall for n generated images: equal-sized sets
// for the k-NN radii, as many real images as generated ones (at most all real ones, and prMax).
func (rd *realData) prSize(n int) int { return min(n, len(rd.prIdx), prMax) }

// score computes every label-free metric of imgs against the real train split. feats may carry
// imgs' features already.
func (rd *realData) score(imgs Images, feats *Features, opt Options) (Result, error) {
	start := time.Now()
	r := Result{Images: imgs.N, Samples: imgs}
	var f Features
	var err error
	if feats != nil {
		f = *feats
	} else if f, err = rd.net.Embed(imgs); err != nil {
		return r, err
	}
	fmt.Fprintf(opt.Log, "eval:   SWD\n")
	if r.SWD, err = SWD(rd.train, imgs, opt.SWD); err != nil {
		return r, err
	}
	if r.FD, err = FrechetDistance(rd.trainStats, Stats(f)); err != nil {
		return r, err
	}
	fmt.Fprintf(opt.Log, "eval:   KID, precision/recall\n")
	kidIdx := rd.prIdx[:min(len(rd.prIdx), kidPool)]
	r.KID = KID(rd.trainF.Subset(kidIdx), f, opt.KID)
	if rd.inc != nil {
		fmt.Fprintf(opt.Log, "eval:   FID, KID (Inception features)\n")
		g, err := InceptionFeatures(rd.inc, imgs)
		if err != nil {
			return r, err
		}
		fid, err := FrechetDistance(rd.incTrainStats, Stats(g))
		if err != nil {
			return r, err
		}
		kid := KID(rd.incTrainF.Subset(kidIdx), g, opt.KID)
		r.FID, r.KIDInc = &fid, &kid
	}
	m := rd.prSize(f.N)
	r.PRDC = PrecisionRecall(rd.trainF.Subset(rd.prIdx[:m]), f.Subset(sortedSubset(f.N, m, opt.Seed+3)), opt.K)
	fmt.Fprintf(opt.Log, "eval:   nearest training images\n")
	if err := sameShape(imgs, rd.train); err != nil {
		return r, err
	}
	if r.CopyPixel, err = copyTestPixels(imgs, rd.train, rd.testNNPix, opt.Copy); err != nil {
		return r, err
	}
	if r.CopyDomain, err = copyTestFeatures(f, rd.trainF, rd.testNNDom, opt.Copy); err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

func evalCheckpoint(path, name string, rd *realData, opt Options) (Result, error) {
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return Result{}, err
	}
	cfg, classes, epoch := ck.Config, ck.Classes, ck.Epoch
	G, err := ck.Sampler(opt.Device)
	ck.Free()
	if err != nil {
		return Result{}, fmt.Errorf("eval: %s: %w", path, err)
	}
	defer G.Free()
	if cfg.Model.Resolution != rd.res || cfg.Model.Channels != rd.ch {
		return Result{}, fmt.Errorf("eval: %s makes %dx%d images with %d channels, the first checkpoint %dx%d with %d: evaluate them in separate calls",
			path, cfg.Model.Resolution, cfg.Model.Resolution, cfg.Model.Channels, rd.res, rd.res, rd.ch)
	}
	start := time.Now()
	fmt.Fprintf(opt.Log, "eval: %s\n", name)
	gen, err := Generate(G, opt.Device, opt.N, opt.Seed, opt.Psi, progress(opt.Log, "  generating"))
	if err != nil {
		return Result{}, fmt.Errorf("eval: %s: %w", path, err)
	}
	if gen.Labels != nil { // checkpoint class indices -> the data's
		for i, l := range gen.Labels {
			j := slices.Index(rd.classes, classes[l])
			if j < 0 {
				return Result{}, fmt.Errorf("eval: %s: class %q is not in the data's classes %v", path, classes[l], rd.classes)
			}
			gen.Labels[i] = j
		}
	}
	r, err := rd.score(gen, nil, opt)
	if err != nil {
		return r, fmt.Errorf("eval: %s: %w", path, err)
	}
	r.Name, r.Checkpoint, r.Psi, r.Epoch = name, path, opt.Psi, epoch
	if gen.Labels != nil && len(rd.classes) >= 2 && !opt.NoUtility {
		fmt.Fprintf(opt.Log, "eval:   utility (train on synthetic, test on real)\n")
		var base *Net
		if rd.net.Kind == KindClassifier {
			base = rd.net
		}
		u, err := Utility(rd.train, rd.test, gen, rd.classes, opt.Feature, base, progress(opt.Log, "  training classifier"))
		if err != nil {
			return r, fmt.Errorf("eval: %s: %w", path, err)
		}
		r.Utility = &u
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// uniqueNames shortens checkpoint paths to their file names, adding parent folders (skipping
// "models") until the names differ.
func uniqueNames(paths []string) []string {
	for depth := 1; ; depth++ {
		names := make([]string, len(paths))
		seen := map[string]bool{}
		dup := false
		for i, p := range paths {
			parts := strings.Split(filepath.ToSlash(filepath.Clean(p)), "/")
			var keep []string
			for j := len(parts) - 1; j >= 0 && len(keep) < depth; j-- {
				if parts[j] == "models" && j != len(parts)-1 {
					continue
				}
				keep = append([]string{parts[j]}, keep...)
			}
			names[i] = strings.Join(keep, "/")
			dup = dup || seen[names[i]]
			seen[names[i]] = true
		}
		if !dup || depth > 8 {
			return names
		}
	}
}

// progress returns a callback printing "eval: label done/total" lines, at most every 2 s and at
// the end.
func progress(w io.Writer, label string) func(done, total int) {
	last := time.Time{}
	return func(done, total int) {
		if done == total || time.Since(last) > 2*time.Second {
			last = time.Now()
			fmt.Fprintf(w, "eval: %s %d/%d\n", label, done, total)
		}
	}
}
