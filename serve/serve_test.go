package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sgan/run"
	"sgan/torch"
	"sgan/train"
)

// tinyCheckpoints are the test models, made once per test binary: an unconditional and a
// conditional (classes AD, NC) untrained tiny-preset generator, 32x32.
var tinyCheckpoints struct {
	once sync.Once
	dir  string
	err  error
}

// tinyCheckpoint returns the path of a tiny untrained checkpoint (conditional: classes AD, NC).
func tinyCheckpoint(t *testing.T, conditional bool) string {
	t.Helper()
	tinyCheckpoints.once.Do(func() {
		tinyCheckpoints.dir, tinyCheckpoints.err = os.MkdirTemp("", "sgan-serve-test")
		if tinyCheckpoints.err != nil {
			return
		}
		for _, cond := range []bool{false, true} {
			if err := writeTiny(tinyCheckpoints.dir, cond); err != nil {
				tinyCheckpoints.err = err
				return
			}
		}
	})
	if tinyCheckpoints.err != nil {
		t.Fatal(tinyCheckpoints.err)
	}
	name := "uncond.pt"
	if conditional {
		name = "cond.pt"
	}
	return filepath.Join(tinyCheckpoints.dir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tinyCheckpoints.dir != "" {
		os.RemoveAll(tinyCheckpoints.dir)
	}
	os.Exit(code)
}

// writeTiny saves an untrained tiny-preset model's checkpoint into dir. The conditional one is
// trained on two class folders made of demo images, so that it knows labels AD and NC.
func writeTiny(dir string, conditional bool) error {
	cfg, err := run.Preset("tiny")
	if err != nil {
		return err
	}
	name := "uncond"
	if conditional {
		name = "cond"
		root := filepath.Join(dir, "data")
		src := "../data/demo/train/NC"
		ents, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for i, e := range ents[:8] {
			cls := []string{"AD", "NC"}[i%2]
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(root, "train", cls), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(root, "train", cls, e.Name()), b, 0o644); err != nil {
				return err
			}
		}
		cfg.Data.Root = root
		cfg.Data.Conditional = true
	}
	cfg.Run.Dir = filepath.Join(dir, "run-"+name)
	tr, err := train.Open(cfg, "")
	if err != nil {
		return err
	}
	defer tr.Close()
	return tr.SaveCheckpoint(filepath.Join(dir, name+".pt"))
}

// testServer serves o over a loopback listener and returns its base URL; it is closed when the
// test ends.
func testServer(t *testing.T, o Options) (*Server, string) {
	t.Helper()
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	if o.WSamples == 0 {
		o.WSamples = 256
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.Close()
	})
	return s, "http://" + ln.Addr().String()
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// getOK fetches url and fails the test unless it answers 200.
func getOK(t *testing.T, url string) []byte {
	t.Helper()
	code, b := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, b)
	}
	return b
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// grid asks for a page of seeds and returns the PNG files of its images.
func grid(t *testing.T, base, query string) [][]byte {
	t.Helper()
	var g gridJSON
	if err := json.Unmarshal(getOK(t, base+"/api/grid?"+query), &g); err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	for _, im := range g.Images {
		files = append(files, getOK(t, base+im.URL))
	}
	return files
}

func distinct(files [][]byte) int {
	seen := map[string]bool{}
	for _, f := range files {
		seen[string(f)] = true
	}
	return len(seen)
}

