"""The preprocessing kernel: a uint8 BGR frame in, a normalized float32 CHW network input out.

One thread per network pixel does what :func:`edge.preprocess.preprocess` does on the CPU:
the resize of ``cv2.resize(..., INTER_LINEAR)`` (half-pixel centres, borders clamped, and
OpenCV's own fixed-point arithmetic, so the result is the same uint8 value), the padding or
cropping of the resize mode, BGR to RGB, ``/ scaling``, ``(x - mean) / std`` and HWC to CHW. The geometry comes from
:func:`edge.preprocess.plan_geometry`, so every resize mode is one affine map here.

The source is a plain string in the subset of C++ that nvcc, NVRTC (CuPy) and a host C++
compiler all accept, so the tests can also compile it for the CPU and compare it with OpenCV
on machines without a GPU. Nothing here imports pycuda or CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.preprocess import Geometry, PreprocessConfig

KERNEL_NAME = "edge_preprocess_nchw"
BLOCK = (32, 8, 1)  # 32 threads along x: each warp writes one contiguous run of a channel row

# (C type, name) of the kernel's parameters, in order. The signature, the CPU test harness and
# KernelParams.scalars() are all derived from this one list.
PARAMS: tuple[tuple[str, str], ...] = (
    ("const unsigned char* __restrict__", "src"),
    ("float* __restrict__", "dst"),
    ("int", "src_w"),
    ("int", "src_h"),
    ("int", "src_stride"),
    ("int", "net_w"),
    ("int", "net_h"),
    ("int", "off_x"),
    ("int", "off_y"),
    ("int", "new_w"),
    ("int", "new_h"),
    ("double", "scale_x"),
    ("double", "scale_y"),
    ("int", "pad"),
    ("int", "rgb"),
    ("float", "inv_scaling"),
    ("float", "mean0"),
    ("float", "mean1"),
    ("float", "mean2"),
    ("float", "std0"),
    ("float", "std1"),
    ("float", "std2"),
)

SIGNATURE = ", ".join(f"{ctype} {name}" for ctype, name in PARAMS)

_BODY = r"""
// OpenCV's INTER_LINEAR resize of uint8 images works in fixed point: weights rounded to
// 1/2048, rows combined with the rounding of its SIMD path. Doing the same integer steps
// here makes the kernel's resize bit-identical to cv2.resize, not just within one level.
__device__ __forceinline__ float edge_position(int r, double scale, int* s)
{
    const float f = (float)(((double)r + 0.5) * scale - 0.5);
    *s = (int)floorf(f);
    return f - (float)(*s);
}

__device__ __forceinline__ void edge_sample(
    const unsigned char* __restrict__ src, int src_w, int src_h, int src_stride,
    int rx, int ry, double scale_x, double scale_y, float* out)
{
    int sx, sy;
    float fx = edge_position(rx, scale_x, &sx);
    const float fy = edge_position(ry, scale_y, &sy);
    // Columns: OpenCV clamps the position itself (weight 0 past the border)...
    if (sx < 0) { sx = 0; fx = 0.0f; }
    if (sx >= src_w - 1) { sx = src_w - 1; fx = 0.0f; }
    const int sx1 = (sx + 1 < src_w) ? sx + 1 : sx;
    // ...rows: it keeps the weight and clamps the row index.
    const int y0 = sy < 0 ? 0 : (sy > src_h - 1 ? src_h - 1 : sy);
    const int y1 = sy + 1 < 0 ? 0 : (sy + 1 > src_h - 1 ? src_h - 1 : sy + 1);
    const int a0 = (int)rintf((1.0f - fx) * 2048.0f);
    const int a1 = (int)rintf(fx * 2048.0f);
    const int b0 = (int)rintf((1.0f - fy) * 2048.0f);
    const int b1 = (int)rintf(fy * 2048.0f);
    const unsigned char* r0 = src + (long)y0 * src_stride;
    const unsigned char* r1 = src + (long)y1 * src_stride;
    for (int c = 0; c < 3; ++c) {
        const int h0 = (int)r0[sx * 3 + c] * a0 + (int)r0[sx1 * 3 + c] * a1;
        const int h1 = (int)r1[sx * 3 + c] * a0 + (int)r1[sx1 * 3 + c] * a1;
        int v = (((b0 * (h0 >> 4)) >> 16) + ((b1 * (h1 >> 4)) >> 16) + 2) >> 2;
        v = v < 0 ? 0 : (v > 255 ? 255 : v);
        out[c] = (float)v;
    }
}

