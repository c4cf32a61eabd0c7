package serve

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"sgan/figure"
	"sgan/model"
	"sgan/sample"
)

// look is how seeds are drawn: truncation, noise and class.
type look struct {
	psi   float64
	noise model.NoiseMode
	class int // label, -1 for an unconditional model
}

// query is the look as URL parameters.
func (l look) query(m *loaded) url.Values {
	q := url.Values{}
	q.Set("psi", strconv.FormatFloat(l.psi, 'g', -1, 64))
	q.Set("noise", sample.NoiseName(l.noise))
	if l.class >= 0 {
		q.Set("class", m.classes[l.class])
	}
	return q
}

// key is the look in cache keys.
func (l look) key() string { return fmt.Sprintf("psi=%g,noise=%d,class=%d", l.psi, l.noise, l.class) }

// parseLook reads psi (default 1), noise (const) and class (the model's first class when
// conditional) from a query.
func parseLook(q url.Values, m *loaded) (look, error) {
	l := look{psi: 1, noise: model.NoiseConst, class: -1}
	if v := q.Get("psi"); v != "" {
		psi, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(psi) {
			return l, badRequest("psi %q: not a number (use 0 to 1)", clip(v))
		}
		if err := sample.CheckPsi(psi); err != nil {
			return l, badRequest("%v", err)
		}
		l.psi = psi
	}
	if v := q.Get("noise"); v != "" {
		n, err := sample.ParseNoise(v)
		if err != nil {
			return l, badRequest("%v", err)
		}
		l.noise = n
	}
	cls, err := m.s.ClassIndex(q.Get("class"))
	if err != nil {
		return l, badRequest("%v", err)
	}
	l.class = cls
	return l, nil
}

// clip shortens a user's value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parseSeed reads a seed: a whole number from 0 to MaxSeed.
func parseSeed(q url.Values, name string) (uint64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, badRequest("%s: missing (a seed from 0 to %d)", name, uint64(MaxSeed))
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > MaxSeed {
		return 0, badRequest("%s %q: a seed is a whole number from 0 to %d", name, clip(v), uint64(MaxSeed))
	}
	return n, nil
}

// parseInt reads an integer parameter in [lo, hi], def when absent.
func parseInt(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s %q: must be a whole number from %d to %d", name, clip(v), lo, hi)
	}
	return n, nil
}

// checkPixels refuses an image (or animation) of more than MaxPixels pixels.
func checkPixels(what string, frames, side int) error {
	if n := int64(frames) * int64(side) * int64(side); n > MaxPixels {
		return badRequest("%s would have %d frame(s) of %dx%d pixels, more than the %d pixels the page serves at once: ask for fewer or smaller images", what, frames, side, side, MaxPixels)
	}
	return nil
}

// encodePNG is img as a PNG file.
func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	return b.Bytes(), nil
}

// enlarge magnifies img k times (nearest neighbour: the model's pixels stay visible).
func enlarge(img image.Image, k int) image.Image {
	if k <= 1 {
		return img
	}
	b := img.Bounds()
	r := image.Rect(0, 0, b.Dx()*k, b.Dy()*k)
	if g, ok := img.(*image.Gray); ok {
		out := image.NewGray(r)
		for y := 0; y < r.Dy(); y++ {
			src := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y/k):]
			row := out.Pix[y*out.Stride : y*out.Stride+r.Dx()]
			for x := range row {
				row[x] = src[x/k]
			}
		}
		return out
	}
	out := image.NewRGBA(r)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}