func TestGridTruncationAndDownloads(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	var info infoJSON
	if err := json.Unmarshal(getOK(t, base+"/api/info"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Model == nil || info.Model.Resolution != 32 || info.Model.Conditional || info.Limits.Grid != MaxGrid {
		t.Fatalf("info: %+v", info)
	}

	files := grid(t, base, "start=5&count=9&psi=1")
	if len(files) != 9 {
		t.Fatalf("%d images, want 9", len(files))
	}
	for _, f := range files {
		if b := decodePNG(t, f).Bounds(); b.Dx() != 32 || b.Dy() != 32 {
			t.Fatalf("image %v, want 32x32", b)
		}
	}
	if n := distinct(files); n != 9 {
		t.Errorf("psi 1: %d distinct images among 9 seeds", n)
	}
	if n := distinct(grid(t, base, "start=5&count=9&psi=0")); n != 1 {
		t.Errorf("psi 0: %d distinct images, want 1 (every seed is the average image)", n)
	}
	// The same seed alone is the grid's image (batching changes nothing).
	if one := getOK(t, base+"/api/image.png?seed=7&psi=1"); !bytes.Equal(one, files[2]) {
		t.Error("seed 7 alone differs from seed 7 in the grid")
	}

	res, err := http.Get(base + "/api/image.png?seed=7&scale=4&download=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "seed7") {
		t.Errorf("download's Content-Disposition %q", cd)
	}
	if r := decodePNG(t, b).Bounds(); r.Dx() != 128 {
		t.Errorf("scale 4: %v, want 128x128", r)
	}
	if r := decodePNG(t, getOK(t, base+"/api/grid.png?start=0&count=9")).Bounds(); r.Dx() <= 3*32 || r.Dx() >= 4*32+8 {
		t.Errorf("grid PNG of 9 is %v wide, want 3 columns of 32", r)
	}
}

func TestMixAndWalk(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	dst := getOK(t, base+"/api/image.png?seed=2")
	changed := 0
	for _, layers := range mixLayers {
		mix := getOK(t, base+"/api/mix.png?src=1&dst=2&layers="+layers)
		decodePNG(t, mix)
		if !bytes.Equal(mix, dst) {
			changed++
		}
	}
	if changed == 0 {
		t.Error("style mixing left the destination image unchanged in every layer range")
	}
	if self := getOK(t, base+"/api/mix.png?src=2&dst=2&layers=coarse"); !bytes.Equal(self, dst) {
		t.Error("mixing a seed with itself changed its image")
	}

	b := getOK(t, base+"/api/interp.gif?seeds=1,2&steps=3")
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("walk: not a GIF: %v", err)
	}
	if len(g.Image) != 6 {
		t.Errorf("walk 1 -> 2 -> 1 with 3 steps: %d frames, want 6", len(g.Image))
	}
}

func TestConditionalClasses(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, true), Device: torch.CPU})
	var info infoJSON
	if err := json.Unmarshal(getOK(t, base+"/api/info"), &info); err != nil {
		t.Fatal(err)
	}
	if !info.Model.Conditional || strings.Join(info.Model.Classes, ",") != "AD,NC" {
		t.Fatalf("classes %v", info.Model.Classes)
	}
	ad := getOK(t, base+"/api/image.png?seed=3&class=AD")
	nc := getOK(t, base+"/api/image.png?seed=3&class=NC")
	if bytes.Equal(ad, nc) {
		t.Error("classes AD and NC drew the same image")
	}
	if def := getOK(t, base+"/api/image.png?seed=3"); !bytes.Equal(def, ad) {
		t.Error("without class the image is not the first class's")
	}
	if code, msg := get(t, base+"/api/image.png?seed=3&class=MCI"); code != 400 || !strings.Contains(string(msg), "AD, NC") {
		t.Errorf("unknown class: %d %s", code, msg)
	}
}

func TestAbsurdRequestsAreRefused(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	for _, c := range []struct {
		path, want string
	}{
		{"/api/grid?count=1000", "from 1 to 64"},
		{"/api/grid?count=0", "from 1 to 64"},
		{"/api/grid?start=-1", "whole number"},
		{"/api/grid?start=9007199254740991&count=2", "the last seed"},
		{"/api/image.png?seed=99999999999999999999", "whole number from 0"},
		{"/api/image.png", "seed: missing"},
		{"/api/image.png?seed=1&psi=2", "[0, 1]"},
		{"/api/image.png?seed=1&psi=NaN", "not a number"},
		{"/api/image.png?seed=1&noise=loud", "noise"},
		{"/api/image.png?seed=1&scale=100", "from 1 to 8"},
		{"/api/image.png?seed=1&class=AD", "unconditional"},
		{"/api/mix.png?src=1&dst=2&layers=all", "coarse, middle, fine"},
		{"/api/interp.gif?seeds=1", "2 to 8 seeds"},
		{"/api/interp.gif?seeds=1,2,3,4,5,6,7,8,9", "2 to 8 seeds"},
		{"/api/interp.gif?seeds=1,2&steps=1000", "from 1 to 48"},
		{"/api/project/nope", "no projection"},
		{"/api/live", "no live view"},
	} {
		code, body := get(t, base+c.path)
		msg := string(body)
		if code < 400 || code >= 500 || !strings.Contains(msg, c.want) || strings.Count(strings.TrimSpace(msg), "\n") > 0 {
			t.Errorf("%s: %d %q, want a 4xx line containing %q", c.path, code, msg, c.want)
		}
	}
}

