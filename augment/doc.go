// Package augment is adaptive discriminator augmentation (ADA; Karras et al. 2020, "Training
// Generative Adversarial Networks with Limited Data"): NVlabs' augmentation pipeline as
// differentiable tensor ops, and the controller that tunes its probability p from the critic's
// overfitting.
//
// # Pipeline
//
// Every image the critic sees, real or generated, goes through the same random transforms, each
// applied to a sample with probability multiplier * p (Config, Preset; "bgc" is NVlabs' and the
// paper's choice). Draw turns random numbers into per-sample Params in NVlabs' order and with its
// distributions:
//
//   - blit: x-flip, quarter turns, integer translation (uniform, up to 1/8 of the size);
//   - geom: isotropic scale (log2-normal, std 0.2), rotation (uniform over the full circle, split
//     into one before and one after the anisotropic scaling so that either happens with the
//     transform's probability), anisotropic scale (log2-normal, std 0.2), fractional translation
//     (normal, std 1/8 of the size);
//   - color: brightness (additive, normal, std 0.2), contrast (log2-normal, std 0.5), luma flip,
//     hue rotation and saturation.
//
// The geometric transforms of a sample compose into one 3x3 matrix (Params.Geometry) that is
// applied once, as NVlabs does: reflection padding by the farthest reach of any output corner in
// the batch (Margin), 2x upsampling with the orthogonal Symlet-6 filter, bilinear sampling along
// the affine grid, and 2x downsampling with the same filter. Samples whose matrix is exactly the
// identity skip the warp (the warp with the identity reproduces its input up to float rounding,
// since the filter is orthogonal: TestIdentityWarp), so at small p most of a batch costs nothing.
//
// This is NVlabs' resampling with its properties, which include one quirk: Symlet-6 is not
// symmetric, so when the matrix mirrors or turns the grid (x-flip, quarter turns, rotations) the
// result is also shifted by up to about 0.1 pixel and its highest frequencies are softened. An
// x-flip is therefore not an exact permutation (17% relative error against x.flip(3) on white
// noise, a 0.098 pixel shift on smooth images), in NVlabs' AugmentPipe as here. Integer
// translation is exact. The fixtures in testdata/nvlabs hold sgan to NVlabs' numbers within 2e-5.
//
// # One channel
//
// The colour transforms act on RGB as a 4x4 matrix C. On a gray image NVlabs reduces C to its
// mean over the three colour rows, x -> a*x + b (Mat4.Gray), and this package does the same:
//
//   - brightness adds b to every pixel and contrast multiplies by c around 0, exactly as on RGB;
//   - the luma flip reflects colours across the plane normal to the gray axis, which on the gray
//     axis itself is x -> -x: an intensity inversion around 0, the middle of sgan's [-1, 1] range
//     (not around the image mean). It is kept, as NVlabs keeps it for gray images: it is invertible
//     and applied with probability p/2 < 1/2, so it does not leak into the generated images (the
//     ADA paper's condition), and it forces the critic to judge anatomy rather than absolute
//     intensity. Set LumaFlip to 0 to leave intensities unflipped;
//   - hue rotation and saturation fix the gray axis, so on one channel they are the identity;
//     NVlabs skips them for gray images and so does Draw (nothing is drawn for them).
//
// # Determinism and data parallelism
//
// The random numbers come from a Source (a *rand.Rand seeded by the caller from (run seed, step,
// call)) and are drawn for the whole global batch; Apply keeps the caller's rows. The padding is
// computed over the whole batch. So a resumed run augments exactly as an uninterrupted one, and
// ranks together augment exactly as one process. With p = 0 Apply returns its input, drawing
// nothing.
//
// # Gradients
//
// Every step is a tensor op that autograd differentiates twice with respect to the images
// (the R1 penalty differentiates D(aug(x)) with respect to x and then backpropagates that): the
// bilinear sampling is torch.GridSample, whose backward is itself differentiable, which libtorch's
// grid_sampler_2d is not.
//
// # Controller
//
// Controller accumulates r_t = E[sign(D(real))] over Interval steps and moves p by
// sign(r_t - Target) * batch * Interval / (Kimg * 1000), clamped at 0, as NVlabs' training loop
// does (Target 0.6, Kimg 500, Interval 4). Its state is plain numbers, stored and restored exactly
// (Put, Get).
package augment
