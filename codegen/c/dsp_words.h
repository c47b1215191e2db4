/* Words for the DSP path: four int8 or two int16 values in one 32-bit register.
 *
 * The DSP extension's SIMD instructions (SXTB16, SMLAD, ...) work on a
 * register holding four bytes or two halfwords, so the DSP kernels load
 * their operands a word at a time.  These helpers do it in portable C: the
 * bytes are assembled with shifts (no pointer cast that would break C's
 * aliasing rules, no library call), and GCC and clang both turn each helper
 * into one instruction (LDR, or ROR).
 *
 * Alignment.  The words start wherever the data does: a row of weights or a
 * pixel's channels need not begin at a multiple of four.  The Cortex-M4 and
 * M7 load such unaligned words in one LDR, as long as the firmware leaves
 * CCR.UNALIGN_TRP clear, its reset value.  Firmware that sets it (to catch
 * unaligned accesses as a UsageFault) must compile the kernels with
 * -mno-unaligned-access (GCC and clang): the compiler then assembles each
 * word from single-byte loads, which gives the same bytes in more
 * instructions (docs/codegen.md measures it).
 *
 * Why not __ror from <arm_acle.h>: GCC's arm_acle.h does not declare it; the
 * C rotation below compiles to the same single ROR under both compilers.
 * SXTB16 can rotate its operand itself (SXTB16 rd, rm, ROR #8): clang folds
 * the rotation into it, GCC 12 does not, so tt_odd_bytes (and
 * tt_add_odd_bytes, for SXTAB16) say it in one instruction of inline
 * assembly for GCC: one instruction fewer per four weights or inputs in the
 * DSP path's inner loops.
 *
 * Inlining is forced for GCC only.  At -Os GCC would call these
 * one-instruction helpers instead of inlining them (the 1x1 convolution took
 * 3.8 instructions per multiply-add instead of 3.1); clang inlines them
 * anyway, and forcing it changed its register allocation for the worse
 * (depthwise: 7.1 instead of 5.6).
 */
#ifndef TINYTORCH_DSP_WORDS_H
#define TINYTORCH_DSP_WORDS_H

#include <arm_acle.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
#define TT_WORD_INLINE static inline __attribute__((always_inline))
#else
#define TT_WORD_INLINE static inline
#endif

/* Four bytes as one little-endian word. */
TT_WORD_INLINE uint32_t tt_load_word(const int8_t *bytes) {
    const uint8_t *b = (const uint8_t *)bytes;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16)
           | ((uint32_t)b[3] << 24);
}

/* Two int16 values as one word, the first in the low half. */
TT_WORD_INLINE uint32_t tt_load_pair(const int16_t *halves) {
    return (uint32_t)(uint16_t)halves[0] | ((uint32_t)(uint16_t)halves[1] << 16);
}

TT_WORD_INLINE void tt_store_pair(int16_t *halves, uint32_t pair) {
    halves[0] = (int16_t)(pair & 0xFFFF);
    halves[1] = (int16_t)(pair >> 16);
}

/* The word rotated right by 8 bits: bytes 1 and 3 move to where SXTB16 reads. */
TT_WORD_INLINE uint32_t tt_rotate_right_8(uint32_t word) {
    return (word >> 8) | (word << 24);
}

/* Bytes 1 and 3 of the word, sign-extended to int16: SXTB16 of the word
 * rotated by 8 bits (bytes 0 and 2 are __sxtb16 of the word itself); and
 * the same added to the two halves of `pair` (SXTAB16, bytes 0 and 2 being
 * __sxtab16(pair, word)). */
#if defined(__GNUC__) && !defined(__clang__)
TT_WORD_INLINE int16x2_t tt_odd_bytes(uint32_t word) {
    int16x2_t bytes;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(bytes) : "r"(word));
    return bytes;
}

TT_WORD_INLINE int16x2_t tt_add_odd_bytes(int16x2_t pair, uint32_t word) {
    int16x2_t sum;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(sum) : "r"(pair), "r"(word));
    return sum;
}
#else
TT_WORD_INLINE int16x2_t tt_odd_bytes(uint32_t word) {
    return __sxtb16(tt_rotate_right_8(word));
}

TT_WORD_INLINE int16x2_t tt_add_odd_bytes(int16x2_t pair, uint32_t word) {
    return __sxtab16(pair, tt_rotate_right_8(word));
}
#endif

/* The same int16 value in both halves, e.g. minus the input zero point for SXTAB16. */
TT_WORD_INLINE int16x2_t tt_pair_of(int32_t value) {
    return (int16x2_t)((uint32_t)(uint16_t)value * 0x10001u);
}

/* Int8 values, four at a time, minus the zero point, as int16 pairs in the
 * order SXTB16 unpacks four weights: (x0, x2), then (x1, x3) `step` / 2
 * values later; the next four start `step` values after this four.  SXTAB16
 * widens two bytes and adds the zero point's pair in one instruction. */
TT_WORD_INLINE void tt_widen_fours(const int8_t *values, int32_t fours,
                                   int16x2_t minus_zero_point, int16_t *pairs, int32_t step) {
    for (; fours > 0; --fours) {
        const uint32_t word = tt_load_word(values);
        tt_store_pair(pairs, __sxtab16(minus_zero_point, word));
        tt_store_pair(pairs + step / 2, tt_add_odd_bytes(minus_zero_point, word));
        values += 4;
        pairs += step;
    }
}

#endif
