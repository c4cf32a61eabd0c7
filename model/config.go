package model

import (
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
	}
	return nil
}

// ChannelsAt is the number of feature maps at resolution res.
func (c Config) ChannelsAt(res int) int { return min(c.ChannelBase/res, c.ChannelMax) }

// Log2Res is log2(Resolution).
func (c Config) Log2Res() int { return bits.Len(uint(c.Resolution)) - 1 }

// NumWs is the number of per-layer w inputs of the synthesis network: two convs per block after
// the 4x4 one (which has one), plus the final toRGB.
func (c Config) NumWs() int { return 2*(c.Log2Res()-2) + 2 }