func TestHostAndOriginChecks(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	req, _ := http.NewRequest("GET", base+"/api/info", nil)
	req.Host = "evil.example:8765"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("Host evil.example: %d, want 403 (DNS rebinding)", res.StatusCode)
	}
	req, _ = http.NewRequest("GET", strings.Replace(base, "127.0.0.1", "localhost", 1)+"/api/info", nil)
	if res, err = http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("Host localhost: %d, want 200", res.StatusCode)
		}
	}
	req, _ = http.NewRequest("POST", base+"/api/project", strings.NewReader(""))
	req.Header.Set("Origin", "http://evil.example")
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d, want 403", res.StatusCode)
	}
}

// upload posts a scan to /api/project with form fields and returns the status and body.
func upload(t *testing.T, base, name string, scan []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("scan", name)
	fw.Write(scan)
	mw.Close()
	res, err := http.Post(base+"/api/project", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func TestProjectUpload(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, true), Device: torch.CPU})
	scan, err := os.ReadFile("../data/demo/test/NC/" + firstFile(t, "../data/demo/test/NC"))
	if err != nil {
		t.Fatal(err)
	}
	code, b := upload(t, base, "slice.jpeg", scan, map[string]string{"steps": "3", "class": "NC", "to_class": "AD"})
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, b)
	}
	var p projectionJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for p.State == stateQueued || p.State == stateRunning {
		if time.Now().After(deadline) {
			t.Fatalf("projection still %s after 2 minutes", p.State)
		}
		time.Sleep(50 * time.Millisecond)
		if err := json.Unmarshal(getOK(t, base+"/api/project/"+p.ID), &p); err != nil {
			t.Fatal(err)
		}
	}
	if p.State != stateDone {
		t.Fatalf("projection %s: %s", p.State, p.Error)
	}
	for _, name := range []string{"target", "recon", "diff", "anomaly", "counterfactual", "change"} {
		u, ok := p.Images[name]
		if !ok {
			t.Errorf("no %s image", name)
			continue
		}
		decodePNG(t, getOK(t, base+u))
	}
	if _, ok := p.Metrics["psnr"]; !ok {
		t.Errorf("metrics %v lack psnr", p.Metrics)
	}

	for _, c := range []struct {
		name   string
		scan   []byte
		fields map[string]string
		want   string
	}{
		{"notes.txt", []byte("hello"), nil, "not a PNG or JPEG"},
		{"huge.png", hugePNG(t), nil, "at most 4096 pixels a side"},
		{"slice.jpeg", scan, map[string]string{"steps": "100000"}, "from 1 to 1000"},
		{"slice.jpeg", scan, map[string]string{"to_class": "MCI"}, "AD"},
	} {
		code, b := upload(t, base, c.name, c.scan, c.fields)
		if code != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %v: %d %q, want 400 containing %q", c.name, c.fields, code, b, c.want)
		}
	}
}

func firstFile(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("%s: %v", dir, err)
	}
	return ents[0].Name()
}

