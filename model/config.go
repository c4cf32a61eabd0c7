package model

import (
	"cmp"
	"fmt"
	"math/bits"

	"sgan/internal/knobs"
)

// Config describes the generator, mapping network and critic. Each key is declared once, here:
// its TOML name, default (the reference recipe: 64x64, z = w = 512, 8 mapping layers, NVlabs'
// widths), range and meaning; defaults, checks and `sgan config init` come from these tags
// (package knobs). The bounds are far above anything that fits in memory, so a hostile
// checkpoint's stored config cannot ask for absurd allocations.
type Config struct {
	Resolution          int     `toml:"resolution" default:"64" min:"8" max:"1024" rangedoc:"A power of two from 8 to 1024." doc:"Image side in pixels."`
	Channels            int     `toml:"channels" default:"1" min:"1" max:"3" rangedoc:"1 or 3." doc:"Image channels: 1 (grayscale MRI) or 3 (RGB)."`
	ZDim                int     `toml:"z_dim" default:"512" min:"1" max:"4096" doc:"Size of the latent z."`
	WDim                int     `toml:"w_dim" default:"512" min:"1" max:"4096" doc:"Size of the intermediate latent w."`
	MappingLayers       int     `toml:"mapping_layers" default:"8" min:"1" max:"32" doc:"Fully connected layers of the mapping network."`
	MappingLRMul        float64 `toml:"mapping_lr_mul" default:"0.01" gt:"0" max:"10" doc:"Learning-rate multiplier of the mapping networks' layers."`
	ChannelBase         int     `toml:"channel_base" default:"32768" min:"1" max:"1048576" doc:"Feature maps at resolution r are min(channel_base / r, channel_max)."`
	CriticChannelBase   int     `toml:"critic_channel_base" default:"0" min:"0" max:"1048576" doc:"The critic's feature maps at resolution r are min(critic_channel_base / r, channel_max); 0 = the\ngenerator's channel_base (as NVlabs' configs). NVlabs' discriminator takes its own channel_base too."`
	ChannelMax          int     `toml:"channel_max" default:"512" min:"1" max:"4096" doc:"Cap on feature maps per layer."`
	NumClasses          int     `toml:"num_classes" default:"0" min:"0" max:"10000" doc:"0 = unconditional, else labels 0..n-1 (set from the data when data.conditional)."`
	MbstdGroup          int     `toml:"mbstd_group" default:"4" min:"1" max:"1024" doc:"Minibatch-stddev group size in the critic."`
	CriticMappingLayers int     `toml:"critic_mapping_layers" default:"8" min:"1" max:"32" doc:"Layers of a conditional critic's class mapping network (NVlabs' cmap)."`
	ConvClamp           float64 `toml:"conv_clamp" default:"0.0" min:"0" max:"1e6" doc:"Clamp convolution outputs to +-x (NVlabs trains with 256 for float16); 0 = off."`
}

// DefaultConfig is the reference recipe's network.
func DefaultConfig() Config {
	var c Config
	if err := knobs.Fill(&c); err != nil {
		panic(err)
	}
	return c
}

// Validate reports the first impossible value, naming its config key.
func (c Config) Validate() error {
	if err := knobs.Check(c, "model"); err != nil {
		return err
	}
	switch {
	case bits.OnesCount(uint(c.Resolution)) != 1:
		return fmt.Errorf("model.resolution = %d: must be a power of two from 8 to 1024 (e.g. 64)", c.Resolution)
	case c.Channels == 2:
		return fmt.Errorf("model.channels = %d: must be 1 (grayscale) or 3 (RGB)", c.Channels)
	case c.ChannelBase < c.Resolution:
		return fmt.Errorf("model.channel_base = %d: gives no feature maps at %dx%d; must be at least model.resolution", c.ChannelBase, c.Resolution, c.Resolution)
	case c.CriticChannelBase != 0 && c.CriticChannelBase < c.Resolution:
		return fmt.Errorf("model.critic_channel_base = %d: gives the critic no feature maps at %dx%d; must be 0 (= channel_base) or at least model.resolution", c.CriticChannelBase, c.Resolution, c.Resolution)
	case c.Params() > MaxParams:
		return fmt.Errorf("model: channel_base %d, critic_channel_base %d, channel_max %d, w_dim %d at %dx%d make about %d parameters per network, more than model.MaxParams (%d)",
			c.ChannelBase, c.CriticChannelBase, c.ChannelMax, c.WDim, c.Resolution, c.Resolution, c.Params(), int64(MaxParams))
	}
	return nil
}

// MaxParams bounds the parameters of one network (4 GB of float32): far above any StyleGAN2
// (NVlabs' 1024x1024 generator has 30M), so a config from a hostile or mistyped file cannot make
// sgan allocate without bound.
const MaxParams = 1 << 30

// Params estimates the larger of the generator's and the critic's parameter counts (weights of
// every layer; biases and small buffers left out).
func (c Config) Params() int64 {
	g, d := c.ParamCounts()
	return max(g, d)
}

// ParamCounts estimates the generator's and the critic's parameter counts (as Params).
func (c Config) ParamCounts() (g, d int64) {
	sq := func(a, b int) int64 { return int64(a) * int64(b) }
	in := c.ZDim
	if c.NumClasses > 0 {
		g += sq(c.NumClasses, c.WDim)
		in += c.WDim
	}
	g += sq(in, c.WDim) + int64(c.MappingLayers-1)*sq(c.WDim, c.WDim)
	for res := 4; res <= c.Resolution; res *= 2 {
		out := c.ChannelsAt(res)
		g += 9*sq(out, out) + 2*sq(c.WDim, out) + sq(out, c.Channels) // conv1, its affine, toRGB and its affine
		if res > 4 {
			prev := c.ChannelsAt(res / 2)
			g += 9*sq(prev, out) + sq(c.WDim, prev) // conv0 and its affine
			dout, dprev := c.CriticChannelsAt(res), c.CriticChannelsAt(res/2)
			d += 9*sq(dout, dout) + 10*sq(dout, dprev) // conv0, conv1 and skip
		}
	}
	c4 := c.CriticChannelsAt(4)
	d += sq(c.CriticChannelsAt(c.Resolution), c.Channels) + 9*sq(c4+1, c4) + 16*sq(c4, c4) + sq(c4, c4)
	if c.NumClasses > 0 {
		d += sq(c.NumClasses, c4) + int64(c.CriticMappingLayers)*sq(c4, c4)
	}
	return g, d
}

// ChannelsAt is the number of feature maps at resolution res.
func (c Config) ChannelsAt(res int) int { return min(c.ChannelBase/res, c.ChannelMax) }

// CriticChannelsAt is the number of the critic's feature maps at resolution res.
func (c Config) CriticChannelsAt(res int) int {
	return min(cmp.Or(c.CriticChannelBase, c.ChannelBase)/res, c.ChannelMax)
}

// Log2Res is log2(Resolution).
func (c Config) Log2Res() int { return bits.Len(uint(c.Resolution)) - 1 }

// NumWs is the number of per-layer w inputs of the synthesis network: two convs per block after
// the 4x4 one (which has one), plus the final toRGB.
func (c Config) NumWs() int { return 2*(c.Log2Res()-2) + 2 }
