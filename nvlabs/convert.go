// Package nvlabs imports networks trained with NVlabs' stylegan2-ada-pytorch: the network
// pickles its training loop writes (network-snapshot-NNNNNN.pkl) become sgan checkpoints. The
// pickle is read by package pickle, which never runs code from a file; the architecture comes
// from the networks' own constructor arguments, so nobody has to guess a configuration.
package nvlabs

import (
	"fmt"
	"math"
	"strings"

	"sgan/model"
	"sgan/pickle"
	"sgan/run"
	"sgan/torch"
)

// Options adjust a conversion.
type Options struct {
	// Gray turns an RGB network into a 1-channel one: fromRGB weights are summed over the colour
	// channels (a gray image fed to all three is exactly the same input) and toRGB weights and
	// biases averaged (the gray output is the mean of R, G and B).
	Gray bool
	// Classes names the labels of a conditional network (NVlabs' pickles hold none); default
	// "0", "1", ...
	Classes []string
}

// Converted is an NVlabs snapshot as an sgan checkpoint, with what the conversion noticed.
type Converted struct {
	Checkpoint *run.Checkpoint
	Notes      []string // what was read and assumed, for the user
}

// Free releases the converted tensors.
func (c *Converted) Free() {
	for _, sd := range []map[string]*torch.Tensor{c.Checkpoint.Generator, c.Checkpoint.GeneratorEMA, c.Checkpoint.Critic} {
		for _, t := range sd {
			t.Free()
		}
	}
}

// Convert reads an NVlabs network pickle and returns the equivalent sgan checkpoint: G, G_ema
// and D with NVlabs' names and the model config their constructor arguments describe. Networks
// sgan does not compute (other architectures, activations, filters) are refused with the reason.
func Convert(b []byte, opt Options) (*Converted, error) {
	scope := torch.NewScope() // the converted tensors are kept; temporaries go with the scope
	defer scope.Close()
	snap, err := pickle.ReadNetworkSnapshot(b)
	if err != nil {
		return nil, err
	}
	G := snap.GEma
	if G == nil {
		G = snap.G
	}
	if G == nil {
		return nil, fmt.Errorf("the pickle holds no generator (G or G_ema)")
	}
	out := &Converted{Notes: snap.Warnings}
	mc, notes, err := modelConfig(G, snap.D)
	if err != nil {
		return nil, err
	}
	out.Notes = append(out.Notes, notes...)
	rgbToGray := opt.Gray && mc.Channels == 3
	if opt.Gray && mc.Channels != 3 {
		return nil, fmt.Errorf("--gray: the network has %d channels, not RGB", mc.Channels)
	}
	if rgbToGray {
		mc.Channels = 1
		out.Notes = append(out.Notes, "RGB to gray: fromRGB weights summed over the colours, toRGB weights and biases averaged")
	}
	cfg := run.DefaultConfig()
	cfg.Model = mc
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("the network's architecture: %w", err)
	}
	ck := &run.Checkpoint{Config: cfg}
	if mc.NumClasses > 0 {
		ck.Classes = opt.Classes
		if len(ck.Classes) == 0 {
			for i := range mc.NumClasses {
				ck.Classes = append(ck.Classes, fmt.Sprint(i))
			}
		}
		if len(ck.Classes) != mc.NumClasses {
			return nil, fmt.Errorf("--classes names %d classes, the network has %d", len(ck.Classes), mc.NumClasses)
		}
	} else if len(opt.Classes) > 0 {
		return nil, fmt.Errorf("--classes given, but the network is unconditional")
	}
	out.Checkpoint = ck
	conv := func(n *pickle.Network, gray func(name string, t *torch.Tensor) *torch.Tensor) (map[string]*torch.Tensor, error) {
		sd := map[string]*torch.Tensor{}
		for _, name := range n.Names {
			t, err := torch.FromPickle(n.State[name])
			if err != nil {
				out.Free()
				return nil, fmt.Errorf("%s %s: %w", n.ClassName, name, err)
			}
			if t.DType() != torch.Float32 {
				t = t.ToDType(torch.Float32)
			}
			if rgbToGray {
				t = gray(name, t)
			}
			sd[name] = t.Keep()
		}
		return sd, nil
	}
	if ck.GeneratorEMA, err = conv(G, grayG); err != nil {
		return nil, err
	}
	ck.Generator = ck.GeneratorEMA
	if snap.G != nil && snap.GEma != nil {
		if ck.Generator, err = conv(snap.G, grayG); err != nil {
			return nil, err
		}
	}
	if snap.D != nil {
		if ck.Critic, err = conv(snap.D, grayD); err != nil {
			return nil, err
		}
	} else {
		out.Notes = append(out.Notes, "the pickle has no D: the checkpoint can sample, and --init starts a fresh critic")
	}
	// Check that sgan's networks take exactly these state dicts.
	if err := check(ck); err != nil {
		out.Free()
		return nil, err
	}
	return out, nil
}

