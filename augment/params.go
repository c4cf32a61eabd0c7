package augment

import (
	"fmt"
	"math"
)

// Mat3 is a homogeneous 2-D transform, row-major: a pixel (x, y) maps to M @ [x, y, 1].
type Mat3 [3][3]float64

// Mat4 is a homogeneous colour transform: an RGB value maps to M @ [r, g, b, 1].
type Mat4 [4][4]float64

func eye3() Mat3 { return Mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}} }
func eye4() Mat4 { return Mat4{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}} }

// Mul is the matrix product a @ b.
func (a Mat3) Mul(b Mat3) Mat3 {
	var c Mat3
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// Apply maps the point (x, y).
func (a Mat3) Apply(x, y float64) (float64, float64) {
	return a[0][0]*x + a[0][1]*y + a[0][2], a[1][0]*x + a[1][1]*y + a[1][2]
}

// IsIdentity reports whether a is exactly the identity.
func (a Mat3) IsIdentity() bool { return a == eye3() }

// Mul is the matrix product a @ b.
func (a Mat4) Mul(b Mat4) Mat4 {
	var c Mat4
	for i := range 4 {
		for j := range 4 {
			for k := range 4 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// IsIdentity reports whether a is exactly the identity.
func (a Mat4) IsIdentity() bool { return a == eye4() }

func translate2(tx, ty float64) Mat3 { return Mat3{{1, 0, tx}, {0, 1, ty}, {0, 0, 1}} }
func scale2(sx, sy float64) Mat3     { return Mat3{{sx, 0, 0}, {0, sy, 0}, {0, 0, 1}} }

// rotate2 turns counter-clockwise by theta in a y-down image, as NVlabs' rotate2d.
func rotate2(theta float64) Mat3 {
	c, s := math.Cos(theta), math.Sin(theta)
	return Mat3{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}

// quarter is rotate2(k*pi/2) with exact entries, so that blits compose into integer matrices.
func quarter(k int) Mat3 {
	c := [4]float64{1, 0, -1, 0}[k&3]
	s := [4]float64{0, 1, 0, -1}[k&3]
	return Mat3{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}

// Colour-space helpers; v is the unit luma axis (1, 1, 1)/sqrt(3).
func translate3(t float64) Mat4 {
	return Mat4{{1, 0, 0, t}, {0, 1, 0, t}, {0, 0, 1, t}, {0, 0, 0, 1}}
}

func scale3(s float64) Mat4 {
	return Mat4{{s, 0, 0, 0}, {0, s, 0, 0}, {0, 0, s, 0}, {0, 0, 0, 1}}
}

// lumaOuter is v v^T for the luma axis (zero in the homogeneous row and column).
func lumaOuter() Mat4 {
	var m Mat4
	for i := range 3 {
		for j := range 3 {
			m[i][j] = 1.0 / 3
		}
	}
	return m
}

// rotateLuma turns colours by theta around the luma axis (Rodrigues' formula).
func rotateLuma(theta float64) Mat4 {
	v := 1 / math.Sqrt(3)
	s, c := math.Sin(theta), math.Cos(theta)
	cc := 1 - c
	m := eye4()
	// With vx = vy = vz = v: R = c I + (1-c) v v^T + s [v]x.
	cross := [3][3]float64{{0, -v, v}, {v, 0, -v}, {-v, v, 0}}
	for i := range 3 {
		for j := range 3 {
			m[i][j] = v*v*cc + s*cross[i][j]
			if i == j {
				m[i][j] += c
			}
		}
	}
	return m
}

// Params is one sample's drawn augmentation, in NVlabs' terms. The zero transform is Identity().
type Params struct {
	XFlip    bool       // mirror left-right
	Rot90    int        // quarter turns, 0..3
	XInt     [2]float64 // integer translation (x, y) in pixels
	Scale    float64    // isotropic scale factor (1: none)
	RotPre   float64    // rotation before the anisotropic scaling, radians
	Aniso    float64    // anisotropic scale: x by Aniso, y by 1/Aniso (1: none)
	RotPost  float64    // rotation after the anisotropic scaling, radians
	XFrac    [2]float64 // fractional translation (x, y) in pixels
	Bright   float64    // brightness offset (0: none)
	Contrast float64    // contrast factor (1: none)
	LumaFlip bool       // Householder reflection of colours across the plane normal to luma
	Hue      float64    // rotation around the luma axis, radians (RGB only)
	Sat      float64    // saturation factor (1: none; RGB only)
}

// Identity is the augmentation that changes nothing.
func Identity() Params { return Params{Scale: 1, Aniso: 1, Contrast: 1, Sat: 1} }

// Geometry is the sample's inverse geometric transform G_inv in pixel units with the origin at
// the image centre: the output pixel at (x, y) shows the input at G_inv @ [x, y, 1]. The factors
// compose in NVlabs' order (flip, quarter turns, integer translation, scale, rotation, anisotropy,
// rotation, fractional translation), and an absent factor is skipped, so no transform is exactly
// the identity matrix.
func (q Params) Geometry() Mat3 {
	g := eye3()
	mul := func(m Mat3) { g = g.Mul(m) }
	if q.XFlip {
		mul(scale2(-1, 1))
	}
	if q.Rot90&3 != 0 {
		mul(quarter(q.Rot90))
	}
	if q.XInt != [2]float64{} {
		mul(translate2(-q.XInt[0], -q.XInt[1]))
	}
	if q.Scale != 1 {
		mul(scale2(1/q.Scale, 1/q.Scale))
	}
	if q.RotPre != 0 {
		mul(rotate2(q.RotPre))
	}
	if q.Aniso != 1 {
		mul(scale2(1/q.Aniso, q.Aniso))
	}
	if q.RotPost != 0 {
		mul(rotate2(q.RotPost))
	}
	if q.XFrac != [2]float64{} {
		mul(translate2(-q.XFrac[0], -q.XFrac[1]))
	}
	return g
}

// Color is the sample's colour transform C (colour_out = C @ [r, g, b, 1]), composed in NVlabs'
// order: brightness, contrast, luma flip, hue, saturation.
func (q Params) Color() Mat4 {
	c := eye4()
	pre := func(m Mat4) { c = m.Mul(c) }
	if q.Bright != 0 {
		pre(translate3(q.Bright))
	}
	if q.Contrast != 1 {
		pre(scale3(q.Contrast))
	}
	if q.LumaFlip {
		m, vv := eye4(), lumaOuter()
		for i := range 4 {
			for j := range 4 {
				m[i][j] -= 2 * vv[i][j]
			}
		}
		pre(m)
	}
	if q.Hue != 0 {
		pre(rotateLuma(q.Hue))
	}
	if q.Sat != 1 {
		m, vv := eye4(), lumaOuter()
		for i := range 4 {
			for j := range 4 {
				m[i][j] = vv[i][j] + (m[i][j]-vv[i][j])*q.Sat
			}
		}
		m[3][3] = 1
		pre(m)
	}
	return c
}

// Gray reduces a colour transform to one channel as NVlabs does: the mean over the three colour
// rows, so a gray value v maps to a*v + b with a the mean row sum of the 3x3 part and b the mean
// offset. Brightness and contrast carry over unchanged, the luma flip becomes v -> -v, and hue and
// saturation (which fix the gray axis) reduce to the identity.
func (c Mat4) Gray() (a, b float64) {
	for i := range 3 {
		a += c[i][0] + c[i][1] + c[i][2]
		b += c[i][3]
	}
	return a / 3, b / 3
}

// String is a compact description for logs and test failures.
func (q Params) String() string {
	return fmt.Sprintf("{flip %v rot90 %d xint %v scale %.4g rot %.4g/%.4g aniso %.4g xfrac %.4v bright %.4g contrast %.4g lumaflip %v hue %.4g sat %.4g}",
		q.XFlip, q.Rot90, q.XInt, q.Scale, q.RotPre, q.RotPost, q.Aniso, q.XFrac, q.Bright, q.Contrast, q.LumaFlip, q.Hue, q.Sat)
}
