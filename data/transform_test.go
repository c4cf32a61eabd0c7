package data

import (
	"image"
	"image/color"
	"testing"
)

func TestToPlanes(t *testing.T) {
	uni := func(c color.Color, w, h int) image.Image {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.Set(x, y, c)
			}
		}
		return m
	}
	grayImg := image.NewGray(image.Rect(3, 5, 3+50, 5+30)) // offset bounds
	for i := range grayImg.Pix {
		grayImg.Pix[i] = 77
	}
	sub := image.NewGray(image.Rect(0, 0, 20, 20))
	for i := range sub.Pix {
		sub.Pix[i] = uint8(i)
	}
	tests := []struct {
		name     string
		img      image.Image
		side, ch int
		want     []uint8 // expected value per channel everywhere; nil: skip
	}{
		{"gray to 1, downscale non-square", grayImg, 16, 1, []uint8{77}},
		{"gray to 3 replicates", grayImg, 16, 3, []uint8{77, 77, 77}},
		{"rgb to 3", uni(color.RGBA{200, 100, 50, 255}, 40, 40), 8, 3, []uint8{200, 100, 50}},
		{"rgb to 1 is luminance", uni(color.RGBA{200, 100, 50, 255}, 40, 40), 8, 1, []uint8{124}},
		{"upscale", uni(color.RGBA{10, 10, 10, 255}, 4, 4), 32, 1, []uint8{10}},
		{"same size", uni(color.RGBA{9, 8, 7, 255}, 8, 8), 8, 3, []uint8{9, 8, 7}},
		{"same size gray fast path", sub.SubImage(image.Rect(5, 5, 15, 15)), 10, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ToPlanes(tc.img, tc.side, tc.ch)
			n := tc.side * tc.side
			if len(p) != tc.ch*n {
				t.Fatalf("len %d, want %d", len(p), tc.ch*n)
			}
			for c, want := range tc.want {
				for i := 0; i < n; i++ {
					if d := int(p[c*n+i]) - int(want); d < -1 || d > 1 {
						t.Fatalf("channel %d pixel %d = %d, want %d", c, i, p[c*n+i], want)
					}
				}
			}
		})
	}
	// Sub-image copy starts at the sub-image's origin.
	p := ToPlanes(sub.SubImage(image.Rect(5, 5, 15, 15)), 10, 1)
	if p[0] != sub.Pix[5*20+5] || p[10] != sub.Pix[6*20+5] {
		t.Fatalf("sub-image copy wrong: %d %d", p[0], p[10])
	}
}

func TestTransformNormalize(t *testing.T) {
	planes := []uint8{0, 255, 127, 128}
	out := make([]float32, 4)
	Transform(out, planes, 2, 1, false, Augment{}, sampleRNG(0, 0, 0))
	want := []float32{-1, 1, 127/127.5 - 1, 128/127.5 - 1}
	for i := range want {
		if d := out[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("out %v, want %v", out, want)
		}
	}
}
