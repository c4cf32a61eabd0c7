package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/nvlabs"
	"sgan/pickle"
)

// maxPickleBytes bounds the network pickle read into memory (NVlabs' largest, 1024x1024 with
// G, D and G_ema, is about 380 MB).
const maxPickleBytes = 4 << 30

func convertCommand() *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "turn an NVlabs stylegan2-ada-pytorch network pickle into an sgan checkpoint",
		ArgsUsage: "NETWORK.pkl OUT.pt",
		Description: "Reads the pickle NVlabs' training loop writes (network-snapshot-NNNNNN.pkl) without Python and\n" +
			"without running any code from it, takes the architecture from the networks' own constructor\n" +
			"arguments, and writes G, G_ema and D as an sgan checkpoint for sgan sample, eval, project and\n" +
			"train --init.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "gray", Usage: "turn an RGB network into a 1-channel one (fromRGB summed, toRGB averaged over the colours)"},
			&cli.StringFlag{Name: "classes", Usage: "comma-separated names of a conditional network's labels (default 0,1,...)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return errors.New("convert: give NETWORK.pkl and OUT.pt")
			}
			in, out := c.Args().Get(0), c.Args().Get(1)
			st, err := os.Stat(in)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			if st.Size() > maxPickleBytes {
				return fmt.Errorf("convert: %s is %d bytes; network pickles are at most %d (convert.maxPickleBytes)", in, st.Size(), int64(maxPickleBytes))
			}
			b, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			opt := nvlabs.Options{Gray: c.Bool("gray")}
			if s := c.String("classes"); s != "" {
				opt.Classes = strings.Split(s, ",")
			}
			conv, err := nvlabs.Convert(b, opt)
			var forbidden *pickle.ForbiddenError
			switch {
			case errors.As(err, &forbidden):
				return fmt.Errorf("refusing %s: %v", in, err)
			case err != nil:
				return fmt.Errorf("convert %s: %w", in, err)
			}
			defer conv.Free()
			m := conv.Checkpoint.Config.Model
			critic := ""
			if m.CriticChannelBase != 0 {
				critic = fmt.Sprintf(" (D's %d)", m.CriticChannelBase)
			}
			fmt.Fprintf(c.App.ErrWriter, "%s: StyleGAN2 %dx%d, %d channel(s), z %d, w %d, %d mapping layers, channel_base %d%s, channel_max %d, %d classes\n",
				in, m.Resolution, m.Resolution, m.Channels, m.ZDim, m.WDim, m.MappingLayers, m.ChannelBase, critic, m.ChannelMax, m.NumClasses)
			for _, n := range conv.Notes {
				fmt.Fprintln(c.App.ErrWriter, "  note:", n)
			}
			if err := conv.Checkpoint.Save(out); err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			fmt.Fprintf(c.App.ErrWriter, "wrote %s; try: sgan sample --ckpt %s --seeds 1-16 --grid\n", out, out)
			return nil
		},
	}
}
