package project

import (
	"fmt"
	"math"
	"testing"

	"sgan/torch"
)

// ssimReference is Wang et al.'s SSIM and MS-SSIM written directly from the papers in PyTorch
// (float64, a 2-D Gaussian window, F.conv2d without padding, negative terms as 0 as in
// pytorch-msssim), independent of the Go code's separable filtering. MS-SSIM uses the first
// `levels` published weights renormalized to sum 1; with 5 levels that is the published formula.
const ssimReference = `
W = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
def window(side, c):
    n = min(11, side if side % 2 else side - 1)
    x = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    g = torch.exp(-x**2 / (2 * 1.5**2)); g = g / g.sum()
    return torch.outer(g, g).expand(c, 1, n, n).contiguous()
def stats(x, y, L=2.0):
    c = x.shape[1]; w = window(min(x.shape[2], x.shape[3]), c)
    f = lambda t: F.conv2d(t, w, groups=c)
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x*x) - mx**2, f(y*y) - my**2, f(x*y) - mx*my
    C1, C2 = (0.01*L)**2, (0.03*L)**2
    cs = (2*sxy + C2) / (sxx + syy + C2)
    s = (2*mx*my + C1) / (mx**2 + my**2 + C1) * cs
    return s.mean((2, 3)), cs.mean((2, 3))
def msssim(x, y, levels):
    w = torch.tensor(W[:levels], dtype=torch.float64); w = w / w.sum()
    terms = []
    for i in range(levels):
        s, cs = stats(x, y)
        if i < levels - 1:
            terms.append(torch.relu(cs)); x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        else:
            terms.append(torch.relu(s))
    return torch.stack([t ** w[i] for i, t in enumerate(terms)]).prod(0).mean(1)
for k in [k for k in inp if k.startswith('x')]:
    x, y = inp[k].double(), inp['y' + k[1:]].double()
    levels = int(inp['levels' + k[1:]])
    out['ssim' + k[1:]] = stats(x, y)[0].mean(1).float()
    out['msssim' + k[1:]] = msssim(x, y, levels).float()
`

// pairs builds image pairs in [-1, 1] that span the range of SSIM: a smooth random image
// against itself with noise, blurred, with lower contrast, negated (anti-correlated) and
// against an unrelated image.
func pairs(g *torch.Generator, c, side int64) (x, y *torch.Tensor) {
	smooth := func() *torch.Tensor {
		t := torch.Randn([]int64{1, c, side / 4, side / 4}, g, torch.Options{})
		return torch.Interpolate(t, side, side, torch.Bilinear).Tanh()
	}
	a, b := smooth(), smooth()
	noisy := a.Add(torch.Randn(a.Shape(), g, torch.Options{}).MulS(0.2)).Clamp(-1, 1)
	blurred := torch.Interpolate(torch.AvgPool2d(a, 4, 4), side, side, torch.Bilinear)
	x = torch.Cat([]*torch.Tensor{a, a, a, a, a, a}, 0)
	y = torch.Cat([]*torch.Tensor{a, noisy, blurred, a.MulS(0.5), a.Neg(), b}, 0)
	return x, y
}

// TestSSIMMatchesReference compares SSIM and MS-SSIM with the PyTorch reference on pairs from
// identical to anti-correlated, at sizes that use 1, 2, 3 and all 5 MS-SSIM scales, gray and
// RGB. Tolerance 2e-5 absolute (float32 here, float64 there).
func TestSSIMMatchesReference(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	g, _ := torch.NewGenerator(torch.CPU, 11)
	defer g.Close()
	inputs := map[string]*torch.Tensor{}
	type shape struct {
		c, side int64
		levels  int
	}
	shapes := []shape{{1, 16, 1}, {1, 32, 2}, {1, 64, 3}, {3, 64, 3}, {1, 176, 5}}
	for i, sh := range shapes {
		if got := MSSSIMScales(sh.side); got != sh.levels {
			t.Fatalf("side %d: %d MS-SSIM scales, want %d", sh.side, got, sh.levels)
		}
		x, y := pairs(g, sh.c, sh.side)
		inputs[fmt.Sprintf("x%d", i)], inputs[fmt.Sprintf("y%d", i)] = x, y
		inputs[fmt.Sprintf("levels%d", i)] = torch.FromInt64([]int64{int64(sh.levels)}, 1)
	}
	ref := runPython(t, inputs, ssimReference)
	for i, sh := range shapes {
		x, y := inputs[fmt.Sprintf("x%d", i)], inputs[fmt.Sprintf("y%d", i)]
		for _, m := range []struct {
			name string
			got  *torch.Tensor
		}{{"ssim", SSIM(x, y)}, {"msssim", MSSSIM(x, y)}} {
			want := ref.Tensors[fmt.Sprintf("%s%d", m.name, i)].Float32s()
			got := m.got.Float32s()
			for j := range want {
				if d := math.Abs(float64(got[j] - want[j])); d > 2e-5 || math.IsNaN(float64(got[j])) {
					t.Errorf("%dx%dx%d pair %d: %s %.6f, reference %.6f", sh.c, sh.side, sh.side, j, m.name, got[j], want[j])
				}
			}
			if got[0] < 0.99999 {
				t.Errorf("%s of an image with itself is %g, want 1", m.name, got[0])
			}
		}
	}
}

// TestPSNR checks the definition on [-1, 1] images (peak-to-peak 2).
func TestPSNR(t *testing.T) {
	for _, tc := range []struct{ mse, want float64 }{
		{4, 0},       // error as large as the range
		{0.04, 20},   // a tenth of the range, rms
		{4e-4, 40},   // a hundredth
		{0, MaxPSNR}, // identical
		{1e-30, MaxPSNR},
	} {
		if got := PSNR(tc.mse); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("PSNR(%g) = %g, want %g", tc.mse, got, tc.want)
		}
	}
	// Through MSE: a uniform offset of 0.2 (0.1 on the 0-1 scale) is 20 dB.
	s := torch.NewScope()
	defer s.Close()
	a := torch.Zeros([]int64{2, 1, 8, 8}, torch.Options{})
	if got := PSNR(MSE(a, a.AddS(0.2)).Float64s()[1]); math.Abs(got-20) > 1e-4 {
		t.Errorf("offset 0.2: %g dB, want 20", got)
	}
}