extern "C" __global__ void edge_preprocess_nchw(SIGNATURE)
{
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= net_w || y >= net_h) return;
    const int rx = x - off_x;
    const int ry = y - off_y;
    float bgr[3];
    if (rx < 0 || ry < 0 || rx >= new_w || ry >= new_h) {
        bgr[0] = bgr[1] = bgr[2] = (float)pad;
    } else if (new_w == src_w && new_h == src_h) {
        // No resize (centre crop, or a frame already at network size): copy, as the CPU path.
        const unsigned char* p = src + (long)ry * src_stride + rx * 3;
        bgr[0] = (float)p[0]; bgr[1] = (float)p[1]; bgr[2] = (float)p[2];
    } else {
        edge_sample(src, src_w, src_h, src_stride, rx, ry, scale_x, scale_y, bgr);
    }
    const float mean[3] = {mean0, mean1, mean2};
    const float stdv[3] = {std0, std1, std2};
    const long plane = (long)net_w * net_h;
    for (int c = 0; c < 3; ++c) {
        const float v = bgr[rgb ? 2 - c : c] * inv_scaling;
        dst[c * plane + (long)y * net_w + x] = (v - mean[c]) / stdv[c];
    }
}
"""

KERNEL_SOURCE = _BODY.replace("SIGNATURE", SIGNATURE)


@dataclass(frozen=True)
class KernelParams:
    """The scalar arguments of one launch (everything but the two pointers)."""

    src_w: int
    src_h: int
    src_stride: int
    net_w: int
    net_h: int
    off_x: int
    off_y: int
    new_w: int
    new_h: int
    scale_x: float
    scale_y: float
    pad: int
    rgb: bool
    inv_scaling: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    @classmethod
    def create(cls, g: Geometry, cfg: PreprocessConfig, src_stride: int | None = None) -> KernelParams:
        """Parameters that place a ``g.src_w`` x ``g.src_h`` frame as the CPU path does."""
        # The same integer sizes and offsets as edge.preprocess._place uses.
        new_w, new_h = round(g.src_w * g.scale_x), round(g.src_h * g.scale_y)
        return cls(
            src_w=g.src_w,
            src_h=g.src_h,
            src_stride=src_stride if src_stride is not None else g.src_w * 3,
            net_w=g.net_w,
            net_h=g.net_h,
            off_x=int(g.offset_x),
            off_y=int(g.offset_y),
            new_w=new_w,
            new_h=new_h,
            # OpenCV samples with 1 / (new / src) in double precision, not with g.scale_x.
            scale_x=1.0 / (new_w / g.src_w),
            scale_y=1.0 / (new_h / g.src_h),
            pad=cfg.pad_value,
            rgb=cfg.rgb,
            # The CPU path multiplies by the float32 reciprocal; so does the kernel.
            inv_scaling=float(np.float32(1.0 / cfg.scaling)),
            mean=cfg.mean if cfg.mean is not None else (0.0, 0.0, 0.0),
            std=cfg.std if cfg.std is not None else (1.0, 1.0, 1.0),
        )

    def scalars(self) -> tuple[np.generic, ...]:
        """numpy scalars in the kernel's parameter order, after ``src`` and ``dst``."""
        ints = [self.src_w, self.src_h, self.src_stride, self.net_w, self.net_h, self.off_x, self.off_y]
        out: list[np.generic] = [np.int32(v) for v in [*ints, self.new_w, self.new_h]]
        out += [np.float64(self.scale_x), np.float64(self.scale_y), np.int32(self.pad), np.int32(int(self.rgb))]
        out += [np.float32(self.inv_scaling), *(np.float32(m) for m in self.mean), *(np.float32(s) for s in self.std)]
        return tuple(out)


def grid_for(net_w: int, net_h: int) -> tuple[int, int, int]:
    """Blocks needed to cover a ``net_w`` x ``net_h`` output with :data:`BLOCK`."""
    return (-(-net_w // BLOCK[0]), -(-net_h // BLOCK[1]), 1)
