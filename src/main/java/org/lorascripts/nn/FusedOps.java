package org.lorascripts.nn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rebuild;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Fused CUDA kernels (compiled at run time, {@link CudaKernel}) for the element-wise parts of a Llama
 * decoder layer that libtorch runs as chains of small kernels: RMSNorm, the SwiGLU gate and rotary
 * position embedding, each with a hand-written backward ({@link CustomFunction}). Each reproduces the
 * rounding of the plain path (Hugging Face's modules under bf16/fp16: the same float32 math, rounded to
 * the tensor dtype at the same points), so switching between them changes results only by reduction
 * order. On the CPU, for other dtypes or layouts, or where kernels cannot be compiled, each op runs
 * the plain libtorch composition. The backward formulas are also written with tensor ops
 * ({@code *Reference}), which the tests hold against autograd on the CPU.
 */
public final class FusedOps {
    private FusedOps() {}

    /** Load/store helpers shared by the kernels: LS_T = 1 bfloat16, 2 float16, 3 float32; math in float32. */
    static final String PRELUDE = """
            typedef unsigned short ls_u16;
            struct bf16_t { ls_u16 v; };
            struct f16_t { ls_u16 v; };
            __device__ __forceinline__ float ld(bf16_t h) { return __uint_as_float(((unsigned)h.v) << 16); }
            __device__ __forceinline__ float ld(f16_t h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h.v)); return f; }
            __device__ __forceinline__ float ld(float f) { return f; }
            template <class X> __device__ __forceinline__ X make(float f);
            template <> __device__ __forceinline__ bf16_t make<bf16_t>(float f) {
              unsigned u = __float_as_uint(f);
              bf16_t r;
              if ((u & 0x7fffffffu) > 0x7f800000u) { r.v = (ls_u16)((u >> 16) | 0x40u); return r; }
              u += 0x7fffu + ((u >> 16) & 1u);
              r.v = (ls_u16)(u >> 16);
              return r;
            }
            template <> __device__ __forceinline__ f16_t make<f16_t>(float f) {
              f16_t r; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r.v) : "f"(f)); return r;
            }
            template <> __device__ __forceinline__ float make<float>(float f) { return f; }
            #define LS_TYPE_1 bf16_t
            #define LS_TYPE_2 f16_t
            #define LS_TYPE_3 float
            #define LS_CAT_(a, b) a##b
            #define LS_TYPE(c) LS_CAT_(LS_TYPE_, c)
            #ifndef LS_TO
            #define LS_TO LS_T
            #endif
            #ifndef LS_TW
            #define LS_TW LS_T
            #endif
            typedef LS_TYPE(LS_T) T;     // the tensors' dtype
            typedef LS_TYPE(LS_TO) TO;   // an output dtype where it differs (autocast)
            typedef LS_TYPE(LS_TW) TW;   // a weight dtype where it differs
            __device__ __forceinline__ T st(float f) { return make<T>(f); }
            __device__ __forceinline__ TO sto(float f) { return make<TO>(f); }
            __device__ __forceinline__ float rnd(float f) { return ld(st(f)); }
            __device__ __forceinline__ float block_sum(float v) {
              __shared__ float sh[33];
              for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
              int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
              if (lane == 0) sh[wid] = v;
              __syncthreads();
              if (wid == 0) {
                float t = lane < nw ? sh[lane] : 0.f;
                for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
                if (lane == 0) sh[32] = t;
              }
              __syncthreads();
              float r = sh[32];
              __syncthreads();
              return r;
            }
            """;

    /** The kernels' source (for tools that check it compiles). */
    static String source() { return SOURCE; }

