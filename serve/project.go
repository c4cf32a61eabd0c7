package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // uploads
	_ "image/png"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"sync"

	"sgan/data"
	"sgan/figure"
	"sgan/model"
	"sgan/project"
)

// Projection states.
const (
	stateQueued    = "queued"
	stateRunning   = "running"
	stateDone      = "done"
	stateFailed    = "failed"
	stateCancelled = "cancelled"
)

// projection is one uploaded scan being (or having been) projected.
type projection struct {
	id       string
	name     string // the upload's file name
	class    int    // label to project with (-1: unconditional)
	toClass  int    // counterfactual class (-1: none)
	steps    int
	target   project.Target
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	state    string
	step     int
	psnr     float64 // of the newest step
	err      string
	metrics  map[string]float64
	files    map[string][]byte // PNGs by name (target, recon, diff, anomaly, counterfactual, change)
	version  string            // of the model it ran on
	classes  []string
	finished bool
}

// projections keeps the server's projections, the finished ones up to keptProjections.
type projections struct {
	mu    sync.Mutex
	byID  map[string]*projection
	order []string
}

func newProjections() *projections { return &projections{byID: map[string]*projection{}} }

// add registers p unless MaxProjections are queued or running.
func (ps *projections) add(p *projection) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	active := 0
	for _, q := range ps.byID {
		q.mu.Lock()
		if !q.finished {
			active++
		}
		q.mu.Unlock()
	}
	if active >= MaxProjections {
		return &httpError{http.StatusTooManyRequests, fmt.Sprintf("%d projections are already running or waiting: wait for one to finish", active)}
	}
	ps.byID[p.id] = p
	ps.order = append(ps.order, p.id)
	// Forget the oldest finished projections beyond keptProjections.
	kept := ps.order[:0]
	finished := 0
	for i := len(ps.order) - 1; i >= 0; i-- {
		q := ps.byID[ps.order[i]]
		q.mu.Lock()
		done := q.finished
		q.mu.Unlock()
		if done {
			finished++
			if finished > keptProjections {
				delete(ps.byID, q.id)
				continue
			}
		}
		kept = append(kept, q.id)
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	ps.order = kept
	return nil
}

func (ps *projections) get(id string) (*projection, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byID[id]
	if !ok {
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("no projection %q (the server keeps the last %d)", clip(id), keptProjections)}
	}
	return p, nil
}

// finish records the end of p.
func (p *projection) finish(state string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.finished = state, true
	if err != nil {
		p.err = strings.Join(strings.Fields(err.Error()), " ")
	}
	p.target.Pix = nil
	p.cancel()
}

// cancelled is what a projection panics with between two steps when its request is cancelled.
type cancelled struct{}