// grayG averages a generator's toRGB weights and biases over the colour channels.
func grayG(name string, t *torch.Tensor) *torch.Tensor {
	if strings.Contains(name, ".torgb.") && (strings.HasSuffix(name, ".weight") && !strings.Contains(name, "affine") || strings.HasSuffix(name, "torgb.bias")) {
		return t.Mean([]int64{0}, true)
	}
	return t
}

// grayD sums a critic's fromRGB weights over the colour channels.
func grayD(name string, t *torch.Tensor) *torch.Tensor {
	if strings.HasSuffix(name, ".fromrgb.weight") {
		return t.Sum([]int64{1}, true)
	}
	return t
}

func check(ck *run.Checkpoint) error {
	G, err := model.NewGenerator(ck.Config.Model, 0, torch.CPU)
	if err != nil {
		return err
	}
	defer G.Free()
	if err := G.Store.Load(ck.GeneratorEMA); err != nil {
		return fmt.Errorf("the generator's tensors: %w", err)
	}
	if ck.Critic != nil {
		D, err := model.NewCritic(ck.Config.Model, 0, torch.CPU)
		if err != nil {
			return err
		}
		defer D.Free()
		if err := D.Store.Load(ck.Critic); err != nil {
			return fmt.Errorf("the discriminator's tensors: %w", err)
		}
	}
	return nil
}

// kwargs reads constructor arguments with NVlabs' defaults.
type kwargs map[string]any

func (k kwargs) sub(name string) kwargs {
	if m, ok := k[name].(map[string]any); ok {
		return m
	}
	return kwargs{}
}

