package model

import (
	"fmt"
	"math"
	"math/bits"
)

// Config describes the generator, mapping network and critic. The defaults (DefaultConfig) are
// the reference recipe: 64x64, z = w = 512, 8 mapping layers, StyleGAN2 widths.
type Config struct {
	Resolution    int     `toml:"resolution"`     // output side in pixels, a power of two >= 8 (default 64)
	Channels      int     `toml:"channels"`       // image channels: 1 for MRI, 3 for RGB (default 1)
	ZDim          int     `toml:"z_dim"`          // latent z size (default 512)
	WDim          int     `toml:"w_dim"`          // intermediate latent w size (default 512)
	MappingLayers int     `toml:"mapping_layers"` // fully connected layers in the mapping network (default 8)
	MappingLRMul  float64 `toml:"mapping_lr_mul"` // equalized-LR multiplier of mapping layers (default 0.01)
	ChannelBase   int     `toml:"channel_base"`   // feature maps at resolution r are min(base/r, max) (default 32768: 512 maps at 64x64)
	ChannelMax    int     `toml:"channel_max"`    // cap on feature maps per layer (default 512)
	NumClasses    int     `toml:"num_classes"`    // 0: unconditional; else labels 0..n-1 (set from the data)
	MbstdGroup    int     `toml:"mbstd_group"`    // minibatch-stddev group size in the critic (default 4)
	// Conditional critics map the class through their own mapping network (NVlabs: 8 layers).
	CriticMappingLayers int     `toml:"critic_mapping_layers"` // (default 8)
	ConvClamp           float64 `toml:"conv_clamp"`            // clamp conv outputs to +-x, 0 = off (NVlabs trains with 256; default 0)
}

// DefaultConfig is the reference recipe's network.
func DefaultConfig() Config {
	return Config{Resolution: 64, Channels: 1, ZDim: 512, WDim: 512, MappingLayers: 8, MappingLRMul: 0.01,
		ChannelBase: 32768, ChannelMax: 512, MbstdGroup: 4, CriticMappingLayers: 8}
}

// Validate reports the first impossible value, naming its config key.
func (c Config) Validate() error {
	switch {
	case c.Resolution < 8 || bits.OnesCount(uint(c.Resolution)) != 1:
		return fmt.Errorf("model.resolution = %d: must be a power of two, at least 8 (e.g. 64)", c.Resolution)
	case c.Channels != 1 && c.Channels != 3:
		return fmt.Errorf("model.channels = %d: must be 1 (grayscale) or 3 (RGB)", c.Channels)
	case c.ZDim < 1:
		return fmt.Errorf("model.z_dim = %d: must be positive", c.ZDim)
	case c.WDim < 1:
		return fmt.Errorf("model.w_dim = %d: must be positive", c.WDim)
	case c.MappingLayers < 1:
		return fmt.Errorf("model.mapping_layers = %d: must be at least 1", c.MappingLayers)
	case c.MappingLRMul <= 0:
		return fmt.Errorf("model.mapping_lr_mul = %g: must be positive", c.MappingLRMul)
	case c.ChannelBase < 1 || c.ChannelMax < 1:
		return fmt.Errorf("model.channel_base = %d, model.channel_max = %d: must be positive", c.ChannelBase, c.ChannelMax)
	case c.NumClasses < 0:
		return fmt.Errorf("model.num_classes = %d: must be 0 (unconditional) or more", c.NumClasses)
	case c.MbstdGroup < 1:
		return fmt.Errorf("model.mbstd_group = %d: must be at least 1", c.MbstdGroup)
	case c.CriticMappingLayers < 1:
		return fmt.Errorf("model.critic_mapping_layers = %d: must be at least 1", c.CriticMappingLayers)
	case !(c.ConvClamp >= 0) || math.IsInf(c.ConvClamp, 1):
		return fmt.Errorf("model.conv_clamp = %g: must be 0 (off) or a positive number", c.ConvClamp)
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