// readUpload reads the multipart upload "scan" (a PNG or JPEG of at most MaxUploadBytes and
// MaxUploadSide pixels a side) and converts it as the training data is: resized to the model's
// side and scaled to [-1, 1].
func readUpload(w http.ResponseWriter, r *http.Request, side, ch int) (project.Target, string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+formSlack)
	if err := r.ParseMultipartForm(MaxUploadBytes + formSlack); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return project.Target{}, "", badRequest("the upload is larger than %d MB: send one scan slice as a PNG or JPEG", MaxUploadBytes>>20)
		}
		return project.Target{}, "", badRequest("not a file upload (multipart form with a field \"scan\"): %v", err)
	}
	f, hdr, err := r.FormFile("scan")
	if err != nil {
		return project.Target{}, "", badRequest("no file in the form field \"scan\"")
	}
	defer f.Close()
	name := filepath.Base(hdr.Filename)
	if len(name) > 80 {
		name = name[:80]
	}
	if hdr.Size > MaxUploadBytes {
		return project.Target{}, "", badRequest("%s is larger than %d MB", name, MaxUploadBytes>>20)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxUploadBytes+1))
	if err != nil {
		return project.Target{}, "", badRequest("reading the upload: %v", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || (format != "png" && format != "jpeg") {
		return project.Target{}, "", badRequest("%s is not a PNG or JPEG image", name)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxUploadSide || cfg.Height > MaxUploadSide {
		return project.Target{}, "", badRequest("%s is %dx%d pixels: a scan may be at most %d pixels a side", name, cfg.Width, cfg.Height, MaxUploadSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return project.Target{}, "", badRequest("%s: %s image cannot be decoded: %v", name, format, err)
	}
	t := project.Target{Name: name, Class: -1, W: cfg.Width, H: cfg.Height, Pix: make([]float32, ch*side*side)}
	data.Transform(t.Pix, data.ToPlanes(img, side, ch), side, ch, false, data.Augment{}, nil)
	return t, name, nil
}

// projectionJSON is a projection's state for the page.
type projectionJSON struct {
	ID      string             `json:"id"`
	Name    string             `json:"name"`
	State   string             `json:"state"`
	Step    int                `json:"step"`
	Steps   int                `json:"steps"`
	PSNR    float64            `json:"psnr"`
	Error   string             `json:"error,omitempty"`
	Class   string             `json:"class,omitempty"`
	ToClass string             `json:"to_class,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Images  map[string]string  `json:"images,omitempty"`
}

// handleProjectStart reads an upload and queues its projection: form fields scan (the file),
// steps (default DefaultProjectSteps), class (conditional models: the class to project with,
// default the first) and to_class (a counterfactual class).
func (s *Server) handleProjectStart(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A slot before reading: decoding a scan can take hundreds of MB, and projs.add comes after.
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	default:
		s.fail(w, r, &httpError{http.StatusTooManyRequests, fmt.Sprintf("%d uploads are already being read: wait for one to finish", MaxProjections)})
		return
	}
	t, name, err := readUpload(w, r, m.side(), m.channels())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	steps, err := parseInt(r.MultipartForm.Value, "steps", DefaultProjectSteps, 1, MaxProjectSteps)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &projection{name: name, steps: steps, class: -1, toClass: -1, state: stateQueued, classes: m.classes, version: m.version}
	if m.conditional() {
		if p.class, err = m.s.ClassIndex(r.FormValue("class")); err != nil {
			s.fail(w, r, badRequest("%v", err))
			return
		}
		if to := r.FormValue("to_class"); to != "" {
			if p.toClass, err = m.p.ClassIndex(to); err != nil {
				s.fail(w, r, badRequest("to_%v", err))
				return
			}
		}
	} else if r.FormValue("class") != "" || r.FormValue("to_class") != "" {
		s.fail(w, r, badRequest("this model is unconditional: it has no classes to project with or to"))
		return
	}
	t.Class = p.class
	p.target = t
	var id [8]byte
	rand.Read(id[:])
	p.id = hex.EncodeToString(id[:])
	p.ctx, p.cancel = context.WithCancel(s.ctx)
	if err := s.projs.add(p); err != nil {
		p.cancel()
		s.fail(w, r, err)
		return
	}
	err = s.q.submit(p.ctx, false, func() error {
		s.runProjection(m, p)
		return nil
	})
	if err != nil {
		p.finish(stateFailed, err)
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	writeJSON(w, s.projectionState(p))
}

// runProjection runs on the queue's thread: the projection (between its steps the queue's quick
// jobs run, so the page keeps rendering), then its images.
func (s *Server) runProjection(m *loaded, p *projection) {
	defer func() { // a bug must not leave the projection "running" and its slot taken forever
		if r := recover(); r != nil {
			p.finish(stateFailed, fmt.Errorf("internal error: %v", r))
		}
	}()
	if s.cur != m {
		p.finish(stateFailed, errModelChanged)
		return
	}
	p.mu.Lock()
	if p.finished { // cancelled after it left the queue
		p.mu.Unlock()
		return
	}
	if err := p.ctx.Err(); err != nil { // the server is shutting down
		p.mu.Unlock()
		p.finish(stateFailed, err)
		return
	}
	p.state = stateRunning
	p.mu.Unlock()
	o := project.DefaultOptions()
	o.Steps, o.Batch, o.Frames = p.steps, 1, 0
	if s.opts.WSamples > 0 {
		o.WSamples = s.opts.WSamples
	}
	o.Progress = func(pr project.Progress) {
		p.mu.Lock()
		p.step, p.psnr = pr.Step, pr.PSNR
		p.mu.Unlock()
		if p.ctx.Err() != nil {
			panic(cancelled{})
		}
		s.q.interleave()
	}
	files, metrics, err := projectOne(m, p, o)
	if errors.Is(err, errCancelled) {
		p.finish(stateCancelled, nil)
		return
	}
	if err != nil {
		p.finish(stateFailed, err)
		return
	}
	p.mu.Lock()
	p.files, p.metrics = files, metrics
	p.mu.Unlock()
	p.finish(stateDone, nil)
}

var errCancelled = errors.New("cancelled")

// projectOne projects p's target and draws its images: target, reconstruction, |difference|,
// anomaly map and, with a counterfactual class, the counterfactual and its change.
func projectOne(m *loaded, p *projection, o project.Options) (files map[string][]byte, metrics map[string]float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(cancelled); !ok {
				panic(r)
			}
			err = errCancelled
		}
	}()
	res, err := project.Project(m.p, []project.Target{p.target}, o)
	if err != nil {
		return nil, nil, err
	}
	defer res.Free()
	ch, side := m.channels(), m.side()
	vmax := project.DefaultAnomalyMax
	maps, scores := res.Anomalies(ch, side, project.DefaultAnomalySigma)
	imgs := map[string]image.Image{
		"target":  figure.ToImage(p.target.Pix, 1, ch, side, side, 0),
		"recon":   figure.ToImage(res.Recon, 1, ch, side, side, 0),
		"diff":    project.AbsDiffImage(p.target.Pix, res.Recon, ch, side, vmax),
		"anomaly": project.HeatOverlay(p.target.Pix, maps[0], ch, side, vmax),
	}
	metrics = map[string]float64{"psnr": res.PSNR[0], "ssim": res.SSIM[0], "msssim": res.MSSSIM[0], "anomaly": scores[0]}
	if p.toClass >= 0 {
		lat := res.Latent(m.p) // shares res's tensors
		cf, shifts, err := lat.Render(m.p, project.RenderOptions{Psi: 1, Noise: model.NoiseConst, ToClass: p.toClass, WSamples: o.WSamples})
		if err != nil {
			return nil, nil, err
		}
		for _, sh := range shifts {
			metrics["shift_norm"], metrics["shift_spread"] = sh.Norm, sh.Spread
			sh.Free()
		}
		imgs["counterfactual"] = figure.ToImage(cf, 1, ch, side, side, 0)
		imgs["change"] = project.SignedDiffImage(res.Recon, cf, ch, side, vmax)
	}
	files = map[string][]byte{}
	for name, img := range imgs {
		if files[name], err = encodePNG(img); err != nil {
			return nil, nil, err
		}
	}
	for k, v := range metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(metrics, k)
		}
	}
	return files, metrics, nil
}

// projectionState is p for the page.
func (s *Server) projectionState(p *projection) projectionJSON {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := projectionJSON{ID: p.id, Name: p.name, State: p.state, Step: p.step, Steps: p.steps, Error: p.err, Metrics: p.metrics}
	if !math.IsNaN(p.psnr) && !math.IsInf(p.psnr, 0) {
		out.PSNR = p.psnr
	}
	if p.class >= 0 {
		out.Class = p.classes[p.class]
	}
	if p.toClass >= 0 {
		out.ToClass = p.classes[p.toClass]
	}
	if len(p.files) > 0 {
		out.Images = map[string]string{}
		for name := range p.files {
			out.Images[name] = "/api/project/" + p.id + "/" + name + ".png"
		}
	}
	return out
}

func (s *Server) handleProjectStatus(w http.ResponseWriter, r *http.Request) {
	p, err := s.projs.get(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, s.projectionState(p))
}

func (s *Server) handleProjectCancel(w http.ResponseWriter, r *http.Request) {
	p, err := s.projs.get(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.cancel()
	p.mu.Lock()
	if p.state == stateQueued { // it will be skipped by the queue
		p.mu.Unlock()
		p.finish(stateCancelled, nil)
	} else {
		p.mu.Unlock()
	}
	writeJSON(w, s.projectionState(p))
}

// handleProjectFile serves one image of a finished projection (NAME.png).
func (s *Server) handleProjectFile(w http.ResponseWriter, r *http.Request) {
	p, err := s.projs.get(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	p.mu.Lock()
	b, have := p.files[name]
	upload := strings.TrimSuffix(p.name, filepath.Ext(p.name))
	p.mu.Unlock()
	if !ok || !have {
		s.fail(w, r, &httpError{http.StatusNotFound, fmt.Sprintf("projection %s has no image %q", p.id, clip(r.PathValue("file")))})
		return
	}
	sendFile(w, r, b, "image/png", fmt.Sprintf("%s_%s.png", upload, name), true) // a projection's files never change
}
