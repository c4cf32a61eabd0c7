// Package project puts real scans into a trained generator (GAN inversion): it finds, for each
// target image, the latent whose image reproduces it, and builds on that the reconstruction
// figures and metrics, anomaly maps and class counterfactuals of `sgan project`.
//
// # Algorithm
//
// Project follows NVlabs' stylegan2-ada-pytorch projector.py (re-implemented, not copied): the
// mean w of the target's class over WSamples z (10 000; z from StatsSeed 123) is the start and
// w_std (the RMS distance of w from it) the unit of the jitter; Adam (betas 0.9, 0.999) runs
// Steps steps (1000) at a learning rate that rises linearly from 0 over the first 5% of the
// steps to LR (0.1) and falls back to 0 with a half cosine over the last 25%; Gaussian jitter of
// 0.05 w_std, decaying quadratically to 0 at 75% of the steps, is added to w in each step. W
// (one w broadcast to all layers, the default) or W+ (one w per layer) is optimized. The noise
// maps are optimized too (per target, from N(0, 1)), penalized by NVlabs' regularizer (the
// squared mean autocorrelation at one-pixel shifts over a 2x pyramid down to 8x8, weight 1e5)
// and renormalized to zero mean and unit variance after every step, so they cannot take over the
// image's structure; with OptimizeNoise false the model's fixed maps are used. The generator's
// parameters are frozen. Targets go in batches: one optimization per batch, the per-target
// losses summed (Adam's updates are element-wise, so targets do not interact). Random draws
// are made on the CPU from Seed, so a seed gives the same result on every run and device, up to
// last-bit float differences of libtorch's kernels.
//
// # Image distance
//
// NVlabs measures the distance in VGG16 features (LPIPS), whose weights cannot be downloaded
// here. Offline choices (Options.Distance):
//
//   - "msssim" (default): mean squared pixel error + (1 - MS-SSIM). MS-SSIM (Wang, Simoncelli
//     and Bovik 2003) compares local means, contrasts and structure at several scales; images
//     smaller than 176 pixels use fewer than its 5 scales (3 at 64x64), with the first published
//     weights renormalized.
//   - "pixel": the mean squared pixel error alone.
//   - "feat": mean squared pixel error + an LPIPS-like distance in the encoder of the domain CNN
//     that `sgan eval` trains on the real data (FeatDistance; CPU only).
//
// docs/project.md reports how they compare. Pixels alone recover the generator's own images
// best, but on real scans they settle for blurred averages; the MS-SSIM term keeps edges and
// texture (measured: much higher SSIM for a fraction of a dB of PSNR), which is what the
// anomaly and difference maps are read for, so it is the default.
//
// # Metrics and maps
//
// PSNR is 10 log10(4/MSE) on [-1, 1] images (peak 1 on the 0-1 scale), capped at 100 dB. SSIM is
// Wang et al.'s (11-tap Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid windows). Both are
// checked against a PyTorch implementation of the published formulas in the tests. The anomaly
// map is |target - reconstruction| on the 0-1 intensity scale, Gaussian-smoothed (sigma 1.5
// pixels); its score is the mean of the map's top 1%. A model that covers normal anatomy
// reconstructs normal scans well, so high residuals mark what it cannot explain; but the
// optimized noise maps and W+ can absorb some abnormal detail, and the residual also contains
// the model's ordinary reconstruction error, so the map is a screening aid, not a detector.
//
// # Counterfactuals
//
// In a conditional model w = Map(z, c). The counterfactual of a projected latent under another
// class is the latent moved by the class shift Delta = E_z[Map(z, to) - Map(z, from)] (equal to
// the difference of the classes' mean w), added to every layer's w; the noise maps are kept.
// Delta is the average effect of switching the label with z held fixed, so the definition is
// "the same latent with the other label" averaged over the latents the model was trained on. Its
// limits: the mapping network is nonlinear, so the shift for a particular z differs from Delta
// (Shift.Spread measures how much; it is reported), a projected w may lie off the mapping's
// output, where the model was never trained, and the picture shows what the model associates
// with the label in its training data (a statistical association, confounders included), not
// the course of a disease in this person. The signed difference counterfactual - reconstruction
// (red brighter, blue darker) shows where the model puts the change.
//
// # Files
//
// Latent.Save writes latent.pt in torch.save's format (see Latent); the package's only use of
// package train is Open, which loads a checkpoint's generator.
package project