    private static final String SOURCE = PRELUDE + """
            // y = w * round(x * rsqrt(mean(x^2) + eps)), one block per row of C; rstd kept for backward.
            extern "C" __global__ void rms_fwd(const T* x, const T* w, T* y, float* rstd, int C, float eps, int hasW) {
              long row = blockIdx.x;
              const T* xr = x + row * C;
              T* yr = y + row * C;
              float s = 0.f;
              for (int i = threadIdx.x; i < C; i += blockDim.x) { float v = ld(xr[i]); s += v * v; }
              s = block_sum(s);
              float r = rsqrtf(s / (float)C + eps);
              if (threadIdx.x == 0) rstd[row] = r;
              for (int i = threadIdx.x; i < C; i += blockDim.x) {
                float n = rnd(ld(xr[i]) * r);
                yr[i] = hasW ? st(ld(w[i]) * n) : st(n);
              }
            }
            // dx = r * (gy - n * mean(gy * n)), gy = round(g * w), n = x * r.
            extern "C" __global__ void rms_bwd(const T* g, const T* x, const T* w, const float* rstd, T* dx, int C, int hasW) {
              long row = blockIdx.x;
              const T* gr = g + row * C;
              const T* xr = x + row * C;
              T* dr = dx + row * C;
              float r = rstd[row];
              float s = 0.f;
              for (int i = threadIdx.x; i < C; i += blockDim.x) {
                float gy = hasW ? rnd(ld(gr[i]) * ld(w[i])) : ld(gr[i]);
                s += gy * (ld(xr[i]) * r);
              }
              s = block_sum(s) / (float)C;
              for (int i = threadIdx.x; i < C; i += blockDim.x) {
                float gy = hasW ? rnd(ld(gr[i]) * ld(w[i])) : ld(gr[i]);
                dr[i] = st(r * (gy - ld(xr[i]) * r * s));
              }
            }
            // 16-byte vectors of VEC elements, for the kernels' vector forms
            #define VEC (16 / (int)sizeof(T))
            struct __align__(16) Pack { T v[VEC]; };
            // rms_fwd / rms_bwd with vectors along the row (C a multiple of VEC; w present)
            extern "C" __global__ void rms_fwd_v(const T* x, const T* w, T* y, float* rstd, int C, float eps, int hasW) {
              long row = blockIdx.x;
              const Pack* xr = (const Pack*)(x + row * C);
              const Pack* wr = (const Pack*)w;
              Pack* yr = (Pack*)(y + row * C);
              int cv = C / VEC;
              float s = 0.f;
              for (int i = threadIdx.x; i < cv; i += blockDim.x) {
                Pack p = xr[i];
                #pragma unroll
                for (int k = 0; k < VEC; k++) { float v = ld(p.v[k]); s += v * v; }
              }
              s = block_sum(s);
              float r = rsqrtf(s / (float)C + eps);
              if (threadIdx.x == 0) rstd[row] = r;
              for (int i = threadIdx.x; i < cv; i += blockDim.x) {
                Pack p = xr[i], q, o;
                if (hasW) q = wr[i];
                #pragma unroll
                for (int k = 0; k < VEC; k++) {
                  float n = rnd(ld(p.v[k]) * r);
                  o.v[k] = hasW ? st(ld(q.v[k]) * n) : st(n);
                }
                yr[i] = o;
              }
            }
            extern "C" __global__ void rms_bwd_v(const T* g, const T* x, const T* w, const float* rstd, T* dx, int C, int hasW) {
              long row = blockIdx.x;
              const Pack* gr = (const Pack*)(g + row * C);
              const Pack* xr = (const Pack*)(x + row * C);
              const Pack* wr = (const Pack*)w;
              Pack* dr = (Pack*)(dx + row * C);
              int cv = C / VEC;
              float r = rstd[row];
              float s = 0.f;
              for (int i = threadIdx.x; i < cv; i += blockDim.x) {
                Pack pg = gr[i], px = xr[i], pw;
                if (hasW) pw = wr[i];
                #pragma unroll
                for (int k = 0; k < VEC; k++) {
                  float gy = hasW ? rnd(ld(pg.v[k]) * ld(pw.v[k])) : ld(pg.v[k]);
                  s += gy * (ld(px.v[k]) * r);
                }
              }
              s = block_sum(s) / (float)C;
              for (int i = threadIdx.x; i < cv; i += blockDim.x) {
                Pack pg = gr[i], px = xr[i], pw, o;
                if (hasW) pw = wr[i];
                #pragma unroll
                for (int k = 0; k < VEC; k++) {
                  float gy = hasW ? rnd(ld(pg.v[k]) * ld(pw.v[k])) : ld(pg.v[k]);
                  o.v[k] = st(r * (gy - ld(px.v[k]) * r * s));
                }
                dr[i] = o;
              }
            }
            // h = round(silu(g)) * u, and its gradients for dh
            __device__ __forceinline__ T swiglu_one(T g, T u) {
              float a = ld(g);
              return st(rnd(a / (1.f + expf(-a))) * ld(u));
            }
            __device__ __forceinline__ void swiglu_grad(T dh, T g, T u, T& dg, T& du) {
              float a = ld(g), d = ld(dh);
              float sig = 1.f / (1.f + expf(-a));
              du = st(d * rnd(a / (1.f + expf(-a))));
              dg = st(rnd(d * ld(u)) * sig * (1.f + a * (1.f - sig)));
            }
            extern "C" __global__ void swiglu_fwd(const T* g, const T* u, T* h, long n) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i < n) h[i] = swiglu_one(g[i], u[i]);
            }
            extern "C" __global__ void swiglu_bwd(const T* dh, const T* g, const T* u, T* dg, T* du, long n) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i < n) swiglu_grad(dh[i], g[i], u[i], dg[i], du[i]);
            }
            // GEGLU over p (rows, 2F): h = value * gelu(gate), value = p[:, :F], gate = p[:, F:] (exact, erf gelu).
            __device__ __forceinline__ float gelu_f(float a) { return 0.5f * a * (1.f + erff(a * 0.7071067811865476f)); }
            extern "C" __global__ void geglu_fwd(const T* p, T* h, long rows, long F) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i >= rows * F) return;
              long r = i / F, j = i % F;
              const T* pr = p + r * 2 * F;
              h[i] = st(ld(pr[j]) * rnd(gelu_f(ld(pr[F + j]))));
            }
            extern "C" __global__ void geglu_bwd(const T* dh, const T* p, T* dp, long rows, long F) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i >= rows * F) return;
              long r = i / F, j = i % F;
              const T* pr = p + r * 2 * F;
              T* dr = dp + r * 2 * F;
              float v = ld(pr[j]), a = ld(pr[F + j]), d = ld(dh[i]);
              dr[j] = st(d * rnd(gelu_f(a)));
              float dg = rnd(d * v);
              float cdf = 0.5f * (1.f + erff(a * 0.7071067811865476f));
              float pdf = 0.3989422804014327f * expf(-0.5f * a * a);
              dr[F + j] = st(dg * (cdf + a * pdf));
            }
            // The same two with VEC elements per thread where n is a multiple of VEC.
            extern "C" __global__ void swiglu_fwd_v(const Pack* g, const Pack* u, Pack* h, long nv) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i >= nv) return;
              Pack pg = g[i], pu = u[i], ph;
              #pragma unroll
              for (int k = 0; k < VEC; k++) ph.v[k] = swiglu_one(pg.v[k], pu.v[k]);
              h[i] = ph;
            }
            extern "C" __global__ void swiglu_bwd_v(const Pack* dh, const Pack* g, const Pack* u, Pack* dg, Pack* du, long nv) {
              long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (i >= nv) return;
              Pack pd = dh[i], pg = g[i], pu = u[i], og, ou;
              #pragma unroll
              for (int k = 0; k < VEC; k++) swiglu_grad(pd.v[k], pg.v[k], pu.v[k], og.v[k], ou.v[k]);
              dg[i] = og;
              du[i] = ou;
            }
            // One pair (x[i], x[i + half]) of the rotation: forward (dir = 1) or its transpose for the gradient (dir = -1).
            __device__ __forceinline__ void rope_pair(float a, float z, float c1, float c2, float s1, float s2, int dir, T& y1, T& y2) {
              if (dir > 0) {
                y1 = st(rnd(a * c1) + rnd(-z * s1));
                y2 = st(rnd(z * c2) + rnd(a * s2));
              } else {
                y1 = st(rnd(a * c1) + rnd(z * s2));
                y2 = st(rnd(z * c2) - rnd(a * s1));
              }
            }
            // The rows of item r = ((b * H) + h) * Tn + t: x's, y's, and cos/sin's (per b, t).
            #define ROPE_ROWS(r)                                                       \
              long t = (r) % Tn, bh = (r) / Tn, h = bh % H, b = bh / H;                \
              const T* xp = x + b * xb + h * xh + t * xt;                              \
              T* yp = y + b * yb + h * yh + t * yt;                                    \
              const T* cp = cs + b * cb + t * ct;                                      \
              const T* sp = sn + b * sb + t * st_;
            #define ROPE_PARAMS const T* x, T* y, const T* cs, const T* sn, long B, long H, long Tn, long half, \
              long xb, long xh, long xt, long yb, long yh, long yt, long cb, long ct, long sb, long st_, int dir
            // Rotary embedding on x (B, H, T, D) with cos/sin (B, T, D): x * cos + rotate_half(x) * sin, one pair per thread.
            extern "C" __global__ void rope(ROPE_PARAMS) {
              long idx = blockIdx.x * (long)blockDim.x + threadIdx.x;
              if (idx >= B * H * Tn * half) return;
              long i = idx % half;
              ROPE_ROWS(idx / half)
              rope_pair(ld(xp[i]), ld(xp[i + half]), ld(cp[i]), ld(cp[i + half]), ld(sp[i]), ld(sp[i + half]), dir, yp[i], yp[i + half]);
            }
            // The same with VEC consecutive pairs per thread (half, and every row stride, multiples of VEC).
            extern "C" __global__ void rope_v(ROPE_PARAMS) {
              long idx = blockIdx.x * (long)blockDim.x + threadIdx.x;
              long hv = half / VEC;
              if (idx >= B * H * Tn * hv) return;
              long i = (idx % hv) * VEC;
              ROPE_ROWS(idx / hv)
              Pack x1 = *(const Pack*)(xp + i), x2 = *(const Pack*)(xp + i + half);
              Pack c1 = *(const Pack*)(cp + i), c2 = *(const Pack*)(cp + i + half);
              Pack s1 = *(const Pack*)(sp + i), s2 = *(const Pack*)(sp + i + half);
              Pack y1, y2;
              #pragma unroll
              for (int k = 0; k < VEC; k++) {
                rope_pair(ld(x1.v[k]), ld(x2.v[k]), ld(c1.v[k]), ld(c2.v[k]), ld(s1.v[k]), ld(s2.v[k]), dir, y1.v[k], y2.v[k]);
              }
              *(Pack*)(yp + i) = y1;
              *(Pack*)(yp + i + half) = y2;
            }
            // silu(group_norm(x) * w + b) (act = 1; act = 0 without silu) over x (B, C, S) with G groups of C/G channels (contiguous per (b, g));
            // one block per (b, g): mean, then variance about it (two passes, float32), then the output.
            extern "C" __global__ void gn_silu_fwd(const T* x, const TW* w, const TW* b, TO* y, float* mean, float* rstd,
                                                   long C, long S, int G, float eps, int act) {
              long bg = blockIdx.x;
              long cg = C / G, n = cg * S;
              long base = bg * n;
              long c0 = (bg % G) * cg;
              float s = 0.f;
              for (long i = threadIdx.x; i < n; i += blockDim.x) s += ld(x[base + i]);
              float m = block_sum(s) / (float)n;
              float v = 0.f;
              for (long i = threadIdx.x; i < n; i += blockDim.x) { float d = ld(x[base + i]) - m; v += d * d; }
              float r = rsqrtf(block_sum(v) / (float)n + eps);
              if (threadIdx.x == 0) { mean[bg] = m; rstd[bg] = r; }
              for (long i = threadIdx.x; i < n; i += blockDim.x) {
                long c = c0 + i / S;
                float z = (ld(x[base + i]) - m) * r * ld(w[c]) + ld(b[c]);
                y[base + i] = sto(act ? z / (1.f + expf(-z)) : z);
              }
            }
            // dx of the above for frozen w, b: dz = dy * silu'(z), dxh = dz * w,
            // dx = r * (dxh - mean(dxh) - xh * mean(dxh * xh)) over the group.
            // Element i of a group (channel c): its normalised value xh, returning dxh.
            __device__ __forceinline__ float gn_dxh(float dy, float x, float m, float r, float wc, float bc, int act, float& xh) {
              xh = (x - m) * r;
              float z = xh * wc + bc;
              float sg = 1.f / (1.f + expf(-z));
              return dy * (act ? sg * (1.f + z * (1.f - sg)) : 1.f) * wc;
            }
            extern "C" __global__ void gn_silu_bwd(const TO* dy, const T* x, const TW* w, const TW* b, const float* mean,
                                                   const float* rstd, T* dx, long C, long S, int G, int act) {
              long bg = blockIdx.x;
              long cg = C / G, n = cg * S;
              long base = bg * n;
              long c0 = (bg % G) * cg;
              float m = mean[bg], r = rstd[bg];
              float s1 = 0.f, s2 = 0.f;
              for (long i = threadIdx.x; i < n; i += blockDim.x) {
                long c = c0 + i / S;
                float xh, dxh = gn_dxh(ld(dy[base + i]), ld(x[base + i]), m, r, ld(w[c]), ld(b[c]), act, xh);
                s1 += dxh;
                s2 += dxh * xh;
              }
              s1 = block_sum(s1) / (float)n;
              s2 = block_sum(s2) / (float)n;
              for (long i = threadIdx.x; i < n; i += blockDim.x) {
                long c = c0 + i / S;
                float xh, dxh = gn_dxh(ld(dy[base + i]), ld(x[base + i]), m, r, ld(w[c]), ld(b[c]), act, xh);
                dx[base + i] = st(r * (dxh - s1 - xh * s2));
              }
            }
            __device__ __forceinline__ float block_max(float v) {
              __shared__ float shm[33];
              for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
              int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
              if (lane == 0) shm[wid] = v;
              __syncthreads();
              if (wid == 0) {
                float t = lane < nw ? shm[lane] : -__int_as_float(0x7f800000);
                for (int o = 16; o > 0; o >>= 1) t = fmaxf(t, __shfl_xor_sync(0xffffffffu, t, o));
                if (lane == 0) shm[32] = t;
              }
              __syncthreads();
              float r = shm[32];
              __syncthreads();
              return r;
            }
            // Cross-entropy of each row of V logits against its label (-100: ignored), in float32 as the plain composition
            // computes it: m = max(z), s = sum(exp(z - m)), loss = (log(s) + m) - z[label], 0 where ignored, NaN for a label
            // outside [0, V). With grad != 0 the row is then overwritten by exp(z - m) / s - onehot(label) in its own dtype
            // (zeros where ignored). One block per row; 16-byte vectors along rows whose length is a multiple of VEC.
            extern "C" __global__ void ce_rows(T* z, const long long* labels, float* loss, long V, int grad) {
              long row = blockIdx.x;
              T* zr = z + row * V;
              long long lab = labels[row];
              bool ignored = lab == -100, bad = !ignored && (lab < 0 || lab >= V);
              bool vec = V % VEC == 0;
              long nv = V / VEC;
              Pack* zv = (Pack*)zr;
              float m = -__int_as_float(0x7f800000);
              if (vec) {
                for (long i = threadIdx.x; i < nv; i += blockDim.x) {
                  Pack p = zv[i];
                  #pragma unroll
                  for (int k = 0; k < VEC; k++) m = fmaxf(m, ld(p.v[k]));
                }
              } else {
                for (long i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, ld(zr[i]));
              }
              m = block_max(m);
              float s = 0.f;
              if (vec) {
                for (long i = threadIdx.x; i < nv; i += blockDim.x) {
                  Pack p = zv[i];
                  #pragma unroll
                  for (int k = 0; k < VEC; k++) s += expf(ld(p.v[k]) - m);
                }
              } else {
                for (long i = threadIdx.x; i < V; i += blockDim.x) s += expf(ld(zr[i]) - m);
              }
              s = block_sum(s);
              if (threadIdx.x == 0) {
                float picked = ignored || bad ? 0.f : ld(zr[lab]);
                loss[row] = bad ? __int_as_float(0x7fc00000) : ignored ? 0.f : (logf(s) + m) - picked;
              }
              if (!grad) return;
              __syncthreads();   // z[label] is read before any thread overwrites the row
              float qnan = __int_as_float(0x7fc00000);
              if (vec) {
                for (long i = threadIdx.x; i < nv; i += blockDim.x) {
                  Pack p = zv[i], o;
                  #pragma unroll
                  for (int k = 0; k < VEC; k++) {
                    long j = i * VEC + k;
                    float g = expf(ld(p.v[k]) - m) / s;
                    if (j == lab) g -= 1.f;
                    o.v[k] = st(ignored ? 0.f : bad ? qnan : g);
                  }
                  zv[i] = o;
                }
              } else {
                for (long i = threadIdx.x; i < V; i += blockDim.x) {
                  float g = expf(ld(zr[i]) - m) / s;
                  if (i == lab) g -= 1.f;
                  zr[i] = st(ignored ? 0.f : bad ? qnan : g);
                }
              }
            }
            """;

