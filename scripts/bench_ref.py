"""The PyTorch side of scripts/bench: StyleGAN2 computed the way NVlabs stylegan2-ada-pytorch
computes it on the CPU (its reference ops: transposed conv + FIR for upsampling, FIR + strided
conv for downsampling, non-fused modulated convs when training and fused grouped convs in eval
mode, strided minibatch-stddev groups, the class mapping network of conditional critics), written
independently in plain PyTorch with NVlabs' parameter and buffer names, so sgan's state dicts load
with strict=True. It is a speed reference, not the correctness authority: model/bench_ref_test.go
checks it against the fixtures NVlabs' own code made (model/testdata/nvlabs)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


def setup_filter():
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return k / k.sum()


def fir(x, f, pad, gain=1.0):
    """upfirdn2d without resampling: pad (x0, x1, y0, y1), then depthwise true convolution."""
    c = x.shape[1]
    x = F.pad(x, list(pad))
    k = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, k, groups=c)


def upsample2d(x, f):
    n, c, h, w = x.shape
    x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(n, c, 2 * h, 2 * w)
    return fir(x, f, (2, 1, 2, 1), 4.0)


def conv_up(x, w, f, groups=1):
    """conv2d_resample(up=2, padding=1) for a 3x3 kernel: transposed conv, then the filter."""
    o, i, kh, kw = w.shape
    if groups == 1:
        wt = w.transpose(0, 1)
    else:
        wt = w.reshape(groups, o // groups, i, kh, kw).transpose(1, 2).reshape(groups * i, o // groups, kh, kw)
    x = F.conv_transpose2d(x, wt, stride=2, groups=groups)
    return fir(x, f, (1, 1, 1, 1), 4.0)


def bias_act(x, b, act, gain, clamp):
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act:
        x = F.leaky_relu(x, 0.2)
    if gain != 1:
        x = x * gain
    if clamp:
        x = x.clamp(-clamp, clamp)
    return x


class FC(nn.Module):
    def __init__(self, i, o, lr_mul=1.0, bias_init=0.0, act=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = nn.Parameter(torch.full([o], float(bias_init)))
        self.wg, self.bg, self.act = lr_mul / math.sqrt(i), lr_mul, act

    def forward(self, x):
        y = F.linear(x, self.weight * self.wg, self.bias * self.bg)
        return F.leaky_relu(y, 0.2) * SQRT2 if self.act else y


class Conv(nn.Module):
    def __init__(self, i, o, k, bias=True, act=True, down=False, clamp=None):
        super().__init__()
        self.register_buffer("resample_filter", setup_filter())
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o)) if bias else None
        self.wg, self.k, self.act, self.down, self.clamp = 1 / math.sqrt(i * k * k), k, act, down, clamp

    def forward(self, x, gain=1.0):
        w = self.weight * self.wg
        if self.down:
            p = (2 + self.k - 1) // 2
            y = F.conv2d(fir(x, self.resample_filter, (p, p, p, p)), w, stride=2)
        else:
            y = F.conv2d(x, w, padding=self.k // 2)
        g = gain * (SQRT2 if self.act else 1)
        return bias_act(y, self.bias, self.act, g, self.clamp * gain if self.clamp else None)


class SynthesisLayer(nn.Module):
    def __init__(self, w_dim, i, o, res, up, clamp):
        super().__init__()
        self.register_buffer("resample_filter", setup_filter())
        self.affine = FC(w_dim, i, bias_init=1)
        self.weight = nn.Parameter(torch.randn(o, i, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(res, res))
        self.bias = nn.Parameter(torch.zeros(o))
        self.up, self.res, self.clamp = up, res, clamp

    def forward(self, x, w, noise_mode, fused):
        n, i = x.shape[:2]
        o = self.weight.shape[0]
        s = self.affine(w)
        noise = None
        if noise_mode == "random":
            noise = torch.randn(n, 1, self.res, self.res, device=x.device) * self.noise_strength
        elif noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        d = ((self.weight[None] * s.reshape(n, 1, i, 1, 1)).square().sum([2, 3, 4]) + 1e-8).rsqrt()
        if fused:
            wt = (self.weight[None] * s.reshape(n, 1, i, 1, 1) * d.reshape(n, o, 1, 1, 1)).reshape(n * o, i, 3, 3)
            xx = x.reshape(1, n * i, *x.shape[2:])
            if self.up:
                y = conv_up(xx, wt, self.resample_filter, groups=n)
            else:
                y = F.conv2d(xx, wt, padding=1, groups=n)
            y = y.reshape(n, o, *y.shape[2:])
        else:
            xx = x * s.reshape(n, i, 1, 1)
            y = conv_up(xx, self.weight, self.resample_filter) if self.up else F.conv2d(xx, self.weight, padding=1)
            y = y * d.reshape(n, o, 1, 1)
        if noise is not None:
            y = y + noise
        return bias_act(y, self.bias, True, SQRT2, self.clamp)


class ToRGB(nn.Module):
    def __init__(self, w_dim, i, o, clamp):
        super().__init__()
        self.affine = FC(w_dim, i, bias_init=1)
        self.weight = nn.Parameter(torch.randn(o, i, 1, 1))
        self.bias = nn.Parameter(torch.zeros(o))
        self.wg, self.clamp = 1 / math.sqrt(i), clamp

    def forward(self, x, w):
        n, i = x.shape[:2]
        s = self.affine(w) * self.wg
        y = F.conv2d(x * s.reshape(n, i, 1, 1), self.weight)
        return bias_act(y, self.bias, False, 1, self.clamp)


def ch(cfg, res):
    return min(cfg["channel_base"] // res, cfg["channel_max"])


def dch(cfg, res):
    # The critic's widths: its own channel_base when set (sgan's model.critic_channel_base).
    return min((cfg.get("critic_channel_base") or cfg["channel_base"]) // res, cfg["channel_max"])


def norm2(x):
    return x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()


class Mapping(nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, layers, lr_mul, w_avg=True):
        super().__init__()
        i = z_dim
        if c_dim > 0:
            self.embed = FC(c_dim, w_dim)
            i += w_dim
        for k in range(layers):
            setattr(self, f"fc{k}", FC(i, w_dim, lr_mul=lr_mul, act=True))
            i = w_dim
        self.n, self.z_dim = layers, z_dim
        if w_avg:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, c=None):
        x = norm2(z) if self.z_dim > 0 else None
        if hasattr(self, "embed"):
            y = norm2(self.embed(c))
            x = y if x is None else torch.cat([x, y], 1)
        for k in range(self.n):
            x = getattr(self, f"fc{k}")(x)
        return x


class SynthBlock(nn.Module):
    def __init__(self, cfg, res):
        super().__init__()
        o, clamp = ch(cfg, res), cfg.get("conv_clamp") or None
        self.register_buffer("resample_filter", setup_filter())
        if res == 4:
            self.const = nn.Parameter(torch.randn(o, 4, 4))
        else:
            self.conv0 = SynthesisLayer(cfg["w_dim"], ch(cfg, res // 2), o, res, True, clamp)
        self.conv1 = SynthesisLayer(cfg["w_dim"], o, o, res, False, clamp)
        self.torgb = ToRGB(cfg["w_dim"], o, cfg["channels"], clamp)


class Synthesis(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.res = [2 ** k for k in range(2, int(math.log2(cfg["resolution"])) + 1)]
        for r in self.res:
            setattr(self, f"b{r}", SynthBlock(cfg, r))

    def forward(self, ws, noise_mode="const"):
        fused = not self.training  # as NVlabs: fused grouped convs in eval mode
        x = img = None
        idx = 0
        for r in self.res:
            b = getattr(self, f"b{r}")
            if r == 4:
                x = b.const[None].repeat(ws.shape[0], 1, 1, 1)
                x = b.conv1(x, ws[:, 0], noise_mode, fused)
                img = b.torgb(x, ws[:, 1])
                idx = 1
                continue
            x = b.conv0(x, ws[:, idx], noise_mode, fused)
            x = b.conv1(x, ws[:, idx + 1], noise_mode, fused)
            img = upsample2d(img, b.resample_filter) + b.torgb(x, ws[:, idx + 2])
            idx += 2
        return img


class Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.synthesis = Synthesis(cfg)
        self.mapping = Mapping(cfg["z_dim"], cfg["num_classes"], cfg["w_dim"], cfg["mapping_layers"], cfg["mapping_lr_mul"])
        self.num_ws = 2 * (int(math.log2(cfg["resolution"])) - 2) + 2

    def forward(self, z, c=None, psi=1.0, noise_mode="const"):
        w = self.mapping(z, c)
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if psi != 1:
            ws = self.mapping.w_avg.lerp(ws, psi)
        return self.synthesis(ws, noise_mode)


def mbstd(x, group):
    """NVlabs' strided groups: samples i, i + N/G, ... (sgan groups contiguous rows)."""
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, -1, 1, c, h, w)
    y = y - y.mean(0)
    y = (y.square().mean(0) + 1e-8).sqrt()
    y = y.mean([2, 3, 4]).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], 1)


