package nvlabs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/model"
	"sgan/pickle"
	"sgan/run"
	"sgan/torch"
)

const fixtures = "../model/testdata/nvlabs"

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func relErr(got, want *torch.Tensor) float64 {
	return got.Sub(want).Abs().Amax(nil, false).Item() / want.Abs().Amax(nil, false).Item()
}

// TestConvertRendersNVlabsImages: the pickles were written by NVlabs' own save code
// (scripts/make-nvlabs-fixtures); their G_ema rendered the .expect.pt images in NVlabs. The
// converted checkpoint, saved and loaded back as sgan loads any checkpoint, must render them.
func TestConvertRendersNVlabsImages(t *testing.T) {
	for _, tc := range []struct {
		name               string
		res, ch, z, layers int
		classes            int
		criticBase         int // D's own channel_base (model.critic_channel_base), 0 = G's
	}{
		{"network-snapshot-res32", 32, 1, 16, 2, 0, 0},
		{"network-snapshot-res32-rgb-cond", 32, 3, 12, 8, 3, 0},
		{"network-snapshot-res32-cond-dwide", 32, 1, 16, 2, 2, 512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			conv, err := Convert(readFixture(t, tc.name+".pkl"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Free()
			m := conv.Checkpoint.Config.Model
			if m.Resolution != tc.res || m.Channels != tc.ch || m.ZDim != tc.z || m.MappingLayers != tc.layers || m.NumClasses != tc.classes || m.CriticChannelBase != tc.criticBase {
				t.Fatalf("model config %+v", m)
			}
			path := filepath.Join(t.TempDir(), "converted.pt")
			if err := conv.Checkpoint.Save(path); err != nil {
				t.Fatal(err)
			}
			G, _, classes, err := run.LoadGenerator(path, torch.CPU)
			if err != nil {
				t.Fatal(err)
			}
			defer G.Free()
			if len(classes) != tc.classes {
				t.Errorf("classes %v", classes)
			}
			want, err := torch.LoadArchive(filepath.Join(fixtures, tc.name+".expect.pt"))
			if err != nil {
				t.Fatal(err)
			}
			defer want.Free()
			var c *torch.Tensor
			if tc.classes > 0 {
				c = want.Tensors["c"]
			}
			for _, psi := range []struct {
				v   float64
				key string
			}{{1, "img"}, {0.5, "img_psi"}} {
				var img *torch.Tensor
				torch.NoGrad(func() { img = G.Forward(want.Tensors["z"], c, psi.v, model.NoiseConst, nil) })
				if e := relErr(img, want.Tensors[psi.key]); !(e < 2e-5) {
					t.Errorf("psi %g: relative error %.3g against NVlabs' G_ema", psi.v, e)
				}
			}
		})
	}
}

// TestConvertToGray: --gray makes the RGB network's output the mean of its colours.
func TestConvertToGray(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	conv, err := Convert(readFixture(t, "network-snapshot-res32-rgb-cond.pkl"), Options{Gray: true, Classes: []string{"AD", "MCI", "NC"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Free()
	ck := conv.Checkpoint
	if ck.Config.Model.Channels != 1 || strings.Join(ck.Classes, ",") != "AD,MCI,NC" {
		t.Fatalf("channels %d, classes %v", ck.Config.Model.Channels, ck.Classes)
	}
	G, err := ck.Sampler(torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer G.Free()
	want, _ := torch.LoadArchive(filepath.Join(fixtures, "network-snapshot-res32-rgb-cond.expect.pt"))
	defer want.Free()
	var img *torch.Tensor
	torch.NoGrad(func() { img = G.Forward(want.Tensors["z"], want.Tensors["c"], 1, model.NoiseConst, nil) })
	if e := relErr(img, want.Tensors["img"].Mean([]int64{1}, true)); !(e < 2e-5) {
		t.Errorf("gray output vs the mean of NVlabs' colours: relative error %.3g", e)
	}
	// The critic takes gray images: its fromRGB weights were summed over the colours.
	D, err := model.NewCritic(ck.Config.Model, 0, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer D.Free()
	if err := D.Store.Load(ck.Critic); err != nil {
		t.Fatal(err)
	}
}

// TestConvertRefusesCode: a pickle that asks to run code is refused, naming what it calls.
func TestConvertRefusesCode(t *testing.T) {
	evil := []byte("cos\nsystem\n(S'echo pwned'\ntR.")
	_, err := Convert(evil, Options{})
	var fe *pickle.ForbiddenError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "os.system") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want a one-line refusal naming os.system, got %v", err)
	}
	if _, err := Convert([]byte("not a pickle at all"), Options{}); err == nil {
		t.Fatal("garbage converted")
	}
	if _, err := Convert(readFixture(t, "network-snapshot-res32.pkl"), Options{Gray: true}); err == nil || !strings.Contains(err.Error(), "not RGB") {
		t.Errorf("--gray on a gray network: %v", err)
	}
}