    /** Every kernel the ops launch from {@link #source()} (a test checks the source defines each). */
    static final List<String> KERNEL_NAMES = List.of("rms_fwd", "rms_bwd", "rms_fwd_v", "rms_bwd_v", "swiglu_fwd", "swiglu_bwd",
            "swiglu_fwd_v", "swiglu_bwd_v", "geglu_fwd", "geglu_bwd", "rope", "rope_v", "gn_silu_fwd", "gn_silu_bwd", "ce_rows");

    private static final int THREADS = 256;
    private static final Map<String, CudaKernel> KERNELS = new ConcurrentHashMap<>();

    /** The kernel {@code name} for tensors of {@code dtype}, or null when that dtype has none. */
    static CudaKernel kernel(String source, String name, DType dtype) { return kernel(source, name, dtype, dtype, dtype); }

    /** As {@link #kernel(String, String, DType)} with an output dtype and a weight dtype of their own. */
    static CudaKernel kernel(String source, String name, DType dtype, DType out, DType weight) {
        int code = dtypeCode(dtype), o = dtypeCode(out), w = dtypeCode(weight);
        if (code == 0 || o == 0 || w == 0) return null;
        return KERNELS.computeIfAbsent(name + "/" + code + "/" + o + "/" + w + "/" + source.hashCode(),
                k -> new CudaKernel(name, source, name, List.of("-DLS_T=" + code, "-DLS_TO=" + o, "-DLS_TW=" + w)));
    }