class CriticBlock(nn.Module):
    def __init__(self, cfg, res, first):
        super().__init__()
        t, o, clamp = dch(cfg, res), dch(cfg, res // 2), cfg.get("conv_clamp") or None
        self.register_buffer("resample_filter", setup_filter())
        if first:
            self.fromrgb = Conv(cfg["channels"], t, 1, clamp=clamp)
        self.conv0 = Conv(t, t, 3, clamp=clamp)
        self.conv1 = Conv(t, o, 3, down=True, clamp=clamp)
        self.skip = Conv(t, o, 1, bias=False, act=False, down=True)


class Epilogue(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c4 = dch(cfg, 4)
        self.conv = Conv(c4 + 1, c4, 3, clamp=cfg.get("conv_clamp") or None)
        self.fc = FC(c4 * 16, c4, act=True)
        self.out = FC(c4, c4 if cfg["num_classes"] > 0 else 1)


class Critic(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.res = [2 ** k for k in range(int(math.log2(cfg["resolution"])), 2, -1)]
        for i, r in enumerate(self.res):
            setattr(self, f"b{r}", CriticBlock(cfg, r, i == 0))
        if cfg["num_classes"] > 0:
            self.mapping = Mapping(0, cfg["num_classes"], dch(cfg, 4), cfg.get("critic_mapping_layers", 8),
                                   cfg["mapping_lr_mul"], w_avg=False)
        self.b4 = Epilogue(cfg)

    def forward(self, img, c=None):
        x = getattr(self, f"b{self.res[0]}").fromrgb(img)
        h = math.sqrt(0.5)
        for r in self.res:
            b = getattr(self, f"b{r}")
            x = b.skip(x, gain=h) + b.conv1(b.conv0(x), gain=h)
        x = mbstd(x, self.cfg["mbstd_group"])
        x = self.b4.conv(x)
        x = self.b4.fc(x.flatten(1))
        x = self.b4.out(x)
        if self.cfg["num_classes"] > 0:
            cm = self.mapping(None, c)
            x = (x * cm).sum(1, keepdim=True) / math.sqrt(cm.shape[1])
        return x
