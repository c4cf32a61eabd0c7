package serve

import (
	"bytes"
	"context"
	"fmt"
	"image/gif"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sgan/builtin"
	"sgan/torch"
)

// chromium finds a Chromium or Chrome binary ($SGAN_CHROMIUM, else chromium, chromium-browser
// or google-chrome on PATH), or skips the test saying how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SGAN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (scripts/setup installs Debian's chromium; or set SGAN_CHROMIUM to a Chrome binary): the browser test of sgan serve is skipped")
	return ""
}

// page is a headless Chromium tab and the console messages its page wrote.
type page struct {
	ctx  context.Context
	mu   sync.Mutex
	msgs []string // errors and warnings of the console, uncaught exceptions, failed loads
}

// newPage starts headless Chromium (closed when the test ends) with a window of w x h pixels.
func newPage(t *testing.T, w, h int) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.WindowSize(w, h),
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	p := &page{ctx: ctx}
	// The first action starts the browser; it must not run under a timeout (chromedp's rule).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, log.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				p.mu.Lock()
				p.msgs = append(p.msgs, fmt.Sprintf("%s (%s)", m, m.URL))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// do runs actions with a time limit, failing the test with what.
func (p *page) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (console: %v)", what, err, p.console())
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](t *testing.T, p *page, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

func (p *page) console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{}, p.msgs...)
}

// pixelsJS returns, for the images a CSS selector matches, their pixels as PNG data URLs drawn
// by the browser from what it loaded.
func pixelsJS(sel string) string {
	return `Array.from(document.querySelectorAll(` + fmt.Sprintf("%q", sel) + `)).map((img) => {
		const c = document.createElement("canvas");
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		c.getContext("2d").drawImage(img, 0, 0);
		return img.naturalWidth > 0 ? c.toDataURL() : "";
	})`
}

// download clicks a link and returns the file the browser saved.
func (p *page) download(t *testing.T, sel string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Minute)
	defer cancel()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptrTo(true)})
			return err
		}),
		chromedp.Click(chromedp.CSS(sel)),
	)
	if err != nil {
		t.Fatalf("download %s: %v", sel, err)
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("download %s was cancelled", sel)
		}
	}
	t.Fatalf("download %s: no end", sel)
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// TestBrowser drives the page in headless Chromium over a tiny untrained model: the grid loads,
// psi 0 makes every image the same, style mixing changes the image, downloads are valid PNG and
// GIF files, and the console stays free of errors.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	t.Logf("browser: %s", exe)
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	p := newPage(t, 1280, 1000)
	p.do(t, "open the page", chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS(`body[data-grid-state="ready"]`)))

	imgs := eval[[]string](t, p, pixelsJS("#grid img"))
	if len(imgs) != 16 {
		t.Fatalf("the grid shows %d images, want 16", len(imgs))
	}
	if n := distinct(asFiles(imgs)); n != 16 || imgs[0] == "" {
		t.Fatalf("psi 1: %d distinct images among 16 seeds", n)
	}

	// Truncation psi 0 (the Home key on the slider): every seed is the average image.
	p.do(t, "psi 0", chromedp.SendKeys(chromedp.CSS("#psi"), kb.Home),
		chromedp.WaitReady(chromedp.CSS(`body[data-grid-psi="0"][data-grid-state="ready"]`)))
	if n := distinct(asFiles(eval[[]string](t, p, pixelsJS("#grid img")))); n != 1 {
		t.Errorf("psi 0: %d distinct images, want 1", n)
	}
	p.do(t, "psi 1", chromedp.SendKeys(chromedp.CSS("#psi"), kb.End),
		chromedp.WaitReady(chromedp.CSS(`body[data-grid-psi="1"][data-grid-state="ready"]`)))

	// Style mixing: source 1 into destination 2, coarse then middle layers.
	p.do(t, "style mixing", chromedp.WaitReady(chromedp.CSS(`body[data-mix-key="1,2,coarse,1"][data-mix-state="ready"]`)))
	mix := eval[[]string](t, p, pixelsJS("#mix-src-img, #mix-dst-img, #mix-img"))
	if len(mix) != 3 || mix[2] == "" {
		t.Fatalf("style mixing shows %d images", len(mix))
	}
	if mix[2] == mix[1] || mix[2] == mix[0] {
		t.Error("the coarse mix is the source or the destination image unchanged")
	}
	p.do(t, "middle layers", chromedp.Click(chromedp.CSS(`input[name=layers][value=middle]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-mix-key="1,2,middle,1"][data-mix-state="ready"]`)))
	middle := eval[[]string](t, p, pixelsJS("#mix-img"))
	if middle[0] == mix[2] {
		t.Error("mixing the middle layers drew the same image as the coarse ones")
	}

	// Click a sample to see it large, and download it.
	p.do(t, "enlarge a sample", chromedp.Click(chromedp.CSS(`#grid img[data-seed="3"]`)),
		chromedp.WaitVisible(chromedp.CSS("#large-img")))
	if w := eval[int](t, p, `new Promise((ok) => { const i = document.getElementById("large-img"); i.complete ? ok(i.naturalWidth) : i.addEventListener("load", () => ok(i.naturalWidth)); })`); w != 32 {
		t.Errorf("the large view shows an image %d pixels wide", w)
	}
	b := p.download(t, "#large-download-big")
	if img := decodePNG(t, b); img.Bounds().Dx() != 128 {
		t.Errorf("the downloaded PNG is %v, want 128x128 (x4)", img.Bounds())
	}

	// The walk plays, and its GIF downloads.
	p.do(t, "walk", chromedp.Click(chromedp.CSS("#walk-go")), chromedp.WaitVisible(chromedp.CSS("#walk-download")))
	if w := eval[int](t, p, `new Promise((ok) => { const i = document.getElementById("walk-img"); i.complete && i.naturalWidth ? ok(i.naturalWidth) : i.addEventListener("load", () => ok(i.naturalWidth)); })`); w != 32 {
		t.Errorf("the walk is %d pixels wide", w)
	}
	g, err := gif.DecodeAll(bytes.NewReader(p.download(t, "#walk-download")))
	if err != nil {
		t.Fatalf("the downloaded walk is not a GIF: %v", err)
	}
	if len(g.Image) != 32 {
		t.Errorf("the walk has %d frames, want 32 (16 each way)", len(g.Image))
	}

	if st := eval[string](t, p, `document.getElementById("status").textContent`); st != "" {
		t.Errorf("the page's status line says %q", st)
	}
	if msgs := p.console(); len(msgs) > 0 {
		t.Errorf("the console has errors or warnings:\n%s", strings.Join(msgs, "\n"))
	}
}

