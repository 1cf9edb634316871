// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011; the Random123 library), the counter-based generator PyTorch uses on CUDA, and the
// dropout decision built on it. One definition for the C++ kernels (csrc/cpu/random.cpp) and the
// CUDA kernel (deeplite/kernels/random.cu); deeplite/backends/philox.py is the NumPy twin, and
// tests/test_dropout_rng.py checks all of them against Random123's known-answer vectors and
// each other, bit for bit.
//
// Counter-based: draw number d of a stream is a pure function of (key, d), so a kernel can make
// any slice of the stream in any order and on any number of threads, and a replayed training
// step reproduces a mask from two integers (the seed and the stream offset) instead of a
// generator's whole state.
//
// The dropout stream (deeplite/dropout_stream.py's seed and offset): element i of a mask drawn at
// offset `offset` (a multiple of 4) takes 32-bit word i % 4 of Philox block offset / 4 + i / 4,
// whose counter is (block low word, block high word, 0, 0) and key (seed low word, seed high word).
// It is kept when that word is >= the threshold floor(p * 2^32), so the keep probability is 1 - p
// to within 2^-32 and every backend and dtype decides identically.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DL_PHILOX_HD __host__ __device__ __forceinline__
#else
#define DL_PHILOX_HD inline
#endif

namespace dlphilox {

// 32-bit unsigned words (NVRTC has no <cstdint>; unsigned int is 32 bits on every target).
typedef unsigned int Word;
typedef unsigned long long Wide;

// The round multipliers and the Weyl key increments (golden ratio and sqrt(3) - 1), as Random123.
constexpr Word kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
constexpr Word kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
constexpr int kRounds = 10;

struct Block {
  Word w[4];
};

// Philox4x32 with 10 rounds: a bijection of the 128-bit counter under the 64-bit key.
DL_PHILOX_HD Block Philox4x32(Block counter, Word key0, Word key1) {
  Word c0 = counter.w[0], c1 = counter.w[1], c2 = counter.w[2], c3 = counter.w[3];
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) {  // the key schedule: a Weyl sequence, bumped before every round but the first
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    const Wide product0 = Wide(kMultiplier0) * c0, product1 = Wide(kMultiplier1) * c2;
    const Word hi0 = Word(product0 >> 32), lo0 = Word(product0);
    const Word hi1 = Word(product1 >> 32), lo1 = Word(product1);
    c0 = hi1 ^ c1 ^ key0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ key1;
    c3 = lo0;
  }
  return Block{{c0, c1, c2, c3}};
}

// The four words of block `index` of the dropout stream under `seed` (see the top of this file).
DL_PHILOX_HD Block StreamBlock(Wide index, Wide seed) {
  return Philox4x32(Block{{Word(index), Word(index >> 32), 0u, 0u}}, Word(seed), Word(seed >> 32));
}

// The keep threshold of dropout probability p in [0, 1): a word >= it is kept.
DL_PHILOX_HD Word KeepThreshold(double p) {
  // p * 2^32 is exact (a power-of-two scaling) and below 2^32 for p < 1: the cast truncates.
  return Word(p * 4294967296.0);
}

}  // namespace dlphilox
