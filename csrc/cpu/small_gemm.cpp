// Float GEMMs of MLP training at small batches (32x64 @ 64x512 and its gradients, say) on AVX-512
// CPUs, where oneDNN is not installed: a 12-row x 32-column register tile over B packed 32
// columns at a time (a transposed B, as in an input gradient, through 16x16 transposes in
// registers). OpenBLAS packs and blocks for big tiles: it took 18-19 us for those 1M
// multiply-adds on one core, this 13.4-14.5 us, oneDNN's JIT sgemm 11.5-13 us (python -m
// benchmarks.gemm_crossovers, table 3; the range it serves is in kernels.h).
//
// Each element of C is the FMA chain over k = 0, 1, ... from zero, whatever block of rows or
// columns a thread is given and whichever tile (a full one, an edge one, masked lanes) holds it,
// so 1 and 2 threads, eager calls and jit replays give the same bits; explicit FMAs round alike
// on every AVX-512 CPU.
#include <algorithm>
#include <vector>

#include "dl_math.h"
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DL_SMALL_GEMM 1
#define DL_AVX512 __attribute__((target("avx512f")))
#endif

namespace deeplite::cpu {

namespace {

Index min_macs = kSmallGemmMinMacs, max_macs = kSmallGemmMaxMacs;

#ifdef DL_SMALL_GEMM
constexpr int kTileRows = 12;  // 12 rows x 2 vectors: 24 accumulators, 2 B vectors, 1 broadcast
constexpr Index kPanel = 32;   // columns of B packed at once (2 vectors of 16 floats)

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

// What a tile applies as it stores: + bias[column] (bias null: none), then relu, computed as
// BiasAct computes them (x + b, then x > 0 ? x : 0), so fused and separate give the same bits.
struct Epilogue {
  const float* bias;  // of the panel's first column
  bool relu;
};

// c[R x 16Q] (row stride ldc) = epilogue(a[R x k] @ panel[k x 16Q]); the last vector's lanes
// past `last` are neither read (the panel is zero there) nor stored.
template <int R, int Q>
DL_AVX512 void Tile(const float* a, Index a_row, Index a_col, const float* panel, float* c,
                    Index ldc, Index k, __mmask16 last, const Epilogue& epilogue) {
  __m512 acc[R][Q];
  for (int r = 0; r < R; ++r) {
    for (int q = 0; q < Q; ++q) acc[r][q] = _mm512_setzero_ps();
  }
  for (Index kk = 0; kk < k; ++kk) {
    __m512 b[Q];
    for (int q = 0; q < Q; ++q) b[q] = _mm512_loadu_ps(panel + (kk * Q + q) * 16);
    for (int r = 0; r < R; ++r) {
      const __m512 s = _mm512_set1_ps(a[r * a_row + kk * a_col]);
      for (int q = 0; q < Q; ++q) acc[r][q] = _mm512_fmadd_ps(s, b[q], acc[r][q]);
    }
  }
  if (epilogue.bias != nullptr) {
    for (int q = 0; q < Q; ++q) {
      const __m512 bias = _mm512_maskz_loadu_ps(q + 1 < Q ? __mmask16(0xFFFF) : last,
                                                epilogue.bias + q * 16);
      for (int r = 0; r < R; ++r) acc[r][q] = _mm512_add_ps(acc[r][q], bias);
    }
  }
  if (epilogue.relu) {  // x > 0 ? x : 0, lane by lane (an ordered compare: NaN gives 0)
    for (int r = 0; r < R; ++r) {
      for (int q = 0; q < Q; ++q) {
        const __mmask16 positive =
            _mm512_cmp_ps_mask(acc[r][q], _mm512_setzero_ps(), _CMP_GT_OQ);
        acc[r][q] = _mm512_maskz_mov_ps(positive, acc[r][q]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int q = 0; q + 1 < Q; ++q) _mm512_storeu_ps(c + r * ldc + q * 16, acc[r][q]);
    _mm512_mask_storeu_ps(c + r * ldc + (Q - 1) * 16, last, acc[r][Q - 1]);
  }
}

// Rows [0, m) of one panel: full tiles, then one tile of the rows left.
template <int Q>
DL_AVX512 void Panel(const float* a, Index a_row, Index a_col, const float* panel, float* c,
                     Index ldc, Index m, Index k, __mmask16 last, const Epilogue& epilogue) {
  Index i = 0;
  for (; i + kTileRows <= m; i += kTileRows) {
    Tile<kTileRows, Q>(a + i * a_row, a_row, a_col, panel, c + i * ldc, ldc, k, last, epilogue);
  }
  const float* ai = a + i * a_row;
  float* ci = c + i * ldc;
  switch (m - i) {
#define DL_EDGE_TILE(rows) \
    case rows: Tile<rows, Q>(ai, a_row, a_col, panel, ci, ldc, k, last, epilogue); break;
    DL_EDGE_TILE(1) DL_EDGE_TILE(2) DL_EDGE_TILE(3) DL_EDGE_TILE(4) DL_EDGE_TILE(5)
    DL_EDGE_TILE(6) DL_EDGE_TILE(7) DL_EDGE_TILE(8) DL_EDGE_TILE(9) DL_EDGE_TILE(10)
    DL_EDGE_TILE(11)
#undef DL_EDGE_TILE
    default: break;
  }
}

inline __mmask16 Lanes(Index count) {
  return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1);
}

// Packs columns [j, j + width) of B (rows of stride ldb; width <= kPanel) as k rows of Q
// vectors, zero past width: B's own rows lie 4 * ldb bytes apart, which for ldb = 512 maps a
// panel onto 8 of L1's 64 sets, and its loads then miss.
DL_AVX512 void Pack(const float* b, Index ldb, Index k, Index width, int q_count, float* panel) {
  for (Index kk = 0; kk < k; ++kk) {
    for (int q = 0; q < q_count; ++q) {
      const __m512 row = _mm512_maskz_loadu_ps(Lanes(width - q * 16), b + kk * ldb + q * 16);
      _mm512_storeu_ps(panel + (kk * q_count + q) * 16, row);
    }
  }
}

// GCC 12's unpack and shuffle intrinsics merge into an undefined vector, which it then warns is
// maybe used uninitialized; no lane of it is.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// r[0..15] (16 rows of 16) transposed in place: unpacks of 32- and 64-bit pairs, then two
// rounds of 128-bit lane shuffles.
DL_AVX512 void Transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    for (int half = 0; half < 2; ++half) {
      const __m512d x = _mm512_castps_pd(t[4 * i + half]);
      const __m512d y = _mm512_castps_pd(t[4 * i + half + 2]);
      r[4 * i + 2 * half] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, y));
      r[4 * i + 2 * half + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, y));
    }
  }
  for (int i = 0; i < 2; ++i) {
    for (int c = 0; c < 4; ++c) {
      t[8 * i + c] = _mm512_shuffle_f32x4(r[8 * i + c], r[8 * i + 4 + c], 0x88);
      t[8 * i + 4 + c] = _mm512_shuffle_f32x4(r[8 * i + c], r[8 * i + 4 + c], 0xDD);
    }
  }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
  }
}
#pragma GCC diagnostic pop

