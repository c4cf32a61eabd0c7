package serve

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"sgan/run"
	"sgan/torch"
)

//go:embed static
var staticFS embed.FS

// Options say what a Server shows.
type Options struct {
	// Ckpt is the checkpoint to render from. With RunDir it must be empty: the run's
	// models/last.pt is used, and reloaded whenever training rewrites it.
	Ckpt string
	// Name is how the page and the log name the model (default: the checkpoint's path).
	Name string
	// RunDir is a run folder to watch (the live view): its loss curves, newest sample grid and
	// models/last.pt, which may appear only after the first epoch.
	RunDir string
	Device torch.Device
	// Poll is how often RunDir is checked (default 2 s).
	Poll time.Duration
	// WSamples is the number of z samples behind a projection's start (the mean w), its jitter
	// scale and the class shifts of counterfactuals (default: package project's, 10 000).
	WSamples int
	// Logf logs a line (default: log.Printf to stderr).
	Logf func(format string, args ...any)
}

// Server is the web page and its API over one model. Create it with New, serve it with Serve
// (or Handler), and Close it.
type Server struct {
	opts  Options
	q     *queue
	cache *cache
	mux   *http.ServeMux

	mu       sync.RWMutex
	cur      *loaded // nil while a run folder has no checkpoint yet
	loadErr  string  // why the newest checkpoint could not be loaded ("" when it was)
	failed   fileStamp
	reloadOn bool // a reload is queued or running

	live    *liveRun // nil unless RunDir
	projs   *projections
	uploads chan struct{} // slots for uploads being decoded: bounds their memory before projs does

	ctx    context.Context // ends at Close: stops the poller and running projections
	cancel context.CancelFunc
	wg     sync.WaitGroup

	checkHost bool // answer only requests addressed to localhost or an IP (set by Serve)
}

// New loads the model (through the rendering queue) and returns the server. For a run folder
// without a checkpoint yet, it starts without a model and loads it when it appears.
func New(o Options) (*Server, error) {
	if o.Ckpt != "" && o.RunDir != "" {
		return nil, errors.New("serve: give a checkpoint or a run folder, not both")
	}
	if o.Ckpt == "" && o.RunDir == "" {
		return nil, errors.New("serve: no checkpoint or run folder")
	}
	if o.Poll <= 0 {
		o.Poll = defaultPoll
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	if o.RunDir != "" {
		st, err := os.Stat(o.RunDir)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("serve: %s: no such run folder", o.RunDir)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: o, q: newQueue(), cache: newCache(cacheBytes), ctx: ctx, cancel: cancel, projs: newProjections(),
		uploads: make(chan struct{}, MaxProjections)}
	path := o.Ckpt
	if o.RunDir != "" {
		s.live = newLiveRun(o.RunDir)
		path = run.Dir(o.RunDir).Last()
	}
	if _, err := os.Stat(path); err == nil || o.RunDir == "" {
		err := s.q.do(ctx, false, func() error {
			m, err := loadModel(path, o.Name, o.Device)
			if err != nil {
				return err
			}
			s.mu.Lock()
			s.cur = m
			s.mu.Unlock()
			return nil
		})
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	if s.live != nil {
		s.wg.Add(1)
		go s.poll()
	}
	s.routes()
	return s, nil
}

// Close stops the poller, cancels running projections, waits for the job in progress and frees
// the model.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
	s.q.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.free() // the queue has stopped: no job can use it any more
		s.cur = nil
	}
}

// model returns the current model, or an error saying why there is none.
func (s *Server) model() (*loaded, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cur == nil {
		msg := "no model yet: " + run.Dir(s.opts.RunDir).Last() + " appears after the run's first epoch"
		if s.loadErr != "" {
			msg = "no model: " + s.loadErr
		}
		return nil, &httpError{http.StatusServiceUnavailable, msg}
	}
	return s.cur, nil
}

// errModelChanged is returned by a job that finds another model than its request was read for.
var errModelChanged = &httpError{http.StatusConflict, "the model was reloaded while the request waited: reload the page"}

// onQueue runs fn with model m on the queue's thread, failing if m is no longer current (a run
// folder's checkpoint was reloaded and m freed).
func (s *Server) onQueue(ctx context.Context, quick bool, m *loaded, fn func() error) error {
	return s.q.do(ctx, quick, func() error {
		if s.cur != m { // written only on this thread
			return errModelChanged
		}
		return fn()
	})
}