    static int dtypeCode(DType d) {
        return d == DType.BF16 ? 1 : d == DType.F16 ? 2 : d == DType.F32 ? 3 : 0;
    }

    private static CudaKernel usable(String name, Tensor t) {
        if (t.device().type() != Device.Type.CUDA) return null;
        CudaKernel k = kernel(SOURCE, name, t.dtype());
        return k != null && k.usable(t.device()) ? k : null;
    }

    /** A forward kernel and its backward, and whether they are the 16-byte vector forms. */
    private record Pair(CudaKernel fwd, CudaKernel bwd, boolean vector) {}

    /**
     * The kernels {@code fwd} and {@code bwd} for tensors like {@code t}: their vector forms ({@code _v}) when
     * {@code vector} allows and they run here, else the scalar ones; null when neither pair runs.
     */
    private static Pair pair(String fwd, String bwd, boolean vector, Tensor t) {
        if (vector) {
            CudaKernel f = usable(fwd + "_v", t), b = f == null ? null : usable(bwd + "_v", t);
            if (b != null) return new Pair(f, b, true);
        }
        CudaKernel f = usable(fwd, t), b = f == null ? null : usable(bwd, t);
        return b == null ? null : new Pair(f, b, false);
    }

    /** Whether the fused kernel {@code name} runs for tensors like {@code t} here (compiling it if needed). */
    static boolean usableFor(String name, Tensor t) { return usable(name, t) != null; }

    // ---- cross-entropy over vocabulary rows ----

    /** Threads per row of the cross-entropy kernel: a 128k-vocabulary row is 16 vectors per thread. */
    private static final int CE_THREADS = 1024;

    /** {@code LORA_CE_KERNEL=0}: the cross-entropy kernel alone off (the other kernels stay), to measure what it gives. */
    private static final boolean CE_OFF = CudaKernel.offByEnv("LORA_CE_KERNEL");

