package eval

import "testing"

// upsideDown flips every image vertically.
func upsideDown(b Images) Images {
	out := b
	out.Pix = make([]float32, len(b.Pix))
	for i := 0; i < b.N; i++ {
		src, dst := b.At(i), out.At(i)
		for c := 0; c < b.C; c++ {
			for y := 0; y < b.H; y++ {
				copy(dst[(c*b.H+y)*b.W:(c*b.H+y+1)*b.W], src[(c*b.H+b.H-1-y)*b.W:])
			}
		}
	}
	return out
}

// twoClass makes a labelled two-class set: the images as class 0, upside down as class 1.
func twoClass(b Images, swap bool) Images {
	up := upsideDown(b)
	a := b
	a.Labels, up.Labels = make([]int, b.N), make([]int, b.N)
	for i := range up.Labels {
		up.Labels[i] = 1
	}
	if swap {
		a.Labels, up.Labels = up.Labels, a.Labels
	}
	return Concat(a, up)
}

// TestUtilityTellsUsefulFromMislabelled: synthetic data with the right labels trains a
// classifier about as good as real data; the same data with swapped labels is useless.
func TestUtilityTellsUsefulFromMislabelled(t *testing.T) {
	train, test, _ := fixture(t)
	realTrain := twoClass(train.Subset(everyNth(train.N, 100)), false)
	realTest := twoClass(test, false)
	classes := []string{"up", "down"}
	cfg := TrainConfig{Steps: 40, Seed: 2}
	syn := twoClass(train.Subset(everyNth(train.N, 60)), false)
	good, err := Utility(realTrain, realTest, syn, classes, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := Utility(realTrain, realTest, twoClass(train.Subset(everyNth(train.N, 60)), true), classes, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("good: %+v", good)
	t.Logf("swapped labels: %+v", bad)
	if good.Real.AUC < 0.9 || good.Syn.AUC < 0.9 || good.Syn.Acc < 0.8 {
		t.Errorf("useful synthetic data: auc real %.2f, synthetic %.2f (acc %.2f); want auc >= 0.9, acc >= 0.8", good.Real.AUC, good.Syn.AUC, good.Syn.Acc)
	}
	if bad.Syn.Acc > 0.1 || bad.Syn.AUC > 0.1 {
		t.Errorf("mislabelled synthetic data: acc %.2f auc %.2f; want ~0", bad.Syn.Acc, bad.Syn.AUC)
	}
}

func TestAUC(t *testing.T) {
	p := [][]float64{{0.9, 0.1}, {0.6, 0.4}, {0.3, 0.7}, {0.5, 0.5}}
	labels := []int{0, 1, 1, 0}
	// Positives (class 1) scores 0.4, 0.7; negatives 0.1, 0.5: pairs won 1+0 + 1+1 = 3 of 4.
	if a := auc(p, labels, 1); a != 0.75 {
		t.Errorf("auc = %v, want 0.75", a)
	}
}
