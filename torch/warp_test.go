package torch

import (
	"strings"
	"testing"
)

// GridSample, AffineGrid and PadReflect against F.grid_sample, F.affine_grid and F.pad on the same
// inputs, in float64: values and first derivatives against PyTorch's autograd within 1e-10, and
// the second derivative with respect to the image (which PyTorch's grid_sample cannot give)
// against the dense map S (PyTorch's Jacobian of grid_sample): for y = S x and
// f = sum(w * tanh(y)), d/dx <df/dx, v> = S^T (w * tanh2(y) * (S v)) with tanh2 = d2 tanh/dy2.
func TestWarpOpsMatchPyTorch(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g, err := NewGenerator(CPU, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	f64 := Options{DType: Float64}
	in := map[string]*Tensor{
		"x":     Randn([]int64{2, 2, 5, 7}, g, f64),
		"theta": FromFloat64([]float64{0.9, 0.3, 0.1, -0.2, 1.1, -0.15, 1.2, -0.4, 0.3, 0.5, 0.8, 0.05}, 2, 2, 3),
		"w":     Randn([]int64{2, 2, 6, 8}, g, f64),
		"v":     Randn([]int64{2, 2, 5, 7}, g, f64),
		"wp":    Randn([]int64{2, 2, 10, 12}, g, f64),
	}
	x := in["x"].Detach().SetRequiresGrad(true)
	grid := AffineGrid(in["theta"], []int64{2, 2, 6, 8})
	y := GridSample(x, grid)
	f := y.Tanh().Mul(in["w"]).SumAll()
	gx := Grad([]*Tensor{f}, []*Tensor{x}, GradOpts{CreateGraph: true})[0]
	hv := Grad([]*Tensor{gx.Mul(in["v"]).SumAll()}, []*Tensor{x}, GradOpts{})[0]
	xp := in["x"].Detach().SetRequiresGrad(true)
	p := PadReflect(xp, 3, 2, 1, 4)
	gp := Grad([]*Tensor{p.Mul(in["wp"]).SumAll()}, []*Tensor{xp}, GradOpts{})[0]

	ref := runPython(t, in, strings.Join([]string{
		"x = inp['x'].clone().requires_grad_(True)",
		"grid = F.affine_grid(inp['theta'], [2, 2, 6, 8], align_corners=False)",
		"samp = lambda z: F.grid_sample(z, grid, mode='bilinear', padding_mode='zeros', align_corners=False)",
		"y = samp(x)",
		"f = (y.tanh() * inp['w']).sum()",
		"gx, = torch.autograd.grad(f, x)",
		"S = torch.autograd.functional.jacobian(samp, inp['x']).reshape(y.numel(), x.numel())",
		"yd = y.detach().flatten()",
		"fpp = inp['w'].flatten() * (-2 * yd.tanh() * (1 - yd.tanh() ** 2))",
		"hv = S.t() @ (fpp * (S @ inp['v'].flatten()))",
		"xp = inp['x'].clone().requires_grad_(True)",
		"p = F.pad(xp, [3, 2, 1, 4], mode='reflect')",
		"gp, = torch.autograd.grad((p * inp['wp']).sum(), xp)",
		"out.update(grid=grid, y=y.detach(), gx=gx, hv=hv.reshape(x.shape), p=p.detach(), gp=gp)",
	}, "\n"))
	compareAll(t, map[string]*Tensor{"grid": grid, "y": y, "gx": gx, "hv": hv, "p": p, "gp": gp}, ref, 1e-10, 1e-10)
}

// The grid is a constant of the warp: one that asks for gradients is refused rather than given
// none silently.
func TestGridSampleRefusesGradGrid(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := Ones([]int64{1, 1, 4, 4}, Options{})
	grid := Zeros([]int64{1, 3, 3, 2}, Options{}).SetRequiresGrad(true)
	err := Try(func() { GridSample(x, grid) })
	if err == nil || !strings.Contains(err.Error(), "grid must not require gradients") {
		t.Errorf("GridSample with a grid requiring gradients: err %v", err)
	}
}
