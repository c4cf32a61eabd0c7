package eval

import (
	"fmt"
	"math"
)

// Yardstick is the precision of real training images moved sideways by ShiftPx pixels, scored
// as a model's samples are (the same real side, set size and k). The moved images are the real
// side's own, so each has its original among the balls' centres: it is the precision of perfect
// reproductions placed ShiftPx off, an upper bound for a model that places anatomy that well.
// It says what precision means on this data: where the real images are near-copies of each
// other (adjacent slices of few brains, all registered), the k-NN balls are tiny and a real
// slice moved by two pixels already falls outside them.
type Yardstick struct {
	ShiftPx   int     `json:"shift_px"`
	Precision float64 `json:"precision"`
}

// yardstickShifts are the shifts of the precision yardstick, in pixels.
var yardstickShifts = []int{1, 2}

// precisionYardsticks scores the first m images of rd.prIdx, shifted right, against themselves
// unshifted.
func (rd *realData) precisionYardsticks(m int, opt Options) ([]Yardstick, error) {
	realF := rd.trainF.Subset(rd.prIdx[:m])
	imgs := rd.train.Subset(rd.prIdx[:m])
	var out []Yardstick
	for _, s := range yardstickShifts {
		f, err := rd.net.Embed(shiftRight(imgs, s))
		if err != nil {
			return nil, fmt.Errorf("eval: precision yardstick: %w", err)
		}
		p := PrecisionRecall(realF, f, opt.K).Precision
		if math.IsNaN(p) {
			return nil, nil // too few images for k-NN radii
		}
		out = append(out, Yardstick{ShiftPx: s, Precision: p})
	}
	return out, nil
}

// shiftRight moves every image s pixels to the right, repeating the left column into the gap
// (no border of a colour the data may not have).
func shiftRight(b Images, s int) Images {
	out := b
	out.Pix = make([]float32, len(b.Pix))
	for row := 0; row < b.N*b.C*b.H; row++ {
		src, dst := b.Pix[row*b.W:(row+1)*b.W], out.Pix[row*b.W:(row+1)*b.W]
		for x := range dst {
			dst[x] = src[max(x-s, 0)]
		}
	}
	return out
}