func (k kwargs) int(name string, def int64) (int64, error) {
	switch v := k[name].(type) {
	case nil:
		return def, nil
	case int64:
		return v, nil
	case float64:
		if v == math.Trunc(v) {
			return int64(v), nil
		}
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%s = %v: not an integer", name, k[name])
}

func (k kwargs) float(name string, def float64) (float64, error) {
	switch v := k[name].(type) {
	case nil:
		return def, nil
	case int64:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("%s = %v: not a number", name, k[name])
}

// want refuses a constructor argument that sgan does not compute.
func (k kwargs) want(name string, allowed ...any) error {
	v, ok := k[name]
	if !ok || v == nil {
		return nil
	}
	for _, a := range allowed {
		if fmt.Sprint(v) == fmt.Sprint(a) {
			return nil
		}
	}
	return fmt.Errorf("%s = %v: sgan computes only %v (NVlabs' StyleGAN2 defaults)", name, v, allowed)
}

// modelConfig maps the networks' constructor arguments onto sgan's model config.
func modelConfig(G, D *pickle.Network) (model.Config, []string, error) {
	c := model.DefaultConfig()
	var notes []string
	if G.ClassName != "Generator" {
		return c, nil, fmt.Errorf("the generator is a %s, not NVlabs' StyleGAN2 Generator", G.ClassName)
	}
	g := kwargs(G.InitKwargs)
	fail := func(err error) (model.Config, []string, error) { return c, nil, fmt.Errorf("G's %w", err) }
	ints := []struct {
		dst  *int
		kw   kwargs
		name string
		def  int64
	}{
		{&c.ZDim, g, "z_dim", -1}, {&c.WDim, g, "w_dim", -1}, {&c.NumClasses, g, "c_dim", 0},
		{&c.Resolution, g, "img_resolution", -1}, {&c.Channels, g, "img_channels", -1},
		{&c.MappingLayers, g.sub("mapping_kwargs"), "num_layers", 8},
		{&c.ChannelBase, g.sub("synthesis_kwargs"), "channel_base", 32768},
		{&c.ChannelMax, g.sub("synthesis_kwargs"), "channel_max", 512},
	}
	for _, x := range ints {
		v, err := x.kw.int(x.name, x.def)
		if err != nil {
			return fail(err)
		}
		if v < 0 {
			return fail(fmt.Errorf("constructor arguments lack %s", x.name))
		}
		if v > math.MaxInt32 {
			return fail(fmt.Errorf("%s = %d is out of range", x.name, v))
		}
		*x.dst = int(v)
	}
	mk, sk := g.sub("mapping_kwargs"), g.sub("synthesis_kwargs")
	var err error
	if c.MappingLRMul, err = mk.float("lr_multiplier", 0.01); err != nil {
		return fail(err)
	}
	if c.ConvClamp, err = sk.float("conv_clamp", 0); err != nil {
		return fail(err)
	}
	for _, e := range []error{
		mk.want("embed_features", c.WDim), mk.want("layer_features", c.WDim), mk.want("activation", "lrelu"),
		sk.want("architecture", "skip"), sk.want("resample_filter", []any{int64(1), int64(3), int64(3), int64(1)}),
		sk.want("use_noise", true), sk.want("activation", "lrelu"), sk.want("kernel_size", 3),
	} {
		if e != nil {
			return fail(e)
		}
	}
	if n, _ := sk.int("num_fp16_res", 0); n > 0 {
		notes = append(notes, fmt.Sprintf("num_fp16_res = %d: sgan computes in float32 (as NVlabs with force_fp32)", n))
	}
	if D == nil {
		return c, notes, nil
	}
	if D.ClassName != "Discriminator" {
		return c, nil, fmt.Errorf("the discriminator is a %s, not NVlabs' StyleGAN2 Discriminator", D.ClassName)
	}
	d := kwargs(D.InitKwargs)
	failD := func(err error) (model.Config, []string, error) { return c, nil, fmt.Errorf("D's %w", err) }
	for _, x := range []struct {
		name string
		want int
	}{{"c_dim", c.NumClasses}, {"img_resolution", c.Resolution}, {"img_channels", c.Channels}, {"channel_base", c.ChannelBase}, {"channel_max", c.ChannelMax}} {
		def := int64(x.want)
		if x.name == "channel_base" {
			def = 32768
		} else if x.name == "channel_max" {
			def = 512
		}
		v, err := d.int(x.name, def)
		if err != nil {
			return failD(err)
		}
		if x.name == "channel_base" && v != int64(x.want) {
			// NVlabs' D takes its own channel_base: sgan's model.critic_channel_base.
			if v < int64(c.Resolution) || v > 1<<20 {
				return failD(fmt.Errorf("channel_base = %d: must be from %d to %d", v, c.Resolution, 1<<20))
			}
			c.CriticChannelBase = int(v)
			continue
		}
		if v != int64(x.want) {
			return failD(fmt.Errorf("%s = %d but G's is %d: sgan's critic shares it with the generator (only channel_base may differ: model.critic_channel_base)", x.name, v, x.want))
		}
	}
	if dc, err := d.float("conv_clamp", 0); err != nil || dc != c.ConvClamp {
		return failD(fmt.Errorf("conv_clamp = %v but G's is %v: sgan uses one model.conv_clamp", d["conv_clamp"], c.ConvClamp))
	}
	dm, de := d.sub("mapping_kwargs"), d.sub("epilogue_kwargs")
	layers, err := dm.int("num_layers", 8)
	if err != nil {
		return failD(err)
	}
	c.CriticMappingLayers = int(layers)
	if lr, err := dm.float("lr_multiplier", 0.01); err != nil || lr != c.MappingLRMul {
		return failD(fmt.Errorf("mapping lr_multiplier = %v but G's is %v: sgan uses one model.mapping_lr_mul", dm["lr_multiplier"], c.MappingLRMul))
	}
	group, err := de.int("mbstd_group_size", 4)
	if err != nil {
		return failD(err)
	}
	c.MbstdGroup = int(group)
	for _, e := range []error{
		d.want("architecture", "resnet"), de.want("mbstd_num_channels", 1), de.want("activation", "lrelu"),
		d.want("cmap_dim", c.CriticChannelsAt(4)),
	} {
		if e != nil {
			return failD(e)
		}
	}
	if n, _ := d.int("num_fp16_res", 0); n > 0 {
		notes = append(notes, fmt.Sprintf("D's num_fp16_res = %d: sgan computes in float32", n))
	}
	notes = append(notes, "NVlabs' minibatch-stddev groups are strided, sgan's contiguous: scores agree up to a permutation of the batch (README)")
	return c, notes, nil
}
