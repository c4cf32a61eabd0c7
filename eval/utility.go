package eval

import (
	"fmt"
	"math"
)

// Scores are a classifier's accuracy and AUC on the real test split.
type Scores struct {
	Acc float64 `json:"acc"`
	AUC float64 `json:"auc"` // binary: ROC AUC of the second class; more classes: mean one-vs-rest AUC
}

// UtilityResult compares the same small classifier trained on real images only, on synthetic
// images only, and on both, all tested on the real test split.
type UtilityResult struct {
	Classes  []string `json:"classes"`
	Real     Scores   `json:"real_only"`
	Syn      Scores   `json:"synthetic_only"`
	RealSyn  Scores   `json:"real_plus_synthetic"`
	SynCount int      `json:"synthetic_images"`
}

// Evaluate scores a classifier on labelled images.
func (n *Net) Evaluate(test Images) (Scores, error) {
	if test.Labels == nil {
		return Scores{}, fmt.Errorf("eval: test images carry no labels")
	}
	p, err := n.Predict(test)
	if err != nil {
		return Scores{}, err
	}
	return scores(p, test.Labels, len(n.Classes)), nil
}

func scores(p [][]float64, labels []int, k int) Scores {
	correct := 0
	for i, row := range p {
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == labels[i] {
			correct++
		}
	}
	s := Scores{Acc: float64(correct) / float64(len(p))}
	if k == 2 {
		s.AUC = auc(p, labels, 1)
	} else {
		var sum float64
		n := 0
		for c := 0; c < k; c++ {
			if a := auc(p, labels, c); !math.IsNaN(a) {
				sum += a
				n++
			}
		}
		s.AUC = sum / float64(n)
	}
	return s
}

// auc is the ROC AUC of score p[i][c] for "label == c" (Mann-Whitney, ties count half); NaN
// when one side is empty.
func auc(p [][]float64, labels []int, c int) float64 {
	var pos, neg []float64
	for i, row := range p {
		if labels[i] == c {
			pos = append(pos, row[c])
		} else {
			neg = append(neg, row[c])
		}
	}
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	u := mannWhitneyU(neg, pos)
	return u / float64(len(pos)*len(neg))
}

// Utility trains the classifier recipe cfg on syn alone and on realTrain + syn, and tests both
// and the real-only baseline on realTest. syn's labels must index classes like the real data's.
// baseline, when not nil, is the real-only classifier already trained with cfg (the domain
// feature net); otherwise one is trained.
func Utility(realTrain, realTest, syn Images, classes []string, cfg TrainConfig, baseline *Net, progress func(step, steps int)) (UtilityResult, error) {
	res := UtilityResult{Classes: classes, SynCount: syn.N}
	if syn.Labels == nil || realTrain.Labels == nil || realTest.Labels == nil {
		return res, fmt.Errorf("eval: the utility test needs labelled real and synthetic images (a conditional model)")
	}
	if err := sameShape(syn, realTrain); err != nil {
		return res, err
	}
	if baseline == nil || baseline.Kind != KindClassifier {
		n, err := TrainNet(realTrain, classes, cfg, progress)
		if err != nil {
			return res, err
		}
		defer n.Free()
		baseline = n
	}
	var err error
	if res.Real, err = baseline.Evaluate(realTest); err != nil {
		return res, err
	}
	for _, part := range []struct {
		imgs Images
		dst  *Scores
	}{{syn, &res.Syn}, {Concat(realTrain, syn), &res.RealSyn}} {
		n, err := TrainNet(part.imgs, classes, cfg, progress)
		if err != nil {
			return res, err
		}
		*part.dst, err = n.Evaluate(realTest)
		n.Free()
		if err != nil {
			return res, err
		}
	}
	return res, nil
}