    /**
     * The cross-entropy of each row of {@code logits} ((rows, V), a contiguous CUDA tensor of bf16, fp16 or fp32)
     * against {@code labels} ((rows) int64; -100 marks a row to ignore), as float32 losses (0 for an ignored row, NaN
     * for a label outside [0, V)), from one kernel that reads the logits in their own dtype. With {@code gradInPlace}
     * the logits are then overwritten by d(loss)/d(logits) = softmax - one-hot (zero rows where ignored), rounded to
     * their dtype once: the plain composition's float32 math and roundings (max, sum of exp(z - max), log(sum) + max -
     * z[label]; exp(z - max) / sum - 1 at the label), without its float32 copy of the logits and its half-dozen passes
     * over it. Null where the kernel does not run (CPU, another dtype or layout, no run-time compiler): the caller
     * then takes the plain path.
     */
    public static Tensor crossEntropyRows(Tensor logits, Tensor labels, boolean gradInPlace) {
        if (CE_OFF || logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0) || !logits.isContiguous()) return null;
        CudaKernel k = usable("ce_rows", logits);
        if (k == null || !crossEntropyChecked(k, logits.device(), logits.dtype())) return null;
        Tensor lab = labels.dtype() == DType.I64 && labels.isContiguous() ? labels : labels.to(DType.I64).contiguous();
        return launchCrossEntropy(k, logits, lab, gradInPlace);
    }

    private static Tensor launchCrossEntropy(CudaKernel k, Tensor logits, Tensor labels, boolean gradInPlace) {
        long rows = logits.size(0), v = logits.size(1);
        Tensor loss = Torch.empty(new long[] {rows}, DType.F32, logits.device());
        if (rows > 0) {
            k.launch(logits.device(), new long[] {rows, 1, 1}, new long[] {CE_THREADS, 1, 1}, 0,
                    logits.detach(), labels.detach(), loss, v, gradInPlace ? 1 : 0);
        }
        return loss;
    }

    /**
     * The first time the cross-entropy kernel would serve on a device for a dtype, it runs on fixed logits (no random
     * draw: the training's generators are left alone), with rows of a vector-multiple and of an odd length, ignored
     * and edge labels, against {@link #crossEntropyRowsReference}: it serves only where the losses agree to float32
     * summation order and each gradient to one unit in the dtype's last place; else one line says so and the plain
     * path serves.
     */
    private static boolean crossEntropyChecked(CudaKernel k, Device d, DType dt) {
        return checkedOnce("ce_rows", d, dt, () -> {
            try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
                double ulp = dt == DType.BF16 ? 1.0 / 128 : dt == DType.F16 ? 1.0 / 1024 : 1e-6;
                for (long v : new long[] {4096, 4099}) {
                    Tensor z = Torch.arange(0, 8 * v, 1, DType.F32, d).mul(0.7548776662).sin().mul(8).reshape(8, v).to(dt);
                    Tensor labels = Torch.of(new long[] {0, 5, -100, v - 1, 17, v / 2, 1, 2}, 8).to(d);
                    Tensor[] ref = crossEntropyRowsReference(z, labels);
                    Tensor g = z.copy();
                    Tensor loss = launchCrossEntropy(k, g, labels, true);
                    double dl = loss.sub(ref[0]).abs().amax().item(), scale = ref[0].abs().amax().item();
                    double dg = g.to(DType.F32).sub(ref[1].to(DType.F32)).abs().amax().item();
                    if (!(dl <= 2e-6 * scale) || !(dg <= ulp)) {
                        System.err.println("lora: the fused cross-entropy differs from libtorch's on " + d + " (" + dt + ", loss by " + dl
                                + ", gradient by " + dg + "); using the plain libtorch path");
                        return false;
                    }
                }
                return true;
            }
        });
    }

    /**
     * {@link #crossEntropyRows} as libtorch ops (what the kernel is checked against): {loss (rows) in float32 (float64
     * for float64 logits), gradient (rows, V) in the logits' dtype}.
     */
    public static Tensor[] crossEntropyRowsReference(Tensor logits, Tensor labels) {
        Tensor z = logits.to(logits.dtype() == DType.F64 ? DType.F64 : DType.F32).copy();   // float32 math, float64 kept
        Tensor loss = crossEntropyRowsInPlace(z, labels, true);
        return new Tensor[] {loss, z.to(logits.dtype())};
    }

    /**
     * The plain composition behind {@link #crossEntropyRows} on float logits {@code z} (rows, V), which it uses as its
     * buffer: the rows' losses (logsumexp(z) - z[label], 0 where the label is -100), and with {@code grad} z overwritten
     * by softmax(z) - onehot(label) (zero rows where ignored). No second vocabulary-sized buffer.
     */
    public static Tensor crossEntropyRowsInPlace(Tensor z, Tensor labels, boolean grad) {
        Tensor valid = labels.ne(-100), validW = valid.to(z.dtype()), label = labels.mul(valid);   // ignored rows point at class 0
        Tensor picked = z.gather(1, label.unsqueeze(1));
        Tensor max = z.amax(new long[] {1}, true);
        z.sub_(max).exp_();
        Tensor sum = z.sum(new long[] {1}, true);
        Tensor loss = sum.log().add_(max).sub(picked).squeeze(1).maskedFill(valid.logicalNot(), 0);
        if (!grad) return loss;
        z.div_(sum).mul_(validW.unsqueeze(1));
        long rows = z.size(0), v = z.size(1);
        try (Tensor pv = z.view(rows * v)) {
            pv.indexPut_(Torch.arange(0, rows * v, v, DType.I64, z.device()).add(label), validW.neg(), true);
        }
        return loss;
    }

    // ---- kernels that check themselves on first use ----

    private static final Map<String, Boolean> CHECKED = new ConcurrentHashMap<>();

    /**
     * Whether {@code kernel} serves on {@code d} for {@code dt}: {@code check} (the kernel against its plain
     * composition, printing one line where they differ) runs the first time this is asked per device and dtype, and
     * its answer stands for the process.
     */
    static boolean checkedOnce(String kernel, Device d, DType dt, BooleanSupplier check) {
        return CHECKED.computeIfAbsent(kernel + "/" + d + "/" + dt, key -> check.getAsBoolean());
    }

    /** Whether {@code kernel} has passed its check on {@code d} for {@code dt} (false where it failed or never ran). */
    static boolean passedCheck(String kernel, Device d, DType dt) {
        return Boolean.TRUE.equals(CHECKED.get(kernel + "/" + d + "/" + dt));
    }

    // ---- RMSNorm ----

    /**
     * LLaMA's RMSNorm over the last dim: {@code w * (x.float() * rsqrt(mean(x.float()^2) + eps)).to(x.dtype)}.
     * Fused when x is a CUDA tensor of bf16/fp16/fp32 with w of the same dtype (or null) and w needs no gradient.
     */
    public static Tensor rmsNorm(Tensor x, Tensor w, double eps) {
        if (w != null && (w.dtype() != x.dtype() || w.requiresGrad() || !w.isContiguous())) return plainRmsNorm(x, w, eps);
        int c = (int) x.size(-1);
        Pair k = pair("rms_fwd", "rms_bwd", w != null && c % (16 / x.dtype().byteSize) == 0, x);
        if (k == null) return plainRmsNorm(x, w, eps);
        CudaKernel fwd = k.fwd(), bwd = k.bwd();
        long rows = x.numel() / c;
        Tensor wk = w, xd = x.contiguous().detach();
        List<Tensor> sources = w == null ? List.of(xd) : List.of(xd, w.detach());
        // {y, rstd} from {x[, w]}: the forward, and again in backward for a reader that saved the sources
        Function<List<Tensor>, Tensor[]> run = src -> {
            Tensor xs = src.get(0), wv = src.size() > 1 ? src.get(1) : null;
            Tensor y = Torch.empty(xs.shape(), xs.dtype(), xs.device()), rstd = Torch.empty(new long[] {rows}, DType.F32, xs.device());
            fwd.launch(xs.device(), new long[] {rows, 1, 1}, new long[] {rowThreads(c), 1, 1}, 0,
                    xs, wv == null ? xs : wv, y, rstd, c, (float) eps, wv == null ? 0 : 1);
            return new Tensor[] {y, rstd};
        };
        Tensor[] yr;
        try (var ng = Autograd.noGrad()) {
            yr = run.apply(sources);
        }
        Tensor out = CustomFunction.apply((grads, saved) -> {
            Tensor g = grads.get(0).contiguous();
            Tensor xs = saved.get(0), r = saved.get(1);
            Tensor dx = Torch.empty(xs.shape(), xs.dtype(), xs.device());
            bwd.launch(xs.device(), new long[] {rows, 1, 1}, new long[] {rowThreads(c), 1, 1}, 0,
                    g, xs, wk == null ? xs : wk, r, dx, c, wk == null ? 0 : 1);
            return Arrays.asList(dx);
        }, List.of(x), List.of(yr[0]), List.of(xd, yr[1])).get(0);
        return rebuildable(out, yr[0], sources, run);
    }

    /** libtorch's composed RMSNorm, its output rebuildable from its input while a gradient is recorded. */
    private static Tensor plainRmsNorm(Tensor x, Tensor w, double eps) {
        return plainRebuildable(w == null ? List.of(x) : List.of(x, w), in -> Functional.rmsNorm(in.get(0), in.size() > 1 ? in.get(1) : null, eps));
    }

    /**
     * {@code out}, the custom operation's tied output (or {@code value} itself where no gradient is recorded), marked
     * rebuildable by {@code run} on {@code sources}: the same kernel on the tensors the operation keeps gives the same
     * bits again; run's further outputs (statistics) go to temporaries. The recipe reads only its sources, as saved:
     * the forward's wrappers close with their scope.
     */
    private static Tensor rebuildable(Tensor out, Tensor value, List<Tensor> sources, Function<List<Tensor>, Tensor[]> run) {
        if (out == value) return value;   // nothing needs a gradient
        return out.rebuildableBy(new Rebuild(sources, src -> {
            Tensor[] r = run.apply(src);
            for (int i = 1; i < r.length; i++) r[i].close();
            return r[0];
        }));
    }

    /** {@code f(inputs)} (a libtorch composition that keeps its inputs for backward), rebuildable from them while a gradient is recorded. */
    private static Tensor plainRebuildable(List<Tensor> inputs, Function<List<Tensor>, Tensor> f) {
        Tensor y = f.apply(inputs);
        if (!y.requiresGrad()) return y;
        return y.rebuildableBy(new Rebuild(inputs.stream().map(Tensor::detach).toList(), src -> {
            try (var ng = Autograd.noGrad()) {
                return f.apply(src);
            }
        }));
    }

    private static int rowThreads(int c) {
        int t = 32;
        while (t < 1024 && t * 16 < c) t *= 2;   // a few elements (or vectors) per thread
        return t;
    }

    /** The backward of {@link #rmsNorm} written with tensor ops (float32), for tests on any device. */
    public static Tensor rmsNormBackwardReference(Tensor g, Tensor x, Tensor w, double eps) {
        Tensor xf = x.to(DType.F32);
        Tensor r = xf.pow(2).mean(new long[] {-1}, true).add(eps).rsqrt();
        Tensor gy = (w == null ? g : g.mul(w)).to(DType.F32);
        Tensor n = xf.mul(r);
        Tensor dot = gy.mul(n).mean(new long[] {-1}, true);
        return r.mul(gy.sub(n.mul(dot))).to(x.dtype());
    }

    // ---- GroupNorm + SiLU ----

    /**
     * {@code silu(group_norm(x, groups, w, b, eps))} for x (B, C, ...) as one kernel each way, saving only x and the
     * groups' statistics for backward (the plain path under autocast keeps float32 copies of x and of the norm's
     * output). Under CUDA autocast the result is in autocast's dtype, which the following convolution would cast
     * it to anyway; else in x's dtype. Fused for a contiguous CUDA x with frozen w and b.
     */
    public static Tensor groupNormSilu(Tensor x, int groups, Tensor w, Tensor b, double eps) { return groupNorm(x, groups, w, b, eps, true); }

    /**
     * {@code group_norm(x, groups, w, b, eps)}, with {@code silu} after it when asked, fused as {@link #groupNormSilu}
     * (output in autocast's dtype under CUDA autocast, for a consumer that casts its input to it anyway).
     */
    public static Tensor groupNorm(Tensor x, int groups, Tensor w, Tensor b, double eps, boolean silu) {
        DType ac = x.device().type() == Device.Type.CUDA ? org.lorascripts.tensor.Autocast.dtype(Device.Type.CUDA) : null;
        DType out = ac != null ? ac : x.dtype();
        CudaKernel fwd = null, bwd = null;
        if (x.device().type() == Device.Type.CUDA && x.dim() >= 3 && x.isContiguous() && w != null && b != null
                && w.dtype() == b.dtype() && !w.requiresGrad() && !b.requiresGrad() && x.size(1) % groups == 0
                && w.numel() == x.size(1) && b.numel() == x.size(1)) {
            fwd = kernel(SOURCE, "gn_silu_fwd", x.dtype(), out, w.dtype());
            bwd = kernel(SOURCE, "gn_silu_bwd", x.dtype(), out, w.dtype());
            if (fwd != null && !(fwd.usable(x.device()) && bwd.usable(x.device()))) fwd = null;
        }
        if (fwd == null) {
            Tensor y = plainNorm(x, w, b, xs -> Functional.groupNorm(xs.get(0), groups, xs.get(1), xs.get(2), eps));
            return silu ? y.silu() : y;
        }
        int act = silu ? 1 : 0;
        long bsz = x.size(0), c = x.size(1), sp = x.numel() / (bsz * c);
        int threads = c / groups * sp >= 8192 ? 1024 : 256;
        CudaKernel back = bwd, forward = fwd;
        List<Tensor> sources = List.of(x.detach(), w.contiguous().detach(), b.contiguous().detach());
        // {y, mean, rstd} from {x, w, b}: the forward, and again in backward for a reader that saved the sources
        Function<List<Tensor>, Tensor[]> run = src -> {
            Tensor xv = src.get(0);
            Tensor y = Torch.empty(xv.shape(), out, xv.device());
            Tensor mean = Torch.empty(new long[] {bsz * groups}, DType.F32, xv.device()), rstd = Torch.empty(new long[] {bsz * groups}, DType.F32, xv.device());
            forward.launch(xv.device(), new long[] {bsz * groups, 1, 1}, new long[] {threads, 1, 1}, 0, xv, src.get(1), src.get(2),
                    y, mean, rstd, c, sp, groups, (float) eps, act);
            return new Tensor[] {y, mean, rstd};
        };
        Tensor[] ymr;
        try (var ng = Autograd.noGrad()) {
            ymr = run.apply(sources);
        }
        Tensor result = CustomFunction.apply((grads, saved) -> {
            Tensor dy = grads.get(0).contiguous();
            if (dy.dtype() != out) dy = dy.to(out);
            Tensor xv = saved.get(0);
            Tensor dx = Torch.empty(xv.shape(), xv.dtype(), xv.device());
            back.launch(xv.device(), new long[] {bsz * groups, 1, 1}, new long[] {threads, 1, 1}, 0,
                    dy, xv, saved.get(1), saved.get(2), saved.get(3), saved.get(4), dx, c, sp, groups, act);
            return Arrays.asList(dx);
        }, List.of(x), List.of(ymr[0]), List.of(sources.get(0), sources.get(1), sources.get(2), ymr[1], ymr[2])).get(0);
        return rebuildable(result, ymr[0], sources, run);
    }

    /**
     * Layer norm over the last dim with frozen w, b: the group-norm kernel with one group per row (rows as the batch,
     * the last dim as channels of one element each); output in autocast's dtype under CUDA autocast. The plain path
     * where the kernel does not apply.
     */
    public static Tensor layerNorm(Tensor x, Tensor w, Tensor b, double eps) {
        long c = x.size(-1);
        if (x.device().type() != Device.Type.CUDA || w == null || b == null || !x.isContiguous() || w.requiresGrad() || b.requiresGrad()
                || CudaKernel.unavailableReason().isPresent()) {
            return plainNorm(x, w, b, xs -> Functional.layerNorm(xs.get(0), new long[] {c}, xs.get(1), xs.get(2), eps));
        }
        long[] shape = x.shape();
        Tensor rows = groupNorm(x.view(x.numel() / c, c, 1), 1, w, b, eps, false);
        Tensor y = rows.view(shape);
        Rebuild r = rows.rebuild();
        return r == null ? y : y.rebuildableBy(new Rebuild(r.sources(), src -> r.make().apply(src).view(shape)));
    }

    /**
     * The plain norm {@code f(x, w, b)}; where x's dtype differs from the weights' (16-bit activations of CPU autocast
     * beside float32 weights, which libtorch 1.13's CPU autocast leaves to the kernel, and it refuses the mix) all three
     * in float32, as CUDA autocast runs norms.
     */
    private static Tensor plainNorm(Tensor x, Tensor w, Tensor b, Function<List<Tensor>, Tensor> f) {
        boolean mixed = (w != null && w.dtype() != x.dtype()) || (b != null && b.dtype() != x.dtype());
        if (!mixed) return f.apply(Arrays.asList(x, w, b));
        return f.apply(Arrays.asList(x.to(DType.F32), w == null ? null : w.to(DType.F32), b == null ? null : b.to(DType.F32)));
    }

    /** dx of {@link #groupNormSilu} (frozen w, b) with tensor ops in float64, for tests. */
    public static Tensor groupNormSiluBackwardReference(Tensor dy, Tensor x, int groups, Tensor w, Tensor b, double eps) {
        long bsz = x.size(0), c = x.size(1);
        long[] wshape = new long[x.dim()];
        java.util.Arrays.fill(wshape, 1);
        wshape[1] = c;
        Tensor xg = x.to(DType.F64).reshape(bsz, groups, -1);
        Tensor mean = xg.mean(new long[] {2}, true);
        Tensor r = xg.var(new long[] {2}, false, true).add(eps).rsqrt();
        Tensor xh = xg.sub(mean).mul(r).reshape(x.shape());
        Tensor wv = w.to(DType.F64).reshape(wshape), bv = b.to(DType.F64).reshape(wshape);
        Tensor z = xh.mul(wv).add(bv);
        Tensor sg = z.sigmoid();
        Tensor dxh = dy.to(DType.F64).mul(sg).mul(z.mul(sg.neg().add(1)).add(1)).mul(wv).reshape(bsz, groups, -1);
        Tensor xhg = xh.reshape(bsz, groups, -1);
        Tensor s1 = dxh.mean(new long[] {2}, true), s2 = dxh.mul(xhg).mean(new long[] {2}, true);
        return r.mul(dxh.sub(s1).sub(xhg.mul(s2))).reshape(x.shape()).to(x.dtype());
    }

    // ---- SwiGLU ----

    /** silu(g) * u (LLaMA's MLP gate). Fused for same-dtype CUDA tensors of the same shape. */
    public static Tensor swiglu(Tensor g, Tensor u) {
        if (u.dtype() != g.dtype() || !Arrays.equals(u.shape(), g.shape()) || !u.device().equals(g.device())) return plainSwiglu(g, u);
        long n = g.numel();
        int vec = 16 / g.dtype().byteSize;
        Pair k = pair("swiglu_fwd", "swiglu_bwd", n % vec == 0, g);
        if (k == null) return plainSwiglu(g, u);
        CudaKernel fwd = k.fwd(), bwd = k.bwd();
        List<Tensor> sources = List.of(g.contiguous().detach(), u.contiguous().detach());
        long items = k.vector() ? n / vec : n;
        // {h} from {g, u}: the forward, and again in backward for a down projection's LoRA that saved the sources
        Function<List<Tensor>, Tensor[]> run = src -> {
            Tensor gs = src.get(0), h = Torch.empty(gs.shape(), gs.dtype(), gs.device());
            fwd.launch(gs.device(), new long[] {CudaKernel.blocks(items, THREADS), 1, 1}, new long[] {THREADS, 1, 1}, 0, gs, src.get(1), h, items);
            return new Tensor[] {h};
        };
        Tensor h;
        try (var ng = Autograd.noGrad()) {
            h = run.apply(sources)[0];
        }
        Tensor out = CustomFunction.apply((grads, saved) -> {
            Tensor dh = grads.get(0).contiguous();
            Tensor gs = saved.get(0), us = saved.get(1);
            Tensor dg = Torch.empty(gs.shape(), gs.dtype(), gs.device()), du = Torch.empty(us.shape(), us.dtype(), us.device());
            bwd.launch(gs.device(), new long[] {CudaKernel.blocks(items, THREADS), 1, 1}, new long[] {THREADS, 1, 1}, 0, dh, gs, us, dg, du, items);
            return Arrays.asList(dg, du);
        }, List.of(g, u), List.of(h), sources).get(0);
        return rebuildable(out, h, sources, run);
    }

    /** libtorch's {@code silu(g) * u} (which keeps g and u for backward), rebuildable from them while a gradient is recorded. */
    private static Tensor plainSwiglu(Tensor g, Tensor u) {
        return plainRebuildable(List.of(g, u), in -> in.get(0).silu().mul(in.get(1)));
    }

    /** {dg, du} of {@link #swiglu} written with tensor ops in float32, for tests. */
    public static List<Tensor> swigluBackwardReference(Tensor dh, Tensor g, Tensor u) {
        Tensor gf = g.to(DType.F32), d = dh.to(DType.F32);
        Tensor sig = gf.sigmoid();
        Tensor s = gf.silu().to(g.dtype()).to(DType.F32);
        Tensor du = d.mul(s).to(u.dtype());
        Tensor ds = d.mul(u.to(DType.F32)).to(g.dtype()).to(DType.F32);
        Tensor dg = ds.mul(sig).mul(gf.mul(sig.neg().add(1)).add(1)).to(g.dtype());
        return List.of(dg, du);
    }

    // ---- GEGLU ----

    /**
     * {@code value * gelu(gate)} for p (..., 2F) split into value = p[..., :F] and gate = p[..., F:] (diffusers' GEGLU,
     * exact gelu), fused both ways on CUDA: backward needs only p (the plain path also keeps gelu(gate)) and writes
     * p's gradient in one tensor.
     */
    public static Tensor geglu(Tensor p) {
        Pair k = pair("geglu_fwd", "geglu_bwd", false, p);
        if (k == null || p.size(-1) % 2 != 0) {
            // the product keeps views of p for backward, so p's storage stays anyway
            return plainRebuildable(List.of(p), in -> {
                List<Tensor> vg = in.get(0).chunk(2, -1);
                return vg.get(0).mul(vg.get(1).gelu());
            });
        }
        Tensor pc = p.contiguous().detach();
        long f = p.size(-1) / 2, rows = p.numel() / (2 * f);
        long[] shape = p.shape();
        shape[shape.length - 1] = f;
        // {h} from {p}: the forward, and again in backward for the feed-forward's output LoRA (ff.net.2) that saved p
        Function<List<Tensor>, Tensor[]> run = src -> {
            Tensor ps = src.get(0), h = Torch.empty(shape, ps.dtype(), ps.device());
            k.fwd().launch(ps.device(), new long[] {CudaKernel.blocks(rows * f, THREADS), 1, 1}, new long[] {THREADS, 1, 1}, 0, ps, h, rows, f);
            return new Tensor[] {h};
        };
        Tensor h;
        try (var ng = Autograd.noGrad()) {
            h = run.apply(List.of(pc))[0];
        }
        Tensor out = CustomFunction.apply((grads, saved) -> {
            Tensor dh = grads.get(0).contiguous();
            Tensor ps = saved.get(0);
            Tensor dp = Torch.empty(ps.shape(), ps.dtype(), ps.device());
            k.bwd().launch(ps.device(), new long[] {CudaKernel.blocks(rows * f, THREADS), 1, 1}, new long[] {THREADS, 1, 1}, 0, dh, ps, dp, rows, f);
            return Arrays.asList(dp);
        }, List.of(p), List.of(h), List.of(pc)).get(0);
        return rebuildable(out, h, List.of(pc), run);
    }

    /** dp of {@link #geglu} with tensor ops in float64, for tests. */
    public static Tensor gegluBackwardReference(Tensor dh, Tensor p) {
        List<Tensor> vg = p.to(DType.F64).chunk(2, -1);
        Tensor v = vg.get(0), a = vg.get(1), d = dh.to(DType.F64);
        Tensor cdf = a.mul(0.7071067811865476).erf().add(1).mul(0.5);
        Tensor pdf = a.mul(a).mul(-0.5).exp().mul(0.3989422804014327);
        return Torch.cat(List.of(d.mul(a.gelu()), d.mul(v).mul(cdf.add(a.mul(pdf)))), -1).to(p.dtype());
    }

    // ---- rotary position embedding ----

    /**
     * {@code x * cos + rotate_half(x) * sin} for x (B, H, T, D) and cos/sin (B, T, D) (broadcast over heads),
     * rotate_half(x) = cat(-x2, x1). Fused for same-dtype CUDA tensors whose last dim is contiguous; the
     * result then lies in memory as (B, T, H, D) (the layout of a projection split into heads).
     */
    public static Tensor rope(Tensor x, Tensor cos, Tensor sin) {
        CudaKernel k = usable("rope", x);
        if (k == null || x.dim() != 4 || cos.dim() != 3 || cos.dtype() != x.dtype() || sin.dtype() != x.dtype()
                || x.size(-1) % 2 != 0 || x.strides()[3] != 1 || cos.strides()[2] != 1 || sin.strides()[2] != 1
                || !Arrays.equals(cos.shape(), sin.shape()) || cos.size(1) != x.size(2) || cos.size(2) != x.size(3)
                || (cos.size(0) != x.size(0) && cos.size(0) != 1)) {
            return plainRope(x, cos, sin);
        }
        Tensor cs = cos.detach(), sn = sin.detach();
        Tensor y;
        try (var ng = Autograd.noGrad()) {
            y = launchRope(k, x.detach(), cs, sn, 1);
        }
        return CustomFunction.apply((grads, saved) -> Arrays.asList(launchRope(k, grads.get(0), saved.get(0), saved.get(1), -1)),
                List.of(x), List.of(y), List.of(cs, sn)).get(0);
    }

    private static Tensor launchRope(CudaKernel k, Tensor x, Tensor cos, Tensor sin, int dir) {
        long b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
        Tensor g = x.strides()[3] == 1 ? x : x.contiguous();
        Tensor y = Torch.empty(new long[] {b, t, h, d}, x.dtype(), x.device()).transpose(1, 2);   // (B, H, T, D) view
        long[] xs = g.strides(), ys = y.strides(), cst = cos.strides(), sst = sin.strides();
        long cb = cos.size(0) == 1 ? 0 : cst[0], sb = sin.size(0) == 1 ? 0 : sst[0];
        long half = d / 2;
        int vec = 16 / x.dtype().byteSize;
        boolean vector = half % vec == 0 && xs[0] % vec == 0 && xs[1] % vec == 0 && xs[2] % vec == 0 && cst[1] % vec == 0
                && sst[1] % vec == 0 && (cos.size(0) == 1 || cst[0] % vec == 0) && (sin.size(0) == 1 || sst[0] % vec == 0)
                && usable("rope_v", x) != null;
        if (vector) k = usable("rope_v", x);
        long total = b * h * t * (vector ? half / vec : half);
        k.launch(x.device(), new long[] {CudaKernel.blocks(total, THREADS), 1, 1}, new long[] {THREADS, 1, 1}, 0,
                g, y, cos, sin, b, h, t, half, xs[0], xs[1], xs[2], ys[0], ys[1], ys[2], cb, cst[1], sb, sst[1], dir);
        return y;
    }

    /** The plain composition (transformers' apply_rotary_pos_emb). */
    public static Tensor plainRope(Tensor x, Tensor cos, Tensor sin) {
        Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);               // (B, 1, T, D)
        long half = x.size(-1) / 2;
        Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
        return x.mul(c).add(Torch.cat(List.of(x2.neg(), x1), -1).mul(s));
    }

    /** The backward of {@link #rope} with tensor ops: the transposed rotation of the gradient. */
    public static Tensor ropeBackwardReference(Tensor dy, Tensor cos, Tensor sin) {
        Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
        long half = dy.size(-1) / 2;
        Tensor s1 = s.narrow(-1, 0, half), s2 = s.narrow(-1, half, half);
        Tensor d1 = dy.narrow(-1, 0, half), d2 = dy.narrow(-1, half, half);
        Tensor rot = Torch.cat(List.of(d2.mul(s2), d1.mul(s1).neg()), -1);
        return dy.mul(c).add(rot);
    }
}