// Pack's panel from a transposed B (column j of B is row j of the array, stride ld): 16x16
// blocks, each loaded as 16 rows and transposed in registers.
DL_AVX512 void PackTransposed(const float* b, Index ld, Index k, Index width, int q_count,
                              float* panel) {
  for (Index kk0 = 0; kk0 < k; kk0 += 16) {
    const Index depth = std::min<Index>(16, k - kk0);
    for (int q = 0; q < q_count; ++q) {
      const Index columns = std::min<Index>(16, width - q * 16);
      __m512 r[16];
      for (int t = 0; t < 16; ++t) {
        r[t] = t < columns ? _mm512_maskz_loadu_ps(Lanes(depth), b + (q * 16 + t) * ld + kk0)
                           : _mm512_setzero_ps();
      }
      Transpose16(r);
      for (Index u = 0; u < depth; ++u) {
        _mm512_storeu_ps(panel + ((kk0 + u) * q_count + q) * 16, r[u]);
      }
    }
  }
}

DL_AVX512 void Run(const Matrix<float>& a, const Matrix<float>& b, float* c, Index m, Index n,
                   Index ldc, const float* bias, bool relu) {
  const Index k = a.cols;
  const Index a_row = a.trans ? 1 : a.ld, a_col = a.trans ? a.ld : 1;
  static thread_local std::vector<float> panel;  // k <= kSmallGemmMaxDepth: 512 KB at most
  panel.resize(std::max<Index>(k, 1) * kPanel);
  for (Index j = 0; j < n; j += kPanel) {
    const Index width = std::min(kPanel, n - j);
    const int q_count = width > 16 ? 2 : 1;
    if (b.trans) {
      PackTransposed(b.data + j * b.ld, b.ld, k, width, q_count, panel.data());
    } else {
      Pack(b.data + j, b.ld, k, width, q_count, panel.data());
    }
    const __mmask16 last = Lanes(width - (q_count - 1) * 16);
    const Epilogue epilogue{bias != nullptr ? bias + j : nullptr, relu};
    if (q_count == 2) {
      Panel<2>(a.data, a_row, a_col, panel.data(), c + j, ldc, m, k, last, epilogue);
    } else {
      Panel<1>(a.data, a_row, a_col, panel.data(), c + j, ldc, m, k, last, epilogue);
    }
  }
}
#endif

}  // namespace

void SetSmallGemm(Index least, Index most) {
  min_macs = least;
  max_macs = most;
}

bool SmallGemmAvailable() {
#ifdef DL_SMALL_GEMM
  return HasAvx512();
#else
  return false;
#endif
}

bool SmallGemmServes(Index m, Index n, Index k, bool b_trans) {
  const Index macs = m * n * k;
  const Index least = b_trans ? std::min(min_macs, kSmallGemmTransposedMinMacs) : min_macs;
  return n >= kSmallGemmMinColumns && k <= kSmallGemmMaxDepth && macs >= least &&
         macs <= max_macs && SmallGemmAvailable();
}

bool SmallGemm(const Matrix<float>& a, const Matrix<float>& b, float* c, Index m, Index n,
               Index ldc, const float* bias, int act) {
  const bool fused = act == dlmath::kIdentity || act == dlmath::kRelu;
#ifdef DL_SMALL_GEMM
  Run(a, b, c, m, n, ldc, fused ? bias : nullptr, act == dlmath::kRelu);
#else
  (void)a, (void)b, (void)c, (void)m, (void)n, (void)ldc, (void)bias;
#endif
  return fused;
}

}  // namespace deeplite::cpu