// asFiles turns data URLs into byte slices for distinct.
func asFiles(urls []string) [][]byte {
	out := make([][]byte, len(urls))
	for i, u := range urls {
		out[i] = []byte(u)
	}
	return out
}

// TestScreenshots writes the README's pictures of the page into $SGAN_SCREENSHOTS (skipped
// without it): the built-in model's samples with one enlarged, style mixing, a walk, a
// projection of a demo test slice, and, with $SGAN_SCREENSHOT_RUN (a run folder), the live view.
//
//	SGAN_SCREENSHOTS=$PWD/docs/img SGAN_SCREENSHOT_RUN=$PWD/runs/demo go test $SGAN_GO_TAGS -run TestScreenshots ./serve/
func TestScreenshots(t *testing.T) {
	out := os.Getenv("SGAN_SCREENSHOTS")
	if out == "" {
		t.Skip("set SGAN_SCREENSHOTS to a folder to write the README's screenshots of sgan serve")
	}
	chromium(t)
	ckpt, info, err := builtin.Open()
	if err != nil {
		t.Fatal(err)
	}
	_, base := testServer(t, Options{Ckpt: ckpt, Name: "built-in demo model", Device: torch.CPU, WSamples: 2000})
	t.Logf("model: %s", info)
	p := newPage(t, 1280, 900)
	shot := func(name string, sel string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
		defer cancel()
		var b []byte
		var err error
		if sel == "" {
			b, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		} else {
			b, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		}
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.do(t, "open the page", chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS(`body[data-grid-state="ready"]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-mix-state="ready"]`)),
		chromedp.Click(chromedp.CSS(`#grid img[data-seed="5"]`)), chromedp.WaitVisible(chromedp.CSS("#large-img")),
		chromedp.Sleep(500*time.Millisecond), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shot("serve-samples.png", "")
	p.do(t, "mix", chromedp.Click(chromedp.CSS(`input[name=layers][value=middle]`)),
		chromedp.WaitReady(chromedp.CSS(`body[data-mix-key="1,2,middle,1"][data-mix-state="ready"]`)))
	shot("serve-mix.png", "#mix")
	p.do(t, "walk", chromedp.Click(chromedp.CSS("#walk-go")), chromedp.WaitVisible(chromedp.CSS("#walk-download")), chromedp.Sleep(2*time.Second))
	shot("serve-walk.png", "#walk")
	scan, err := filepath.Abs("../data/demo/test/NC/" + firstFile(t, "../data/demo/test/NC"))
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, "project", chromedp.SetUploadFiles(chromedp.CSS("#project-file"), []string{scan}),
		chromedp.SetValue(chromedp.CSS("#project-steps"), "300"), chromedp.Click(chromedp.CSS("#project-go")),
		chromedp.WaitReady(chromedp.CSS(`body[data-project-state="shown"]`)))
	shot("serve-project.png", "#project")

	if rd := os.Getenv("SGAN_SCREENSHOT_RUN"); rd != "" {
		_, live := testServer(t, Options{RunDir: rd, Device: torch.CPU})
		p.do(t, "live", chromedp.Navigate(live+"/"), chromedp.WaitReady(chromedp.CSS(`body[data-live-state="ready"]`)),
			chromedp.Sleep(time.Second))
		shot("serve-live.png", "#live")
	}
	if msgs := p.console(); len(msgs) > 0 {
		t.Errorf("the console has errors or warnings:\n%s", strings.Join(msgs, "\n"))
	}
}