// hugePNG is a small file that declares 5000x8 pixels.
func hugePNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 5000, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLiveRunFolder(t *testing.T) {
	dir := t.TempDir()
	rd := run.Dir(dir)
	s, base := testServer(t, Options{RunDir: dir, Device: torch.CPU, Poll: 20 * time.Millisecond})
	code, msg := get(t, base+"/api/grid?count=4")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(msg), "first epoch") {
		t.Errorf("before a checkpoint: %d %s", code, msg)
	}
	var l liveJSON
	if err := json.Unmarshal(getOK(t, base+"/api/live"), &l); err != nil {
		t.Fatal(err)
	}
	if l.Epoch != -1 || l.Losses != nil || l.Grid != "" {
		t.Errorf("empty run folder: %+v", l)
	}

	// Training writes its first losses, a grid and the checkpoint.
	if err := os.MkdirAll(rd.Models(), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(rd.Samples(), 0o755)
	os.WriteFile(rd.LossLog(), []byte("step,epoch,G,D\n1,1,0.5,1.5\n2,1,0.25,"), 0o644)
	var gb bytes.Buffer
	png.Encode(&gb, image.NewGray(image.Rect(0, 0, 10, 10)))
	os.WriteFile(rd.Grid(1), gb.Bytes(), 0o644)
	ck, _ := os.ReadFile(tinyCheckpoint(t, false))
	os.WriteFile(rd.Last()+".tmp", ck, 0o644)
	os.Rename(rd.Last()+".tmp", rd.Last())

	deadline := time.Now().Add(time.Minute)
	for {
		if err := json.Unmarshal(getOK(t, base+"/api/live"), &l); err != nil {
			t.Fatal(err)
		}
		if l.Epoch >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checkpoint was not loaded within a minute: %+v", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l.Losses == nil || l.Losses.Rows != 1 || strings.Join(l.Losses.Columns, ",") != "G,D" {
		t.Fatalf("losses %+v (the incomplete last line must wait)", l.Losses)
	}
	if l.GridName != "epoch001.png" {
		t.Errorf("newest grid %q", l.GridName)
	}
	decodePNG(t, getOK(t, base+l.Grid))
	if n := len(grid(t, base, "count=4")); n != 4 {
		t.Errorf("grid after the checkpoint: %d images", n)
	}
	v1 := l.Version

	// The line completes and more follow; the checkpoint is rewritten.
	f, _ := os.OpenFile(rd.LossLog(), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, "2.5\n3,2,0.125,3.5\n")
	f.Close()
	future := time.Now().Add(time.Hour)
	os.Chtimes(rd.Last(), future, future)
	for {
		if err := json.Unmarshal(getOK(t, base+"/api/live"), &l); err != nil {
			t.Fatal(err)
		}
		if l.Version != v1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rewritten checkpoint was not reloaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l.Losses.Rows != 3 || *l.Losses.Values[1][1] != 2.5 {
		t.Errorf("losses after appending: %d rows, D %v", l.Losses.Rows, l.Losses.Values[1])
	}
	if files, _ := s.cache.stats(); files != 0 {
		t.Errorf("the cache kept %d files of the old model", files)
	}

	// A damaged checkpoint keeps the old model and says why.
	os.WriteFile(rd.Last(), []byte("not a checkpoint"), 0o644)
	for {
		if err := json.Unmarshal(getOK(t, base+"/api/live"), &l); err != nil {
			t.Fatal(err)
		}
		if l.LoadError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a damaged checkpoint was not reported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if l.Epoch < 0 {
		t.Error("the old model was dropped")
	}
	getOK(t, base+"/api/image.png?seed=1")
}

func TestLossTableRead(t *testing.T) {
	for _, c := range []struct {
		name, text string
		rows       int
		used       int
		err        string
	}{
		{"complete", "step,epoch,G\n1,1,2\n2,1,3\n", 2, 25, ""},
		{"partial last line", "step,epoch,G\n1,1,2\n2,1", 1, 19, ""},
		{"bad header", "epoch,step\n1,1\n", 0, 11, "does not start with step,epoch"},
		{"damaged rows skipped", "step,epoch,G\n1,1\nx,1,2\n3,1,\n", 1, 28, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tb lossTable
			n, err := tb.read(strings.NewReader(c.text), true)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || len(tb.steps) != c.rows || int(n) != c.used {
				t.Fatalf("rows %d used %d err %v, want %d rows, %d bytes", len(tb.steps), n, err, c.rows, c.used)
			}
		})
	}
}

func TestLossDecimation(t *testing.T) {
	var tb lossTable
	var b strings.Builder
	b.WriteString("step,epoch,G\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "%d,1,%d\n", i, i%2)
	}
	if _, err := tb.read(strings.NewReader(b.String()), true); err != nil {
		t.Fatal(err)
	}
	d := tb.decimate(100)
	if len(d.Steps) != 100 || d.Rows != 1000 || *d.Values[0][0] != 0.5 || d.Steps[0] != 4.5 {
		t.Errorf("decimated: %d points, rows %d, first %v at %v", len(d.Steps), d.Rows, *d.Values[0][0], d.Steps[0])
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newCache(10)
	c.put("a", []byte("1234"))
	c.put("b", []byte("1234"))
	c.get("a")
	c.put("c", []byte("1234")) // 12 bytes: b, the least recently used, goes
	if _, ok := c.get("b"); ok {
		t.Error("b was kept")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	c.put("big", make([]byte, 11))
	if _, ok := c.get("big"); ok {
		t.Error("a file larger than the budget was kept")
	}
	if files, size := c.stats(); files != 2 || size != 8 {
		t.Errorf("stats %d files %d bytes", files, size)
	}
}

func TestQueueRefusesWhenFullAndSkipsCancelled(t *testing.T) {
	q := newQueue()
	defer q.close()
	block := make(chan struct{})
	started := make(chan struct{})
	if err := q.submit(context.Background(), false, func() error { close(started); <-block; return nil }); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	for i := 0; i < maxQueue; i++ {
		if err := q.submit(ctx, true, func() error { ran = true; return nil }); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if err := q.do(context.Background(), true, func() error { return nil }); err != errBusy {
		t.Errorf("a full queue answered %v, want errBusy", err)
	}
	cancel()
	close(block)
	for q.do(context.Background(), true, func() error { return nil }) == errBusy {
		time.Sleep(time.Millisecond) // the worker is skipping the cancelled jobs
	}
	if err := q.do(context.Background(), true, func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a panicking job answered %v", err)
	}
	if ran {
		t.Error("jobs of a cancelled request ran")
	}
}

func TestManyClientsAtOnce(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("%s/api/image.png?seed=%d&psi=0.5", base, i%4)
			if i%2 == 1 {
				url = fmt.Sprintf("%s/api/mix.png?src=%d&dst=1&layers=fine", base, i)
			}
			res, err := http.Get(url)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("%s: %d %s", url, res.StatusCode, b)
			} else if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				errs <- url + ": " + err.Error()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestStaticPageIsEmbedded(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	page := string(getOK(t, base+"/"))
	for _, want := range []string{"/static/app.js", "/static/style.css", `id="grid"`} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	for _, f := range []string{"/static/app.js", "/static/style.css", "/favicon.ico"} {
		body := strings.ReplaceAll(string(getOK(t, base+f)), `xmlns="http://www.w3.org/2000/svg"`, "") // a name, not a place
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s refers to the network", f)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("index.html refers to the network")
	}
}

func TestIsLoopback(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8765", true},
		{"[::1]:80", true},
		{"localhost:1", true},
		{"0.0.0.0:8765", false},
		{"192.168.1.2:8765", false},
		{":8765", false},
	} {
		if got := IsLoopback(c.addr); got != c.want {
			t.Errorf("IsLoopback(%q) = %v", c.addr, got)
		}
	}
}

// TestRendersRunDuringAProjection checks that the page keeps rendering while a long projection
// runs on the queue (its steps let quick jobs through), and that a projection can be cancelled.
func TestRendersRunDuringAProjection(t *testing.T) {
	_, base := testServer(t, Options{Ckpt: tinyCheckpoint(t, false), Device: torch.CPU})
	scan, err := os.ReadFile("../data/demo/test/NC/" + firstFile(t, "../data/demo/test/NC"))
	if err != nil {
		t.Fatal(err)
	}
	code, b := upload(t, base, "slice.jpeg", scan, map[string]string{"steps": fmt.Sprint(MaxProjectSteps)})
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, b)
	}
	var p projectionJSON
	json.Unmarshal(b, &p)
	status := func() projectionJSON {
		var q projectionJSON
		if err := json.Unmarshal(getOK(t, base+"/api/project/"+p.ID), &q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	deadline := time.Now().Add(time.Minute)
	for q := status(); q.Step < 2; q = status() {
		if time.Now().After(deadline) || q.State != stateRunning && q.State != stateQueued {
			t.Fatalf("the projection did not start: %+v", q)
		}
		time.Sleep(10 * time.Millisecond)
	}
	decodePNG(t, getOK(t, base+"/api/image.png?seed=12345&psi=0.7"))
	if q := status(); q.State != stateRunning || q.Step >= q.Steps {
		t.Fatalf("the image came after the projection (%s, step %d of %d), not during it", q.State, q.Step, q.Steps)
	}
	// A second concurrent projection is queued; a third is refused.
	code, b = upload(t, base, "slice.jpeg", scan, map[string]string{"steps": "1"})
	if code != http.StatusAccepted {
		t.Fatalf("second upload: %d %s", code, b)
	}
	if code, b = upload(t, base, "slice.jpeg", scan, nil); code != http.StatusTooManyRequests {
		t.Errorf("third upload: %d %s, want 429", code, b)
	}
	res, err := http.Post(base+"/api/project/"+p.ID+"/cancel", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for q := status(); q.State != stateCancelled; q = status() {
		if time.Now().After(deadline) || q.State == stateDone || q.State == stateFailed {
			t.Fatalf("after cancel: %+v", q)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