// Serve answers HTTP requests on ln until ctx ends, then shuts down (waiting briefly for
// requests in flight). It answers only requests addressed to localhost or to an IP address, on
// every listen address (a container's 0.0.0.0 included), so that a web site cannot reach the page
// through DNS rebinding, which needs a name.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.checkHost = true
	hs := &http.Server{Handler: s, ReadHeaderTimeout: headerTimeout, ReadTimeout: uploadTimeout, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.New(logWriter{s.opts.Logf}, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	err := hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// logWriter sends the HTTP server's own messages to Options.Logf.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// IsLoopback reports whether addr (host:port) listens only on a loopback address.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

// loopbackHost reports whether host (a name or an IP, without port) is "localhost" or a loopback
// IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP checks the request's Host and Origin (for POSTs) and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.checkHost {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if h := strings.Trim(host, "[]"); !loopbackHost(h) && net.ParseIP(h) == nil {
			http.Error(w, fmt.Sprintf("this page answers only requests to localhost or an IP address, not to %q (open it by its IP address)", r.Host), http.StatusForbidden)
			return
		}
	}
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || u.Host != r.Host {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // "static" is embedded
	}
	files := http.FileServerFS(static)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(files)))
	s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
	s.mux.HandleFunc("GET /api/info", s.handleInfo)
	s.mux.HandleFunc("GET /api/grid", s.handleGrid)
	s.mux.HandleFunc("GET /api/grid.png", s.handleGridPNG)
	s.mux.HandleFunc("GET /api/image.png", s.handleImage)
	s.mux.HandleFunc("GET /api/mix.png", s.handleMix)
	s.mux.HandleFunc("GET /api/interp.gif", s.handleInterp)
	s.mux.HandleFunc("POST /api/project", s.handleProjectStart)
	s.mux.HandleFunc("GET /api/project/{id}", s.handleProjectStatus)
	s.mux.HandleFunc("POST /api/project/{id}/cancel", s.handleProjectCancel)
	s.mux.HandleFunc("GET /api/project/{id}/{file}", s.handleProjectFile)
	s.mux.HandleFunc("GET /api/live", s.handleLive)
	s.mux.HandleFunc("GET /api/live/grid.png", s.handleLiveGrid)
}

// noCache makes the browser revalidate the page's own files, so a new binary's page is used at
// once.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// httpError is an error with the HTTP status it is answered with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// badRequest is an HTTP 400 with a formatted message.
func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers err as one line of plain text with its status: 400 for bad input, 503 when busy
// or without a model, 500 otherwise. A request whose client went away gets nothing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	code := http.StatusInternalServerError
	var he *httpError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, errBusy), errors.Is(err, errClosed):
		code = http.StatusServiceUnavailable
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
	if code == http.StatusInternalServerError {
		s.opts.Logf("serve: %s %s: %s", r.Method, r.URL.Path, msg)
	}
	http.Error(w, msg, code)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// infoJSON is /api/info: the model and the page's limits.
type infoJSON struct {
	Model   *modelJSON `json:"model"` // null while a run folder has no checkpoint
	Error   string     `json:"error,omitempty"`
	Live    bool       `json:"live"`
	RunDir  string     `json:"run_dir,omitempty"`
	Device  string     `json:"device"`
	Limits  limitsJSON `json:"limits"`
	Version string     `json:"version"` // of the model ("" without one); changes on every reload
}

type modelJSON struct {
	Name        string            `json:"name"`
	Checkpoint  string            `json:"checkpoint"`
	Epoch       int               `json:"epoch"`
	Resolution  int               `json:"resolution"`
	Channels    int               `json:"channels"`
	Classes     []string          `json:"classes"`
	NumWs       int               `json:"num_ws"`
	Mix         map[string][2]int `json:"mix"` // layer range name -> [lo, hi) of ws indices
	Conditional bool              `json:"conditional"`
}

type limitsJSON struct {
	Grid                int   `json:"grid"`
	Seed                int64 `json:"seed"`
	Scale               int   `json:"scale"`
	InterpSeeds         int   `json:"interp_seeds"`
	InterpSteps         int   `json:"interp_steps"`
	UploadBytes         int   `json:"upload_bytes"`
	UploadSide          int   `json:"upload_side"`
	ProjectSteps        int   `json:"project_steps"`
	DefaultProjectSteps int   `json:"default_project_steps"`
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	info := infoJSON{Live: s.live != nil, RunDir: s.opts.RunDir, Device: s.opts.Device.String(),
		Limits: limitsJSON{Grid: MaxGrid, Scale: MaxScale, InterpSeeds: MaxInterpSeeds, InterpSteps: MaxInterpSteps,
			UploadBytes: MaxUploadBytes, UploadSide: MaxUploadSide, ProjectSteps: MaxProjectSteps,
			DefaultProjectSteps: DefaultProjectSteps, Seed: MaxSeed}}
	s.mu.RLock()
	m := s.cur
	info.Error = s.loadErr
	s.mu.RUnlock()
	if m != nil {
		classes := m.classes
		if classes == nil {
			classes = []string{}
		}
		info.Version = m.version
		info.Model = &modelJSON{Name: m.name, Checkpoint: m.path, Epoch: m.epoch, Resolution: m.side(), Channels: m.channels(),
			Classes: classes, NumWs: m.G.NumWs(), Mix: m.mix, Conditional: m.conditional()}
	}
	writeJSON(w, info)
}
