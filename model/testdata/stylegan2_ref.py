"""A short PyTorch reference of sgan's StyleGAN2 (generator, mapping, critic), written from the
NVlabs stylegan2-ada-pytorch design with the same parameter names as sgan's Go model, so a state
dict moves between them unchanged. Used only by the model parity tests."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


def fir_kernel():
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = torch.outer(k, k)
    return (k / k.sum()).reshape(1, 1, 4, 4)


def fir_up(x):
    c = x.shape[1]
    return F.conv_transpose2d(x, (fir_kernel() * 4).expand(c, 1, 4, 4), stride=2, padding=1, groups=c)


def fir_blur(x, pad):
    c = x.shape[1]
    return F.conv2d(x, fir_kernel().expand(c, 1, 4, 4), padding=pad, groups=c)


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
    def __init__(self, i, o, k, bias=True, act=True, down=False, gain=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i, k, k))
        self.bias = nn.Parameter(torch.zeros(o)) if bias else None
        self.wg, self.k, self.act, self.down, self.gain = 1 / math.sqrt(i * k * k), k, act, down, gain

    def forward(self, x):
        w = self.weight * self.wg
        if self.down:
            y = F.conv2d(fir_blur(x, (2 + self.k - 1) // 2), w, self.bias, stride=2)
        else:
            y = F.conv2d(x, w, self.bias, padding=self.k // 2)
        if self.act:
            return F.leaky_relu(y, 0.2) * (SQRT2 * self.gain)
        return y * self.gain


class ModConv(nn.Module):
    def __init__(self, w_dim, i, o, res, up):
        super().__init__()
        self.affine = FC(w_dim, i, bias_init=1)
        self.weight = nn.Parameter(torch.randn(o, i, 3, 3))
        self.bias = nn.Parameter(torch.zeros(o))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(res, res))
        self.up = up

    def forward(self, x, w, noise_mode):
        if self.up:
            x = fir_up(x)
        n, i, h, wd = x.shape
        o = self.weight.shape[0]
        s = self.affine(w)
        wt = self.weight[None] * s.reshape(n, 1, i, 1, 1)
        d = (wt.square().sum([2, 3, 4]) + 1e-8).rsqrt()
        wt = (wt * d.reshape(n, o, 1, 1, 1)).reshape(n * o, i, 3, 3)
        y = F.conv2d(x.reshape(1, n * i, h, wd), wt, padding=1, groups=n).reshape(n, o, h, wd)
        if noise_mode == "const":
            y = y + self.noise_const * self.noise_strength
        elif noise_mode == "random":
            y = y + torch.randn(n, 1, h, wd, device=y.device) * self.noise_strength
        return F.leaky_relu(y + self.bias.reshape(1, o, 1, 1), 0.2) * SQRT2


class ToRGB(nn.Module):
    def __init__(self, w_dim, i, o):
        super().__init__()
        self.affine = FC(w_dim, i, bias_init=1)
        self.weight = nn.Parameter(torch.randn(o, i, 1, 1))
        self.bias = nn.Parameter(torch.zeros(o))
        self.wg = 1 / math.sqrt(i)

    def forward(self, x, w):
        n, i, h, wd = x.shape
        o = self.weight.shape[0]
        s = self.affine(w) * self.wg
        wt = (self.weight[None] * s.reshape(n, 1, i, 1, 1)).reshape(n * o, i, 1, 1)
        y = F.conv2d(x.reshape(1, n * i, h, wd), wt, groups=n).reshape(n, o, h, wd)
        return y + self.bias.reshape(1, o, 1, 1)


def ch(cfg, res):
    return min(cfg["channel_base"] // res, cfg["channel_max"])


def norm2(x):
    return x * (x.square().mean(1, keepdim=True) + 1e-8).rsqrt()


class Mapping(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        i = cfg["z_dim"]
        if cfg["num_classes"] > 0:
            self.embed = FC(cfg["num_classes"], cfg["w_dim"])
            i += cfg["w_dim"]
        for k in range(cfg["mapping_layers"]):
            setattr(self, f"fc{k}", FC(i, cfg["w_dim"], lr_mul=cfg["mapping_lr_mul"], act=True))
            i = cfg["w_dim"]
        self.n = cfg["mapping_layers"]
        self.register_buffer("w_avg", torch.zeros(cfg["w_dim"]))

    def forward(self, z, c=None):
        x = norm2(z)
        if hasattr(self, "embed"):
            x = torch.cat([x, norm2(self.embed(c))], 1)
        for k in range(self.n):
            x = getattr(self, f"fc{k}")(x)
        return x


class SynthBlock(nn.Module):
    def __init__(self, cfg, res):
        super().__init__()
        o = ch(cfg, res)
        if res == 4:
            self.const = nn.Parameter(torch.randn(o, 4, 4))
        else:
            self.conv0 = ModConv(cfg["w_dim"], ch(cfg, res // 2), o, res, True)
        self.conv1 = ModConv(cfg["w_dim"], o, o, res, False)
        self.torgb = ToRGB(cfg["w_dim"], o, cfg["channels"])


class Synthesis(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.res = [2 ** k for k in range(2, int(math.log2(cfg["resolution"])) + 1)]
        for r in self.res:
            setattr(self, f"b{r}", SynthBlock(cfg, r))

    def forward(self, ws, noise_mode="const"):
        x = img = None
        idx = 0
        for r in self.res:
            b = getattr(self, f"b{r}")
            if r == 4:
                x = b.const[None].repeat(ws.shape[0], 1, 1, 1)
                x = b.conv1(x, ws[:, 0], noise_mode)
                img = b.torgb(x, ws[:, 1])
                idx = 1
                continue
            x = b.conv0(x, ws[:, idx], noise_mode)
            x = b.conv1(x, ws[:, idx + 1], noise_mode)
            img = fir_up(img) + b.torgb(x, ws[:, idx + 2])
            idx += 2
        return img


class Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.mapping = Mapping(cfg)
        self.synthesis = Synthesis(cfg)
        self.num_ws = 2 * (int(math.log2(cfg["resolution"])) - 2) + 2

    def forward(self, z, c=None, psi=1.0, noise_mode="const"):
        w = self.mapping(z, c)
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if psi != 1:
            ws = self.mapping.w_avg.lerp(ws, psi)
        return self.synthesis(ws, noise_mode)


def mbstd(x, group):
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    # Contiguous groups (rows [0, g), [g, 2g), ...) rather than NVlabs' strided reshape(g, -1, ...):
    # the groups then do not depend on the batch size, so a data-parallel process scoring its own
    # contiguous slice of the batch (a multiple of g) computes exactly what one process would.
    y = x.reshape(-1, g, 1, c, h, w)
    y = y - y.mean(1, keepdim=True)
    y = (y.square().mean(1) + 1e-8).sqrt()
    y = y.mean([2, 3, 4]).reshape(-1, 1, 1, 1, 1).repeat(1, g, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


class CriticBlock(nn.Module):
    def __init__(self, cfg, res, first):
        super().__init__()
        t, o = ch(cfg, res), ch(cfg, res // 2)
        if first:
            self.fromrgb = Conv(cfg["channels"], t, 1)
        self.conv0 = Conv(t, t, 3)
        self.conv1 = Conv(t, o, 3, down=True, gain=math.sqrt(0.5))
        self.skip = Conv(t, o, 1, bias=False, act=False, down=True, gain=math.sqrt(0.5))


class Epilogue(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c4 = ch(cfg, 4)
        self.conv = Conv(c4 + 1, c4, 3)
        self.fc = FC(c4 * 16, c4, act=True)
        self.out = FC(c4, c4 if cfg["num_classes"] > 0 else 1)


class Critic(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.res = [2 ** k for k in range(int(math.log2(cfg["resolution"])), 2, -1)]
        for i, r in enumerate(self.res):
            setattr(self, f"b{r}", CriticBlock(cfg, r, i == 0))
        self.b4 = Epilogue(cfg)
        if cfg["num_classes"] > 0:
            self.embed = FC(cfg["num_classes"], ch(cfg, 4))

    def forward(self, img, c=None):
        x = getattr(self, f"b{self.res[0]}").fromrgb(img)
        for r in self.res:
            b = getattr(self, f"b{r}")
            x = b.conv1(b.conv0(x)) + b.skip(x)
        x = mbstd(x, self.cfg["mbstd_group"])
        x = self.b4.conv(x)
        x = self.b4.fc(x.flatten(1))
        x = self.b4.out(x)
        if self.cfg["num_classes"] > 0:
            cm = self.embed(c)
            x = (x * cm).sum(1, keepdim=True) / math.sqrt(cm.shape[1])
        return x
