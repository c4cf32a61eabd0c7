package data

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"
)

// BenchmarkLoader measures decoding + transforms from JPEG files at 64x64
// (256x240 grayscale JPEGs, the ADNI slice size), with the in-memory cache
// off so every image is decoded, and with it on (steady state, after the
// first epoch). Run: go test -run XXX -bench Loader ./data/
func BenchmarkLoader(b *testing.B) {
	dir := b.TempDir()
	const n = 256
	for i := 0; i < n; i++ {
		// A smooth brain-like ellipse with some texture, like an MRI slice.
		img := image.NewGray(image.Rect(0, 0, 256, 240))
		for y := 0; y < 240; y++ {
			for x := 0; x < 256; x++ {
				dx, dy := float64(x-128)/100, float64(y-120)/110
				if r := dx*dx + dy*dy; r < 1 {
					v := 90 + 80*(1-r) + 25*math.Sin(float64(x+i)/5)*math.Cos(float64(y)/7)
					img.SetGray(x, y, color.Gray{uint8(v)})
				}
			}
		}
		class := []string{"AD", "NC"}[i%2]
		writeImage(b, filepath.Join(dir, "train", class, fmt.Sprintf("%03d.jpeg", i)), img)
	}
	f, err := OpenDir(dir, "train")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cache int64
	}{{"jpeg64", -1}, {"cached64", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := NewLoader(f, LoaderConfig{BatchSize: 32, Resolution: 64, HFlip: true, CacheBytes: tc.cache})
			if err != nil {
				b.Fatal(err)
			}
			allBatches(b, l, 0, 0) // warm the cache (and the page cache)
			b.ResetTimer()
			images := 0
			for i := 0; b.Loop(); i++ {
				for bt, err := range l.Batches(context.Background(), i, 0) {
					if err != nil {
						b.Fatal(err)
					}
					images += bt.N
				}
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