// sendFile answers a rendered file. An immutable one (its URL names the model version it was
// drawn by) may be kept by the browser; with the parameter download set, the browser offers to
// save it as name.
func sendFile(w http.ResponseWriter, r *http.Request, data []byte, ctype, name string, immutable bool) {
	w.Header().Set("Content-Type", ctype)
	if immutable {
		w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// imageKey is the cache key of one seed's image.
func imageKey(m *loaded, seed uint64, l look) string {
	return fmt.Sprintf("%s/img/%d/%s", m.version, seed, l.key())
}

// renderSeeds makes sure the cache holds the PNGs of seeds under look l, rendering the missing
// ones in one batch on the queue, and returns them in order.
func (s *Server) renderSeeds(r *http.Request, m *loaded, seeds []uint64, l look) ([][]byte, error) {
	out := make([][]byte, len(seeds))
	var missing []uint64
	var at []int
	for i, sd := range seeds {
		if b, ok := s.cache.get(imageKey(m, sd, l)); ok {
			out[i] = b
		} else {
			missing = append(missing, sd)
			at = append(at, i)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// In chunks: one synthesis pass over a whole grid of a large model would take gigabytes.
	var imgs []image.Image
	chunk := max(1, renderPixels/(m.side()*m.side()))
	for i := 0; i < len(missing); i += chunk {
		part := missing[i:min(i+chunk, len(missing))]
		err := s.onQueue(r.Context(), true, m, func() error {
			m.s.Noise = l.noise
			got, err := m.s.Render(part, l.psi, l.class)
			imgs = append(imgs, got...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	for j, img := range imgs {
		b, err := encodePNG(img)
		if err != nil {
			return nil, err
		}
		s.cache.put(imageKey(m, missing[j], l), b)
		out[at[j]] = b
	}
	return out, nil
}

// gridParams reads start, count (1..MaxGrid) and the look of a grid request.
func gridParams(q url.Values, m *loaded) ([]uint64, look, error) {
	l, err := parseLook(q, m)
	if err != nil {
		return nil, l, err
	}
	start := uint64(0)
	if q.Get("start") != "" {
		if start, err = parseSeed(q, "start"); err != nil {
			return nil, l, err
		}
	}
	n, err := parseInt(q, "count", 16, 1, MaxGrid)
	if err != nil {
		return nil, l, err
	}
	if start+uint64(n)-1 > MaxSeed {
		return nil, l, badRequest("seeds %d to %d: the last seed is %d", start, start+uint64(n)-1, uint64(MaxSeed))
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = start + uint64(i)
	}
	return seeds, l, nil
}

// gridJSON is /api/grid's answer: where each image of the page of seeds is.
type gridJSON struct {
	Version string      `json:"version"`
	Images  []gridImage `json:"images"`
	Grid    string      `json:"grid"` // the whole page as one PNG
}

type gridImage struct {
	Seed uint64 `json:"seed"`
	URL  string `json:"url"`
}

// handleGrid renders a page of seeds in one batch and answers their image URLs (served from the
// cache).
func (s *Server) handleGrid(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	seeds, l, err := gridParams(r.URL.Query(), m)
	if err == nil {
		err = checkPixels("the grid", len(seeds), m.side())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.renderSeeds(r, m, seeds, l); err != nil {
		s.fail(w, r, err)
		return
	}
	out := gridJSON{Version: m.version}
	for _, sd := range seeds {
		q := l.query(m)
		q.Set("seed", strconv.FormatUint(sd, 10))
		q.Set("v", m.version)
		out.Images = append(out.Images, gridImage{Seed: sd, URL: "/api/image.png?" + q.Encode()})
	}
	q := r.URL.Query()
	q.Set("v", m.version)
	out.Grid = "/api/grid.png?" + q.Encode()
	writeJSON(w, out)
}

// handleGridPNG is the page of seeds as one PNG (figure.Grid, square-ish).
func (s *Server) handleGridPNG(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	seeds, l, err := gridParams(r.URL.Query(), m)
	if err == nil {
		err = checkPixels("the grid", len(seeds), m.side()+figure.DefaultPad)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.renderSeeds(r, m, seeds, l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	imgs := make([]image.Image, len(files))
	for i, b := range files {
		if imgs[i], err = png.Decode(bytes.NewReader(b)); err != nil {
			s.fail(w, r, fmt.Errorf("cached image: %w", err))
			return
		}
	}
	cols := 1
	for cols*cols < len(imgs) {
		cols++
	}
	b, err := encodePNG(figure.Grid(imgs, cols, figure.DefaultPad, figure.Background))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sendFile(w, r, b, "image/png", fmt.Sprintf("grid_seeds%d-%d.png", seeds[0], seeds[len(seeds)-1]), r.URL.Query().Get("v") == m.version)
}

// handleImage is one seed's image, magnified scale times (1 by default).
func (s *Server) handleImage(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	l, err := parseLook(q, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	seed, err := parseSeed(q, "seed")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scale, err := parseInt(q, "scale", 1, 1, MaxScale)
	if err == nil {
		err = checkPixels("the image", 1, m.side()*scale)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.renderSeeds(r, m, []uint64{seed}, l)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := rescale(files[0], scale)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sendFile(w, r, b, "image/png", fmt.Sprintf("seed%d_psi%g_%s%s.png", seed, l.psi, sample.NoiseName(l.noise), classSuffix(m, l)), r.URL.Query().Get("v") == m.version)
}

// classSuffix is "_AD" for class AD, "" for an unconditional model.
func classSuffix(m *loaded, l look) string {
	if l.class < 0 {
		return ""
	}
	return "_" + m.classes[l.class]
}

// rescale re-encodes a PNG magnified k times (k = 1: as is).
func rescale(b []byte, k int) ([]byte, error) {
	if k == 1 {
		return b, nil
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("cached image: %w", err)
	}
	return encodePNG(enlarge(img, k))
}

// handleMix is the destination seed's image with the source seed's styles in one layer range
// (coarse, middle or fine).
func (s *Server) handleMix(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	l, err := parseLook(q, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	src, err := parseSeed(q, "src")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dst, err := parseSeed(q, "dst")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	layers := q.Get("layers")
	if _, ok := m.mix[layers]; !ok {
		s.fail(w, r, badRequest("layers %q: use %s", clip(layers), strings.Join(mixLayers, ", ")))
		return
	}
	scale, err := parseInt(q, "scale", 1, 1, MaxScale)
	if err == nil {
		err = checkPixels("the image", 1, m.side()*scale)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := fmt.Sprintf("%s/mix/%d/%d/%s/%s", m.version, src, dst, layers, l.key())
	b, ok := s.cache.get(key)
	if !ok {
		var img image.Image
		err := s.onQueue(r.Context(), true, m, func() error {
			m.s.Noise = l.noise
			_, _, mixed, err := m.s.Mix([]uint64{src}, []uint64{dst}, l.psi, l.class, layers)
			if err == nil {
				img = mixed[0][0]
			}
			return err
		})
		if err == nil {
			b, err = encodePNG(img)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.cache.put(key, b)
	}
	if b, err = rescale(b, scale); err != nil {
		s.fail(w, r, err)
		return
	}
	sendFile(w, r, b, "image/png", fmt.Sprintf("mix_%d_into_%d_%s_psi%g%s.png", src, dst, layers, l.psi, classSuffix(m, l)), r.URL.Query().Get("v") == m.version)
}

// handleInterp is the walk in w between seeds (2 to MaxInterpSeeds, comma-separated) and back
// to the first, steps frames per leg, as a looping GIF.
func (s *Server) handleInterp(w http.ResponseWriter, r *http.Request) {
	m, err := s.model()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	l, err := parseLook(q, m)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	parts := strings.Split(q.Get("seeds"), ",")
	if len(parts) < 2 || len(parts) > MaxInterpSeeds {
		s.fail(w, r, badRequest("seeds %q: a walk visits 2 to %d seeds, comma-separated", clip(q.Get("seeds")), MaxInterpSeeds))
		return
	}
	seeds := make([]uint64, len(parts))
	for i, p := range parts {
		if seeds[i], err = parseSeed(url.Values{"seed": {strings.TrimSpace(p)}}, "seed"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	steps, err := parseInt(q, "steps", 12, 1, MaxInterpSteps)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scale, err := parseInt(q, "scale", 1, 1, MaxScale)
	if err == nil {
		err = checkPixels("the walk", steps*len(seeds), m.side()*scale)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := make([]string, len(seeds))
	for i, sd := range seeds {
		names[i] = strconv.FormatUint(sd, 10)
	}
	key := fmt.Sprintf("%s/walk/%s/%d/%d/%s", m.version, strings.Join(names, ","), steps, scale, l.key())
	b, ok := s.cache.get(key)
	if !ok {
		var frames []image.Image
		err := s.onQueue(r.Context(), true, m, func() error {
			m.s.Noise = l.noise
			var err error
			frames, err = m.s.Interpolate(seeds, steps, l.psi, l.class)
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for i := range frames {
			frames[i] = enlarge(frames[i], scale)
		}
		var buf bytes.Buffer
		if err := figure.EncodeGIF(&buf, frames, gifDelay); err != nil {
			s.fail(w, r, err)
			return
		}
		b = buf.Bytes()
		s.cache.put(key, b)
	}
	sendFile(w, r, b, "image/gif", fmt.Sprintf("walk_%s_psi%g%s.gif", strings.Join(names, "-"), l.psi, classSuffix(m, l)), r.URL.Query().Get("v") == m.version)
}
