package model

import (
	"path/filepath"
	"testing"

	"sgan/internal/pyref"
	"sgan/torch"
)

// TestBenchReferenceMatchesNVlabs: scripts/bench_ref.py, the PyTorch network scripts/bench times
// sgan against, computes NVlabs' function too (checked on NVlabs' fixtures, in train and eval
// mode), so the benchmark compares the same work.
func TestBenchReferenceMatchesNVlabs(t *testing.T) {
	fixtures, _ := filepath.Abs(filepath.Join("testdata", "nvlabs"))
	ref := pyref.Run(t, map[string]*torch.Tensor{}, filepath.Join("..", "scripts"), `
import glob, os
from bench_ref import Generator, Critic
for path in sorted(glob.glob(os.path.join(`+"'"+fixtures+"'"+`, 'res*.pt'))):
    fx = torch.load(path)
    m = fx['meta']
    cfg = dict(m, mapping_lr_mul=0.01)
    G, D = Generator(cfg), Critic(cfg)
    G.load_state_dict(fx['G'], strict=True)
    D.load_state_dict(fx['D'], strict=True)
    c = fx['in']['c'] if m['num_classes'] else None
    errs = []
    def rel(a, b):
        return ((a - b).abs().max() / b.abs().max()).reshape(1)
    for train in (True, False):
        G.train(train)
        with torch.no_grad():
            errs.append(rel(G(fx['in']['z'], c, 1.0, 'const'), fx['out']['img_const']))
            errs.append(rel(G(fx['in']['z'], c, m['psi'], 'const'), fx['out']['img_psi']))
            errs.append(rel(G.synthesis(fx['in']['ws'], 'const'), fx['out']['img_ws']))
    errs.append(rel(D(fx['in']['real'], c), fx['out']['d_real']))
    out[m['name']] = torch.cat(errs)
`)
	if len(ref.Tensors) < 4 {
		t.Fatalf("checked %d fixtures, want every one", len(ref.Tensors))
	}
	for name, errs := range ref.Tensors {
		for i, e := range errs.Float32s() {
			if !(e < 2e-5) {
				t.Errorf("%s: bench reference output %d differs from NVlabs by %.3g (relative)", name, i, e)
			}
		}
	}
}
