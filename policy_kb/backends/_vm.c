/* policy_kb.backends._vm — the column back-end's machine: a program over chunks of rows.
 *
 * The rule tree is compiled in Python (policy_kb/backends/program.py) into a flat list of
 * instructions over registers. Each register holds one value for each row of a chunk of CHUNK
 * rows: a double (D) or a byte 0/1 (B). This file knows nothing of the policy: it runs the
 * instructions, chunk after chunk, with Python's lock released. Every register of a chunk stays
 * in the processor's cache, so a rule costs a few machine instructions per row instead of a
 * pass over memory per operation, and the loops are written so that the compiler turns them
 * into vector instructions (one copy of the hot function per processor generation).
 *
 * Exactness. Numbers are doubles: every whole number below 2**53 is one. Where doubles may not
 * decide — a ratio within a rounding error of a tier, an amount within its rounding error of a
 * half fen — the row is decided again in exact integers (128 bits): a ratio of whole numbers
 * directly, an amount by its formula's exact program (X code, run for that row alone). A row
 * that even these cannot decide (a number that is not whole) is marked undecided, and the
 * per-profile engine answers it in exact decimals.
 *
 * Entry points:
 *   run(init, body, xcode, sizes, dconst, xconst, dtab, xtab, inputs, outputs, n[, bounds[, checks]])
 *       the program over n rows; with `checks`, the number cells are checked window by window
 *       (WINDOW rows) just before they are evaluated, while they are in cache;
 *   check(inputs, specs, pairs, n, invalid[, bounds])   the same checks on their own;
 *   counts(codes, valid), fen_total(amounts, mask)      the roster summary's totals;
 *   csv_rows(data), csv(data, rows, kinds, yes, no, buffers)   CSV rows of the plain shape;
 *   tiny(data)                                          a number too small for a double?
 * `inputs` are the batch's columns as (kind, values, validity, offset): Arrow buffers read in
 * place (int64, int32, float64, bit-packed booleans, validity bitmaps) or numpy arrays; a batch
 * read in parts (`bounds`: each part's first row, then n) gives one such tuple per part. Every
 * buffer is checked to hold its rows before anything is read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256
#define WIDTH 10   /* int32 words per instruction: the code and up to nine operands */
#define XREGS 256  /* the most registers an exact program may use */
#define WINDOW 8192 /* rows checked, then evaluated, at a time (a multiple of CHUNK) */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HOT __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define HOT
#endif
/* the loops a hot function calls are compiled into each of its copies */
#define INLINE static inline __attribute__((always_inline))

typedef __int128 i128;

/* value types of an input (low 4 bits) and how its gaps are marked (bits 4-5) */
enum { T_F64 = 1, T_I64 = 2, T_I32 = 3, T_BITS = 4, T_BYTES = 5 };
enum { V_NONE = 0, V_BITS = 1, V_BYTES = 2 };

/* The operation codes; program.py holds the same table (Op, ROLES) with each operand's role. */
enum {
    OP_FILL_D = 1, /* D[a] = dconst[b]                     (init) */
    OP_FILL_B,     /* B[a] = b                              (init) */
    OP_LOAD_D,     /* D[a] = input b as a number */
    OP_LOAD_K,     /* B[a] = input b is given */
    OP_LOAD_B,     /* B[a] = input b's yes/no value */
    OP_ADD,        /* D[a] = D[b] + D[c] */
    OP_SUB,        /* D[a] = D[b] - D[c] */
    OP_MUL,        /* D[a] = D[b] * D[c] */
    OP_MUL0,       /* D[a] = D[b] * D[c], NaN (0 × ∞) read as 0 */
    OP_NEG,        /* D[a] = -D[b] */
    OP_ABS,        /* D[a] = |D[b]| */
    OP_MAX,        /* D[a] = max(D[b], D[c]), NaN if either is */
    OP_MIN,        /* D[a] = min(D[b], D[c]), NaN if either is */
    OP_SEL,        /* D[a] = B[b] ? D[c] : D[d] */
    OP_LT,         /* B[a] = D[b] < D[c] */
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ,
    OP_NE,
    OP_AND,        /* B[a] = B[b] & B[c] */
    OP_OR,         /* B[a] = B[b] | B[c] */
    OP_ANDNOT,     /* B[a] = B[b] & !B[c] */
    OP_NOT,        /* B[a] = !B[b] */
    OP_ZERO_B,     /* B[a] = 0 */
    OP_TIERS,      /* D[a] = points of D[b] in score table dtab[c] */
    OP_RATIO,      /* D[a] = points of D[b] / D[c] (as %) in dtab[d], exactly by xtab[e]; B[f] |= undecided */
    OP_STATUS,     /* out[a] int8 = 2 - 2·B[b] - B[c] (0 applies, 1 does not, 2 undetermined) */
    OP_QUALIFIES,  /* out[a] int8 = B[b] - !(B[b] | B[c]) (1, 0, -1) */
    OP_ROUTE,      /* out[a] int8 = B[b] · (2 - B[c]) (1 direct, 2 by score, 0 neither) */
    OP_STORE_I16,  /* out[a] int16 = D[b] */
    OP_STORE_B,    /* out[a] uint8 = B[b] */
    OP_AMOUNT,     /* D[a] = B[c] ? the amount D[d] (a range up to D[e] is none, NaN) : D[b];
                      D[f] bounds its magnitude, xtab[g] says its exact program, dconst[h] is the
                      rounding bound; B[i] |= undecided */
    OP_STORE_D,    /* out[a] f64 = D[b] */
    /* the exact program of an amount, run for one row (registers are 128-bit integers) */
    OX_LOAD = 64,  /* X[a] = D[b] (B[c] given, unless c < 0): fails unless a whole number < 2**53 */
    OX_CONST,      /* X[a] = xconst[b] */
    OX_SCALE,      /* X[a] = X[b] * 10**c */
    OX_ADD,        /* X[a] = X[b] + X[c] */
    OX_SUB,
    OX_MUL,
    OX_NEG,        /* X[a] = -X[b] */
    OX_MAX,        /* X[a] = max(X[b], X[c]) */
    OX_MIN,
};

typedef struct {
    int type, gaps;
    const char *values;
    const uint8_t *valid;
    Py_ssize_t offset;
    Py_ssize_t values_len, valid_len; /* bytes, to check a part's rows lie within them */
} Input;

static const double TWO53 = 9007199254740992.0;
static i128 POW10[39];
static uint8_t SPREAD[256][8]; /* a byte of a bitmap as eight bytes 0/1 */

static inline int bit_at(const uint8_t *bits, Py_ssize_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

/* bits [first, first + m) of an Arrow bitmap as bytes 0/1 */
INLINE void unpack(uint8_t *restrict out, const uint8_t *restrict bits, Py_ssize_t first, int m) {
    int i = 0;
    if ((first & 7) == 0) {
        const uint8_t *src = bits + (first >> 3);
        for (; i + 8 <= m; i += 8) memcpy(out + i, SPREAD[src[i >> 3]], 8);
    }
    for (; i < m; i++) out[i] = (uint8_t)bit_at(bits, first + i);
}

/* A whole number below 2**53 (every such number is a double, and so is its product by 100).
 * Tested by a round trip through int64 rather than floor(), which is a library call on
 * processors without SSE4.1 and would stop the loops around it from being vectorised. */
static inline int is_whole(double v) {
    int small = fabs(v) < TWO53;
    int64_t t = small ? (int64_t)v : 0;
    return small & ((double)t == v);
}

/* A whole number of any size: every finite double from 2**53 on is one */
static inline int is_integral(double v) {
    double a = fabs(v);
    return ((a >= TWO53) & (a <= DBL_MAX)) | is_whole(v);
}

/* x · y exactly, with overflow reported: a product of two numbers that fit in 64 bits is one
 * machine multiplication (it cannot overflow 128 bits); a larger one is checked in full. */
static inline int mul_x(i128 x, i128 y, i128 *out) {
    if (x == (int64_t)x && y == (int64_t)y) {
        *out = (i128)(int64_t)x * (int64_t)y;
        return 0;
    }
    return __builtin_mul_overflow(x, y, out);
}

/* ── loading a chunk of an input ─────────────────────────────────────────────────────────── */

/* int64 → double for |x| < 2**51 by adding the exponent's bits (vector integer operations);
 * a chunk holding a larger number is converted again one number at a time */
INLINE void int64_to_double(double *restrict out, const int64_t *restrict src, int m) {
    const int64_t shift = (int64_t)1 << 51;
    const uint64_t bits = 0x4330000000000000ULL; /* the double 2**52 */
    const double bias = 6755399441055744.0;      /* 2**52 + 2**51 */
    uint64_t outside = 0;
    for (int i = 0; i < m; i++) {
        uint64_t u = (uint64_t)src[i] + (uint64_t)shift;
        outside |= u >> 52;
        union { uint64_t u; double d; } v = {u | bits};
        out[i] = v.d - bias;
    }
    if (outside)
        for (int i = 0; i < m; i++) out[i] = (double)src[i];
}

INLINE void load_number(double *restrict out, const Input *in, Py_ssize_t start, int m) {
    Py_ssize_t at = in->offset + start;
    switch (in->type) {
    case T_F64: memcpy(out, (const double *)in->values + at, (size_t)m * sizeof(double)); break;
    case T_I64: int64_to_double(out, (const int64_t *)in->values + at, m); break;
    case T_I32: {
        const int32_t *src = (const int32_t *)in->values + at;
        for (int i = 0; i < m; i++) out[i] = (double)src[i];
        break;
    }
    case T_BITS: {
        uint8_t tmp[CHUNK];
        unpack(tmp, (const uint8_t *)in->values, at, m);
        for (int i = 0; i < m; i++) out[i] = tmp[i];
        break;
    }
    default: {
        const uint8_t *src = (const uint8_t *)in->values + at;
        for (int i = 0; i < m; i++) out[i] = src[i] != 0;
    }
    }
}

INLINE void load_given(uint8_t *restrict out, const Input *in, Py_ssize_t start, int m) {
    Py_ssize_t at = in->offset + start;
    if (in->gaps == V_NONE || in->valid == NULL) {
        memset(out, 1, (size_t)m);
    } else if (in->gaps == V_BITS) {
        unpack(out, in->valid, at, m);
    } else {
        const uint8_t *src = in->valid + at;
        for (int i = 0; i < m; i++) out[i] = src[i] != 0;
    }
}

INLINE void load_flag(uint8_t *restrict out, const Input *in, Py_ssize_t start, int m) {
    Py_ssize_t at = in->offset + start;
    if (in->type == T_BITS) {
        unpack(out, (const uint8_t *)in->values, at, m);
    } else if (in->type == T_BYTES) {
        const uint8_t *src = (const uint8_t *)in->values + at;
        for (int i = 0; i < m; i++) out[i] = src[i] != 0;
    } else {
        double tmp[CHUNK];
        load_number(tmp, in, start, m);
        for (int i = 0; i < m; i++) out[i] = tmp[i] != 0;
    }
}

/* ── scores ───────────────────────────────────────────────────────────────────────────────── */

/* A score table in dtab: [k, at_1 … at_k (ascending), points_0 … points_k]; points_j for a
 * value that reaches j tiers (at_least inclusive). */
INLINE void tiers(double *restrict out, const double *restrict x, const double *tab, int m) {
    int k = (int)tab[0];
    const double *at = tab + 1, *points = tab + 1 + k;
    /* tiers ascend, so the tiers a value reaches are the first ones: the points of the last
     * tier reached are the answer (one vector select per tier, no table look-up per row) */
    for (int i = 0; i < m; i++) out[i] = points[0];
    for (int j = 0; j < k; j++) {
        double t = at[j], p = points[j + 1];
        for (int i = 0; i < m; i++) out[i] = x[i] >= t ? p : out[i];
    }
}

/* Points of num / den as a percentage: num·100 ≥ at·den for each tier. In doubles first; a row
 * where the two sides of a tier are too close for doubles to tell is decided again: in 128-bit
 * integers where both numbers are whole (at_j = A_j / 10**s, xtab: [k, s, A_1 … A_k]), else it
 * is marked undecided. A ratio of nothing (den ≤ 0) reaches no tier. */
INLINE void ratio(double *restrict out, const double *restrict num, const double *restrict den,
                  const double *tab, const int64_t *xtab, uint8_t *restrict undecided, int m) {
    int k = (int)tab[0];
    const double *at = tab + 1, *points = tab + 1 + k;
    /* with den > 0 the tiers reached are the first ones (they ascend): the points of the last
     * one reached, by one vector select per tier; den ≤ 0 (or NaN) reaches none */
    uint8_t close[CHUNK];
    memset(close, 0, (size_t)m);
    for (int i = 0; i < m; i++) out[i] = points[0];
    for (int j = 0; j < k; j++) {
        double t = at[j], p = points[j + 1];
        for (int i = 0; i < m; i++) {
            double lhs = num[i] * 100, rhs = den[i] * t;
            int counts = den[i] > 0;
            out[i] = (counts & (lhs >= rhs)) ? p : out[i];
            close[i] |= counts & isfinite(lhs) & isfinite(rhs) & (fabs(lhs - rhs) <= 1e-9 * fabs(rhs));
        }
    }
    int any = 0;
    for (int i = 0; i < m; i++) any |= close[i];
    if (any) {
        int s = (int)xtab[1];
        const int64_t *A = xtab + 2;
        for (int i = 0; i < m; i++) {
            if (!close[i]) continue;
            double nu = num[i], de = den[i];
            if (s >= 0 && is_whole(nu) && is_whole(de)) {
                i128 lhs = (i128)(int64_t)nu * (int64_t)(POW10[s] * 100), d = (i128)(int64_t)de;
                int r = 0;
                for (int j = 0; j < k; j++) r += lhs >= (i128)A[j] * d;
                out[i] = points[r];
            } else {
                undecided[i] = 1;
            }
        }
    }
}

/* ── amounts ──────────────────────────────────────────────────────────────────────────────── */

typedef struct {
    const double *D;
    const uint8_t *B;
    const int64_t *xconst;
} Row;

/* An amount's exact program for row i: whole multiples of 10**-exp in 128-bit integers.
 * Returns 0 when a fact it reads is not a given whole number, or a value overflows. */
static int exact(const int32_t *code, int count, int root, const double *D, const uint8_t *B,
                 const int64_t *xconst, int i, i128 *value) {
    i128 X[XREGS];
    for (int p = 0; p < count; p++) {
        const int32_t *ins = code + p * WIDTH;
        int a = ins[1], b = ins[2], c = ins[3];
        switch (ins[0]) {
        case OX_LOAD: {
            double v = D[(size_t)b * CHUNK + i];
            if ((c >= 0 && !B[(size_t)c * CHUNK + i]) || !is_whole(v)) return 0;
            X[a] = (i128)(int64_t)v;
            break;
        }
        case OX_CONST: X[a] = xconst[b]; break;
        case OX_SCALE:
            if (mul_x(X[b], POW10[c], &X[a])) return 0;
            break;
        case OX_ADD:
            if (__builtin_add_overflow(X[b], X[c], &X[a])) return 0;
            break;
        case OX_SUB:
            if (__builtin_sub_overflow(X[b], X[c], &X[a])) return 0;
            break;
        case OX_MUL:
            if (mul_x(X[b], X[c], &X[a])) return 0;
            break;
        case OX_NEG: X[a] = -X[b]; break;
        case OX_MAX: X[a] = X[b] > X[c] ? X[b] : X[c]; break;
        case OX_MIN: X[a] = X[b] < X[c] ? X[b] : X[c]; break;
        default: return 0;
        }
    }
    *value = X[root];
    return 1;
}

static void amount_exact(double *out, const uint8_t *near, const int64_t *meta, uint8_t *undecided,
                         const double *D, const uint8_t *B, const int32_t *xcode,
                         const int64_t *xconst, int m);

/* The amount of each selected row, in yuan rounded to the fen, half away from zero.
 *
 * The double `a` carries a rounding error of at most `gamma · mag` (mag: the formula evaluated
 * on the numbers' magnitudes, every − read as +; gamma: the number of operations and constants
 * times 2**-53). Where that error, or the rounding of ×100 and +½, could put a·100 on the other
 * side of a half fen, the exact program decides; a row it cannot compute is marked undecided.
 * A range of values (a ≠ the top of its range) is no amount: NaN. */
INLINE void amount(double *restrict out, const double *before, const uint8_t *sel,
                   const double *lo, const double *hi, const double *mag, const int64_t *meta,
                   double gamma, uint8_t *undecided, const double *D, const uint8_t *B,
                   const int32_t *xcode, const int64_t *xconst, int m) {
    uint8_t near[CHUNK];
    int any = 0;
    for (int i = 0; i < m; i++) {
        double a = lo[i];
        int point = a == hi[i];
        double y = fabs(a) * 100;
        double tolerance = gamma * mag[i] * 100 + y * 0x1p-50 + 1e-9;
        double yy = y + 0.5;
        double f = floor(yy);
        double frac = yy - f;
        int close = !((frac > tolerance) & (1.0 - frac > tolerance)); /* NaN: close */
        double value = copysign(f, a) / 100;
        value = point ? value : NAN;
        out[i] = sel[i] ? value : before[i];
        near[i] = (uint8_t)(sel[i] & point & close);
        any |= near[i];
    }
    if (any) amount_exact(out, near, meta, undecided, D, B, xcode, xconst, m);
}

/* The rows of a chunk whose amount only the exact program can round (see amount). */
static void amount_exact(double *out, const uint8_t *near, const int64_t *meta, uint8_t *undecided,
                         const double *D, const uint8_t *B, const int32_t *xcode,
                         const int64_t *xconst, int m) {
    int start = (int)meta[0], count = (int)meta[1], root = (int)meta[2], exp = (int)meta[3];
    for (int i = 0; i < m; i++) {
        if (!near[i]) continue;
        i128 v, fen;
        if (count < 0 || exp < 0 || exp > 38 || !exact(xcode + (size_t)start * WIDTH, count, root, D, B, xconst, i, &v)) {
            undecided[i] = 1;
            continue;
        }
        int negative = v < 0;
        i128 mag_v = negative ? -v : v;
        if (exp <= 2) {
            if (mul_x(mag_v, POW10[2 - exp], &fen)) {
                undecided[i] = 1;
                continue;
            }
        } else {
            i128 step = POW10[exp - 2];
            fen = (mag_v + step / 2) / step;
        }
        if (fen >= (i128)1 << 53) { /* not a double to the fen: the exact engine says it */
            undecided[i] = 1;
            continue;
        }
        double f = (double)(int64_t)fen;
        out[i] = (negative ? -f : f) / 100;
    }
}

/* ── the machine ──────────────────────────────────────────────────────────────────────────── */

typedef struct {
    double *D;
    uint8_t *B;
    const double *dconst, *dtab;
    const int64_t *xconst, *xtab;
    const int32_t *xcode;
    const Input *inputs;
    char **outputs;
} Machine;

#define DR(r) (M->D + (size_t)(r) * CHUNK)
#define BR(r) (M->B + (size_t)(r) * CHUNK)

static inline double nan_max(double a, double b) {
    double r = a > b ? a : b;
    return (a != a || b != b) ? NAN : r;
}
static inline double nan_min(double a, double b) {
    double r = a < b ? a : b;
    return (a != a || b != b) ? NAN : r;
}

/* Run `code` over m rows: the inputs' rows from `start` (within the current part), the
 * outputs' rows from `at`. */
HOT static void execute(const Machine *M, const int32_t *code, Py_ssize_t count, Py_ssize_t start,
                        Py_ssize_t at, int m) {
    for (Py_ssize_t p = 0; p < count; p++) {
        const int32_t *ins = code + p * WIDTH;
        int a = ins[1], b = ins[2], c = ins[3], d = ins[4];
        switch (ins[0]) {
        case OP_FILL_D: {
            double *o = DR(a);
            for (int i = 0; i < CHUNK; i++) o[i] = M->dconst[b];
            break;
        }
        case OP_FILL_B: memset(BR(a), b != 0, CHUNK); break;
        case OP_LOAD_D: load_number(DR(a), &M->inputs[b], start, m); break;
        case OP_LOAD_K: load_given(BR(a), &M->inputs[b], start, m); break;
        case OP_LOAD_B: load_flag(BR(a), &M->inputs[b], start, m); break;
/* An elementwise operation may write the register it reads (program.py allocates so): its
 * output pointer is not `restrict`; the compiler checks the overlap once per loop. */
#define BINARY_D(EXPR)                                                                          \
    {                                                                                           \
        double *o = DR(a);                                                                      \
        const double *x = DR(b), *y = DR(c);                                                    \
        for (int i = 0; i < m; i++) o[i] = EXPR;                                                \
        break;                                                                                  \
    }
        case OP_ADD: BINARY_D(x[i] + y[i])
        case OP_SUB: BINARY_D(x[i] - y[i])
        case OP_MUL: BINARY_D(x[i] * y[i])
        case OP_MAX: BINARY_D(nan_max(x[i], y[i]))
        case OP_MIN: BINARY_D(nan_min(x[i], y[i]))
        case OP_MUL0: {
            double *o = DR(a);
            const double *x = DR(b), *y = DR(c);
            for (int i = 0; i < m; i++) {
                double v = x[i] * y[i];
                o[i] = v != v ? 0.0 : v;
            }
            break;
        }
        case OP_NEG: {
            double *o = DR(a);
            const double *x = DR(b);
            for (int i = 0; i < m; i++) o[i] = -x[i];
            break;
        }
        case OP_ABS: {
            double *o = DR(a);
            const double *x = DR(b);
            for (int i = 0; i < m; i++) o[i] = fabs(x[i]);
            break;
        }
        case OP_SEL: {
            double *o = DR(a);
            const uint8_t *w = BR(b);
            const double *x = DR(c), *y = DR(d);
            for (int i = 0; i < m; i++) o[i] = w[i] ? x[i] : y[i];
            break;
        }
#define COMPARE(OPR)                                                                            \
    {                                                                                           \
        uint8_t *restrict o = BR(a);                                                            \
        const double *x = DR(b), *y = DR(c);                                                    \
        for (int i = 0; i < m; i++) o[i] = x[i] OPR y[i];                                       \
        break;                                                                                  \
    }
        case OP_LT: COMPARE(<)
        case OP_LE: COMPARE(<=)
        case OP_GT: COMPARE(>)
        case OP_GE: COMPARE(>=)
        case OP_EQ: COMPARE(==)
        case OP_NE: COMPARE(!=)
#define BINARY_B(EXPR)                                                                          \
    {                                                                                           \
        uint8_t *o = BR(a);                                                                     \
        const uint8_t *x = BR(b), *y = BR(c);                                                   \
        for (int i = 0; i < m; i++) o[i] = EXPR;                                                \
        break;                                                                                  \
    }
        case OP_AND: BINARY_B(x[i] & y[i])
        case OP_OR: BINARY_B(x[i] | y[i])
        case OP_ANDNOT: BINARY_B(x[i] & (y[i] ^ 1))
        case OP_NOT: {
            uint8_t *o = BR(a);
            const uint8_t *x = BR(b);
            for (int i = 0; i < m; i++) o[i] = x[i] ^ 1;
            break;
        }
        case OP_ZERO_B: memset(BR(a), 0, CHUNK); break;
        case OP_TIERS: tiers(DR(a), DR(b), M->dtab + c, m); break;
        case OP_RATIO: ratio(DR(a), DR(b), DR(c), M->dtab + d, M->xtab + ins[5], BR(ins[6]), m); break;
        case OP_STATUS: {
            int8_t *o = (int8_t *)M->outputs[a] + at;
            const uint8_t *t = BR(b), *f = BR(c);
            for (int i = 0; i < m; i++) o[i] = (int8_t)(2 - 2 * t[i] - (f[i] & (t[i] ^ 1)));
            break;
        }
        case OP_QUALIFIES: {
            int8_t *o = (int8_t *)M->outputs[a] + at;
            const uint8_t *t = BR(b), *f = BR(c);
            for (int i = 0; i < m; i++) o[i] = (int8_t)(t[i] - ((t[i] | f[i]) ^ 1));
            break;
        }
        case OP_ROUTE: {
            int8_t *o = (int8_t *)M->outputs[a] + at;
            const uint8_t *t = BR(b), *direct = BR(c);
            for (int i = 0; i < m; i++) o[i] = (int8_t)(t[i] * (2 - direct[i]));
            break;
        }
        case OP_STORE_I16: {
            int16_t *o = (int16_t *)M->outputs[a] + at;
            const double *x = DR(b);
            for (int i = 0; i < m; i++) o[i] = (int16_t)(fabs(x[i]) <= 32767 ? x[i] : 0);
            break;
        }
        case OP_STORE_B: memcpy((uint8_t *)M->outputs[a] + at, BR(b), (size_t)m); break;
        case OP_AMOUNT:
            amount(DR(a), DR(b), BR(c), DR(d), DR(ins[5]), DR(ins[6]), M->xtab + ins[7],
                   M->dconst[ins[8]], BR(ins[9]), M->D, M->B, M->xcode, M->xconst, m);
            break;
        case OP_STORE_D: memcpy((double *)M->outputs[a] + at, DR(b), (size_t)m * sizeof(double)); break;
        default: break;
        }
    }
}

/* ── Python: reading the arguments ────────────────────────────────────────────────────────── */

typedef struct {
    Py_buffer *views;
    int count, size;
} Views;

static void release(Views *v) {
    for (int i = 0; i < v->count; i++) PyBuffer_Release(&v->views[i]);
    v->count = 0;
    free(v->views);
    v->views = NULL;
}

static const void *view(Views *v, PyObject *obj, int writable, Py_ssize_t *length) {
    if (v->count == v->size) {
        int size = v->size ? 2 * v->size : 64;
        Py_buffer *grown = realloc(v->views, (size_t)size * sizeof(Py_buffer));
        if (!grown) {
            PyErr_NoMemory();
            return NULL;
        }
        v->views = grown;
        v->size = size;
    }
    Py_buffer *b = &v->views[v->count];
    if (PyObject_GetBuffer(obj, b, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    v->count++;
    if (length) *length = b->len;
    return b->buf;
}

static int read_input(Views *v, PyObject *item, Input *in) {
    PyObject *values, *valid;
    int kind;
    Py_ssize_t offset;
    if (!PyTuple_Check(item)) {
        PyErr_SetString(PyExc_TypeError, "an input is a tuple (kind, values, validity, offset)");
        return -1;
    }
    if (!PyArg_ParseTuple(item, "iOOn", &kind, &values, &valid, &offset)) return -1;
    in->type = kind & 15;
    in->gaps = (kind >> 4) & 3;
    in->offset = offset;
    if (in->type < T_F64 || in->type > T_BYTES || in->gaps > V_BYTES || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "an input's kind or offset is not one the machine reads");
        return -1;
    }
    if (!(in->values = view(v, values, 0, &in->values_len))) return -1;
    if (valid != Py_None) {
        if (!(in->valid = view(v, valid, 0, &in->valid_len))) return -1;
    } else {
        in->gaps = V_NONE;
    }
    return 0;
}

/* whether an input's buffers hold `rows` rows from its offset */
static int holds(const Input *in, Py_ssize_t rows) {
    if (rows < 0 || in->offset > PY_SSIZE_T_MAX / 16 - rows) return 0; /* last · 8 must not overflow */
    Py_ssize_t last = in->offset + rows; /* rows [offset, last) */
    Py_ssize_t need = in->type == T_F64 || in->type == T_I64 ? last * 8
                      : in->type == T_I32                     ? last * 4
                      : in->type == T_BITS                    ? (last + 7) / 8
                                                              : last;
    if (in->values_len < need) return 0;
    if (in->gaps == V_BITS) return in->valid_len >= (last + 7) / 8;
    if (in->gaps == V_BYTES) return in->valid_len >= last;
    return 1;
}

/* The inputs of a batch: one (kind, values, validity, offset) per input, or — a batch in parts
 * (`bounds`: the first row of each part, then the row count) — a sequence of them per input,
 * one per part. Stored part by part: inputs[part · count + input]. */
static int read_inputs(Views *v, PyObject *seq, PyObject *bounds_o, Input **out, Py_ssize_t *count,
                       Py_ssize_t **bounds, Py_ssize_t *parts, Py_ssize_t n) {
    PyObject *items = PySequence_Fast(seq, "inputs must be a sequence");
    if (!items) return -1;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(items), s = 1;
    PyObject *b = NULL;
    if (bounds_o != Py_None) {
        b = PySequence_Fast(bounds_o, "bounds must be a sequence");
        if (!b) goto fail_items;
        s = PySequence_Fast_GET_SIZE(b) - 1;
        if (s < 1) {
            PyErr_SetString(PyExc_ValueError, "bounds need a start and an end");
            goto fail_items;
        }
    }
    Py_ssize_t *edges = calloc((size_t)s + 1, sizeof(Py_ssize_t));
    Input *inputs = calloc((size_t)(k ? k : 1) * (size_t)s, sizeof(Input));
    if (!edges || !inputs) {
        free(edges);
        free(inputs);
        PyErr_NoMemory();
        goto fail_items;
    }
    edges[s] = n;
    for (Py_ssize_t j = 0; b && j <= s; j++) {
        edges[j] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(b, j));
        if (edges[j] == -1 && PyErr_Occurred()) goto fail;
        if ((j > 0 && edges[j] < edges[j - 1]) || edges[j] < 0 || edges[j] > n || (j == s && edges[j] != n)) {
            PyErr_SetString(PyExc_ValueError, "bounds must rise from 0 to the row count");
            goto fail;
        }
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(items, i);
        if (!b) {
            if (read_input(v, item, &inputs[i]) < 0) goto fail;
            continue;
        }
        PyObject *per = PySequence_Fast(item, "a part per bound");
        if (!per) goto fail;
        if (PySequence_Fast_GET_SIZE(per) != s) {
            Py_DECREF(per);
            PyErr_SetString(PyExc_ValueError, "an input has not one part per bound");
            goto fail;
        }
        for (Py_ssize_t j = 0; j < s; j++) {
            if (read_input(v, PySequence_Fast_GET_ITEM(per, j), &inputs[j * k + i]) < 0) {
                Py_DECREF(per);
                goto fail;
            }
        }
        Py_DECREF(per);
    }
    for (Py_ssize_t j = 0; j < s; j++) {
        for (Py_ssize_t i = 0; i < k; i++) {
            if (!holds(&inputs[j * k + i], edges[j + 1] - edges[j])) {
                PyErr_SetString(PyExc_ValueError, "an input is shorter than its rows");
                goto fail;
            }
        }
    }
    Py_XDECREF(b);
    Py_DECREF(items);
    *out = inputs;
    *count = k;
    *bounds = edges;
    *parts = s;
    return 0;
fail:
    free(edges);
    free(inputs);
fail_items:
    Py_XDECREF(b);
    Py_DECREF(items);
    return -1;
}

static void *aligned(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    return p;
}

/* ── checking the cells ───────────────────────────────────────────────────────────────────── */

/* bad[i] |= the number of row first + i is outside [lo, hi], not finite, or not whole where it
 * must be, for n rows */
HOT static void check_column(uint8_t *restrict bad, const Input *in, double lo, double hi, int whole,
                             Py_ssize_t first, Py_ssize_t n) {
    double x[CHUNK];
    uint8_t given[CHUNK];
    if (in->type == T_I64 && (in->gaps == V_NONE || in->valid == NULL)) {
        /* every cell given, all integers: the smallest and the largest say whether any is out */
        const int64_t *src = (const int64_t *)in->values + in->offset + first;
        int64_t least = INT64_MAX, most = INT64_MIN;
        for (Py_ssize_t i = 0; i < n; i++) {
            least = src[i] < least ? src[i] : least;
            most = src[i] > most ? src[i] : most;
        }
        if (n == 0 || ((double)least >= lo && (double)most <= hi)) return;
    }
    for (Py_ssize_t start = 0; start < n; start += CHUNK) {
        Py_ssize_t left = n - start;
        int m = left < CHUNK ? (int)left : CHUNK;
        load_number(x, in, first + start, m);
        load_given(given, in, first + start, m);
        uint8_t *b = bad + start;
        for (int i = 0; i < m; i++) {
            double a = x[i];
            int wrong = (!(a >= lo && a <= hi)) | (whole & !is_integral(a)); /* NaN, ±∞: wrong */
            b[i] |= (uint8_t)(given[i] & wrong);
        }
    }
}

/* bad[i] |= both numbers of row first + i are given and the first is above the second */
HOT static void check_pair(uint8_t *restrict bad, const Input *a, const Input *b, Py_ssize_t first,
                           Py_ssize_t n) {
    double x[CHUNK], y[CHUNK];
    uint8_t gx[CHUNK], gy[CHUNK];
    for (Py_ssize_t start = 0; start < n; start += CHUNK) {
        Py_ssize_t left = n - start;
        int m = left < CHUNK ? (int)left : CHUNK;
        load_number(x, a, first + start, m);
        load_given(gx, a, first + start, m);
        load_number(y, b, first + start, m);
        load_given(gy, b, first + start, m);
        uint8_t *row = bad + start;
        for (int i = 0; i < m; i++) row[i] |= (uint8_t)(gx[i] & gy[i] & (x[i] > y[i]));
    }
}

/* The checks of a batch's number cells: the inputs to check (part by part, as read_inputs
 * stores them), one (minimum, maximum, whole) per input, the pairs (i, j) for "input i ≤
 * input j", and the rows found wrong (marked in `invalid`). */
typedef struct {
    Input *inputs;
    Py_ssize_t count, parts, *bounds;
    double *specs;
    Py_ssize_t *pairs, n_pairs;
    uint8_t *invalid;
} Checks;

static void free_checks(Checks *c) {
    free(c->inputs);
    free(c->bounds);
    free(c->specs);
    free(c->pairs);
}

static int read_checks(Views *v, PyObject *inputs_o, PyObject *specs_o, PyObject *pairs_o,
                       PyObject *invalid_o, PyObject *bounds_o, Py_ssize_t n, Checks *c) {
    PyObject *specs_f = NULL, *pairs_f = NULL;
    Py_ssize_t len;
    int ok = -1;
    if (read_inputs(v, inputs_o, bounds_o, &c->inputs, &c->count, &c->bounds, &c->parts, n) < 0)
        return -1;
    if (!(c->invalid = (uint8_t *)view(v, invalid_o, 1, &len))) goto done;
    if (len < n) {
        PyErr_SetString(PyExc_ValueError, "invalid is shorter than the rows");
        goto done;
    }
    specs_f = PySequence_Fast(specs_o, "specs must be a sequence");
    pairs_f = specs_f ? PySequence_Fast(pairs_o, "pairs must be a sequence") : NULL;
    if (!pairs_f) goto done;
    if (PySequence_Fast_GET_SIZE(specs_f) != c->count) {
        PyErr_SetString(PyExc_ValueError, "one spec per input");
        goto done;
    }
    c->n_pairs = PySequence_Fast_GET_SIZE(pairs_f);
    c->specs = calloc((size_t)(c->count ? c->count : 1) * 3, sizeof(double));
    c->pairs = calloc((size_t)(c->n_pairs ? c->n_pairs : 1) * 2, sizeof(Py_ssize_t));
    if (!c->specs || !c->pairs) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < c->count; i++) {
        int whole;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(specs_f, i), "ddi", &c->specs[3 * i],
                              &c->specs[3 * i + 1], &whole))
            goto done;
        c->specs[3 * i + 2] = whole;
    }
    for (Py_ssize_t i = 0; i < c->n_pairs; i++) {
        Py_ssize_t *pair = &c->pairs[2 * i];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(pairs_f, i), "nn", &pair[0], &pair[1]))
            goto done;
        if (pair[0] < 0 || pair[0] >= c->count || pair[1] < 0 || pair[1] >= c->count) {
            PyErr_SetString(PyExc_ValueError, "a pair names no input");
            goto done;
        }
    }
    ok = 0;
done:
    Py_XDECREF(specs_f);
    Py_XDECREF(pairs_f);
    return ok;
}

/* the checks of rows [at, at + rows) of a part (`start`: the part's first row in the batch) */
static void check_rows(const Checks *c, Py_ssize_t part, Py_ssize_t start, Py_ssize_t at,
                       Py_ssize_t rows) {
    const Input *here = c->inputs + part * c->count;
    uint8_t *bad = c->invalid + at;
    for (Py_ssize_t j = 0; j < c->count; j++) {
        const Input *in = &here[j];
        if (in->type == T_BITS || in->type == T_BYTES) continue; /* yes/no: nothing to check */
        check_column(bad, in, c->specs[3 * j], c->specs[3 * j + 1], c->specs[3 * j + 2] != 0,
                     at - start, rows);
    }
    for (Py_ssize_t p = 0; p < c->n_pairs; p++)
        check_pair(bad, &here[c->pairs[2 * p]], &here[c->pairs[2 * p + 1]], at - start, rows);
}

/* whether each output a program writes holds n rows of what is written to it */
static int outputs_fit(const int32_t *code, Py_ssize_t count, const Py_ssize_t *lens, Py_ssize_t k,
                       Py_ssize_t n) {
    for (Py_ssize_t p = 0; p < count; p++) {
        const int32_t *ins = code + p * WIDTH;
        Py_ssize_t size;
        switch (ins[0]) {
        case OP_STATUS:
        case OP_QUALIFIES:
        case OP_ROUTE:
        case OP_STORE_B: size = 1; break;
        case OP_STORE_I16: size = 2; break;
        case OP_STORE_D: size = 8; break;
        default: continue;
        }
        if (ins[1] < 0 || ins[1] >= k || lens[ins[1]] / size < n) return 0;
    }
    return 1;
}

static PyObject *vm_run(PyObject *self, PyObject *args) {
    PyObject *init_o, *body_o, *xcode_o, *dconst_o, *xconst_o, *dtab_o, *xtab_o, *inputs_o, *outputs_o;
    int nd, nb;
    Py_ssize_t n;
    PyObject *bounds_o = Py_None, *checks_o = Py_None;
    if (!PyArg_ParseTuple(args, "OOO(ii)OOOOOOn|OO", &init_o, &body_o, &xcode_o, &nd, &nb,
                          &dconst_o, &xconst_o, &dtab_o, &xtab_o, &inputs_o, &outputs_o, &n,
                          &bounds_o, &checks_o))
        return NULL;
    Checks checks = {0};
    int checking = checks_o != Py_None;
    Views *v = calloc(1, sizeof(Views));
    if (!v) return PyErr_NoMemory();
    Machine M = {0};
    Input *inputs = NULL;
    char **outputs = NULL;
    Py_ssize_t *lens = NULL;
    PyObject *outs = NULL, *result = NULL;
    Py_ssize_t init_len, body_len, n_inputs, parts = 1, *bounds = NULL;
    const int32_t *init = view(v, init_o, 0, &init_len);
    const int32_t *body = init ? view(v, body_o, 0, &body_len) : NULL;
    if (!body) goto done;
    if (!(M.xcode = view(v, xcode_o, 0, NULL)) || !(M.dconst = view(v, dconst_o, 0, NULL)) ||
        !(M.xconst = view(v, xconst_o, 0, NULL)) || !(M.dtab = view(v, dtab_o, 0, NULL)) ||
        !(M.xtab = view(v, xtab_o, 0, NULL)))
        goto done;
    if (read_inputs(v, inputs_o, bounds_o, &inputs, &n_inputs, &bounds, &parts, n) < 0) goto done;
    if (checking) {
        PyObject *c_inputs, *c_specs, *c_pairs, *c_invalid;
        if (!PyArg_ParseTuple(checks_o, "OOOO", &c_inputs, &c_specs, &c_pairs, &c_invalid)) goto done;
        if (read_checks(v, c_inputs, c_specs, c_pairs, c_invalid, bounds_o, n, &checks) < 0) goto done;
    }
    outs = PySequence_Fast(outputs_o, "outputs must be a sequence");
    if (!outs) goto done;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(outs);
    outputs = calloc((size_t)(k ? k : 1), sizeof(char *));
    if (!outputs) {
        PyErr_NoMemory();
        goto done;
    }
    lens = calloc((size_t)(k ? k : 1), sizeof(Py_ssize_t));
    if (!lens) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < k; i++)
        if (!(outputs[i] = (char *)view(v, PySequence_Fast_GET_ITEM(outs, i), 1, &lens[i]))) goto done;
    if (!outputs_fit(init, init_len / (WIDTH * 4), lens, k, CHUNK) ||
        !outputs_fit(body, body_len / (WIDTH * 4), lens, k, n)) {
        PyErr_SetString(PyExc_ValueError, "an output is shorter than the rows");
        goto done;
    }
    M.D = aligned((size_t)nd * CHUNK * sizeof(double));
    M.B = aligned((size_t)nb * CHUNK);
    if (!M.D || !M.B) {
        PyErr_NoMemory();
        goto done;
    }
    M.inputs = inputs;
    M.outputs = outputs;
    Py_BEGIN_ALLOW_THREADS
    execute(&M, init, init_len / (WIDTH * 4), 0, 0, CHUNK);
    for (Py_ssize_t part = 0; part < parts; part++) {
        M.inputs = inputs + part * n_inputs;
        /* window by window: the cells checked, then evaluated while they are still in cache */
        for (Py_ssize_t window = bounds[part]; window < bounds[part + 1]; window += WINDOW) {
            Py_ssize_t stop = bounds[part + 1] - window < WINDOW ? bounds[part + 1] : window + WINDOW;
            if (checking) check_rows(&checks, part, bounds[part], window, stop - window);
            for (Py_ssize_t at = window; at < stop; at += CHUNK) {
                Py_ssize_t left = stop - at;
                int m = left < CHUNK ? (int)left : CHUNK;
                execute(&M, body, body_len / (WIDTH * 4), at - bounds[part], at, m);
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free_checks(&checks);
    free(M.D);
    free(M.B);
    free(bounds);
    free(inputs);
    free(outputs);
    free(lens);
    Py_XDECREF(outs);
    release(v);
    free(v);
    return result;
}

/* check(inputs, specs, pairs, n, invalid[, bounds]): marks in `invalid` (uint8, n) each row
 * where a given number is not a finite number, is below its minimum or above its maximum, is not
 * whole where it must be, or is above the fact that bounds it. specs: one (minimum, maximum,
 * whole) per input (±inf: no bound; whole: 1 must be whole); pairs: (i, j) for "input i ≤ input
 * j". (run() makes the same checks, window by window, when it is given them.) */
static PyObject *vm_check(PyObject *self, PyObject *args) {
    PyObject *inputs_o, *specs_o, *pairs_o, *invalid_o, *bounds_o = Py_None;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OOOnO|O", &inputs_o, &specs_o, &pairs_o, &n, &invalid_o, &bounds_o))
        return NULL;
    Views views = {0};
    Checks c = {0};
    PyObject *result = NULL;
    if (read_checks(&views, inputs_o, specs_o, pairs_o, invalid_o, bounds_o, n, &c) == 0) {
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t part = 0; part < c.parts; part++)
            check_rows(&c, part, c.bounds[part], c.bounds[part], c.bounds[part + 1] - c.bounds[part]);
        Py_END_ALLOW_THREADS
        result = Py_None;
        Py_INCREF(result);
    }
    free_checks(&c);
    release(&views);
    return result;
}

/* ── totals ───────────────────────────────────────────────────────────────────────────────── */

/* counts(codes, valid) → for each int8 array of codes, how many rows (where valid, a uint8 mask,
 * or every row when None) hold -1, 0, 1 and 2 */
HOT static void count_codes(const int8_t *codes, const uint8_t *valid, Py_ssize_t n, Py_ssize_t out[4]) {
    Py_ssize_t c[4] = {0, 0, 0, 0};
    for (Py_ssize_t start = 0; start < n; start += 4096) {
        int m = n - start < 4096 ? (int)(n - start) : 4096;
        const int8_t *x = codes + start;
        uint32_t a = 0, b = 0, d = 0, e = 0;
        if (valid) {
            const uint8_t *w = valid + start;
            for (int i = 0; i < m; i++) {
                uint8_t keep = w[i] != 0;
                a += keep & (x[i] == -1);
                b += keep & (x[i] == 0);
                d += keep & (x[i] == 1);
                e += keep & (x[i] == 2);
            }
        } else {
            for (int i = 0; i < m; i++) {
                a += x[i] == -1;
                b += x[i] == 0;
                d += x[i] == 1;
                e += x[i] == 2;
            }
        }
        c[0] += a, c[1] += b, c[2] += d, c[3] += e;
    }
    memcpy(out, c, sizeof c);
}

static PyObject *vm_counts(PyObject *self, PyObject *args) {
    PyObject *arrays_o, *valid_o;
    if (!PyArg_ParseTuple(args, "OO", &arrays_o, &valid_o)) return NULL;
    PyObject *arrays = PySequence_Fast(arrays_o, "codes must be a sequence");
    if (!arrays) return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(arrays);
    PyObject *result = PyList_New(k);
    Py_buffer valid = {0};
    int have_valid = valid_o != Py_None;
    if (!result || (have_valid && PyObject_GetBuffer(valid_o, &valid, PyBUF_C_CONTIGUOUS) < 0)) {
        Py_XDECREF(result);
        Py_DECREF(arrays);
        return NULL;
    }
    for (Py_ssize_t j = 0; j < k; j++) {
        Py_buffer codes;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(arrays, j), &codes, PyBUF_C_CONTIGUOUS) < 0) {
            Py_CLEAR(result);
            break;
        }
        if (have_valid && valid.len < codes.len) {
            PyBuffer_Release(&codes);
            PyErr_SetString(PyExc_ValueError, "valid is shorter than the codes");
            Py_CLEAR(result);
            break;
        }
        Py_ssize_t c[4];
        Py_BEGIN_ALLOW_THREADS
        count_codes((const int8_t *)codes.buf, have_valid ? (const uint8_t *)valid.buf : NULL, codes.len, c);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&codes);
        PyObject *t = Py_BuildValue("(nnnn)", c[0], c[1], c[2], c[3]);
        if (!t) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, j, t);
    }
    if (have_valid) PyBuffer_Release(&valid);
    Py_DECREF(arrays);
    return result;
}

/* the amounts in whole fen (each rounded to the nearest fen) summed over the rows where mask */
HOT static i128 fen_total(const double *amounts, const uint8_t *mask, Py_ssize_t n) {
    i128 total = 0; /* below 2**62 fen a row: no overflow below 2**64 rows */
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = amounts[i] * 100;
        int64_t fen = (mask[i] && fabs(v) < 0x1p62) ? (int64_t)(v + (v < 0 ? -0.5 : 0.5)) : 0;
        total += fen;
    }
    return total;
}

static PyObject *vm_fen_total(PyObject *self, PyObject *args) {
    PyObject *amounts_o, *mask_o;
    if (!PyArg_ParseTuple(args, "OO", &amounts_o, &mask_o)) return NULL;
    Py_buffer amounts, mask;
    if (PyObject_GetBuffer(amounts_o, &amounts, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (PyObject_GetBuffer(mask_o, &mask, PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&amounts);
        return NULL;
    }
    Py_ssize_t n = amounts.len / (Py_ssize_t)sizeof(double);
    PyObject *result = NULL;
    if (mask.len < n) {
        PyErr_SetString(PyExc_ValueError, "the mask is shorter than the amounts");
    } else {
        i128 total;
        Py_BEGIN_ALLOW_THREADS
        total = fen_total((const double *)amounts.buf, (const uint8_t *)mask.buf, n);
        Py_END_ALLOW_THREADS
        if (total == (int64_t)total) {
            result = PyLong_FromLongLong((int64_t)total);
        } else { /* high · 2**64 + low, the two halves exact */
            PyObject *high = PyLong_FromLongLong((int64_t)(total >> 64));
            PyObject *low = PyLong_FromUnsignedLongLong((unsigned long long)(uint64_t)total);
            PyObject *shift = PyLong_FromLong(64);
            PyObject *moved = high && shift ? PyNumber_Lshift(high, shift) : NULL;
            result = moved && low ? PyNumber_Add(moved, low) : NULL;
            Py_XDECREF(high);
            Py_XDECREF(low);
            Py_XDECREF(shift);
            Py_XDECREF(moved);
        }
    }
    PyBuffer_Release(&amounts);
    PyBuffer_Release(&mask);
    return result;
}

/* ── CSV: the plain shape, parsed in one pass ─────────────────────────────────────────────── */

/* A slice of CSV rows (no header) in the shape most rosters have: no quotes, rows ended by LF or
 * CRLF, every row with one cell per column, numbers written as whole numbers (-?[0-9]{1,18}) or
 * decimals of at most 15 digits (-?[0-9]+\.[0-9]+),
 * yes/no cells one of the words given, text valid UTF-8, an empty cell empty. Any other slice is
 * not parsed here (the caller gives it to pyarrow's reader), so what this accepts reads exactly as
 * pyarrow reads it, only faster: one pass, no type inference, no thread hand-offs. */

enum { C_NUMBER = 'f', C_FLAG = 'b', C_TEXT = 's', C_DICT = 'd' };

typedef struct {
    char kind;
    double *values;       /* C_NUMBER */
    uint8_t *bits;        /* C_FLAG values */
    uint8_t *valid;       /* validity bitmap (every kind) */
    int32_t *offsets;     /* C_TEXT: n + 1 offsets into chars; C_DICT: n indices */
    uint8_t *chars;       /* C_TEXT bytes; C_DICT: the distinct words, one after another */
    Py_ssize_t used;      /* bytes of chars used */
    Py_ssize_t nulls;
    int32_t words;        /* C_DICT: distinct words so far */
    int32_t word_at[1025], word_len[1024];
} CsvColumn;

static Py_ssize_t csv_rows(const char *p, Py_ssize_t len) {
    Py_ssize_t rows = 0;
    const char *end = p + len, *q = p;
    while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
        rows++;
        q++;
    }
    if (len > 0 && p[len - 1] != '\n') rows++;
    return rows;
}

/* whether bytes are valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), as
 * pyarrow checks a text column */
static int utf8_valid(const uint8_t *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int extra;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + extra >= n) return 0;
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += extra + 1;
    }
    return 1;
}

/* the words a yes/no cell may hold: the yes words first, then the no words */
typedef struct {
    int count, yes;
    const char *word[32];
    Py_ssize_t len[32];
} Words;

/* 1 a yes word, 0 a no word, -1 neither */
static inline int word_of(const Words *w, const char *cell, Py_ssize_t len) {
    for (int j = 0; j < w->count; j++) {
        if (w->len[j] != len) continue;
        const char *word = w->word[j];
        Py_ssize_t k = 0;
        while (k < len && word[k] == cell[k]) k++;
        if (k == len) return j < w->yes;
    }
    return -1;
}

/* one cell that is not a number into its column at row i (numbers are read as they are
 * scanned, in csv_parse); 0: not the plain shape */
static int csv_cell(CsvColumn *col, const char *cell, Py_ssize_t len, Py_ssize_t i, const Words *words) {
    if (len == 0) {
        col->nulls++;
        if (col->kind == C_TEXT) col->offsets[i + 1] = (int32_t)col->used;
        if (col->kind == C_DICT) col->offsets[i] = 0;
        return 1;
    }
    col->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    switch (col->kind) {
    case C_FLAG: {
        int found = word_of(words, cell, len);
        if (found < 0) return 0;
        col->bits[i >> 3] |= (uint8_t)(found << (i & 7));
        return 1;
    }
    case C_TEXT:
        if (!utf8_valid((const uint8_t *)cell, len)) return 0;
        memcpy(col->chars + col->used, cell, (size_t)len);
        col->used += len;
        if (col->used > INT32_MAX) return 0;
        col->offsets[i + 1] = (int32_t)col->used;
        return 1;
    case C_DICT: { /* a word seen before, or a new one (at most 1,024 per slice) */
        for (int32_t w = 0; w < col->words; w++) {
            if (col->word_len[w] == len && memcmp(col->chars + col->word_at[w], cell, (size_t)len) == 0) {
                col->offsets[i] = w;
                return 1;
            }
        }
        if (col->words >= 1024 || !utf8_valid((const uint8_t *)cell, len)) return 0;
        col->word_at[col->words] = (int32_t)col->used;
        col->word_len[col->words] = (int32_t)len;
        memcpy(col->chars + col->used, cell, (size_t)len);
        col->used += len;
        col->offsets[i] = col->words++;
        return 1;
    }
    default: return 0;
    }
}

/* one pass over the rows: a number's digits are read as they are scanned; another cell is found
 * first, then read. 0: not the plain shape. */
static int csv_parse(const char *p, Py_ssize_t len, CsvColumn *cols, Py_ssize_t k, Py_ssize_t rows,
                     const Words *words) {
    const char *end = p + len;
    for (Py_ssize_t c = 0; c < k; c++)
        if (cols[c].kind == C_TEXT) cols[c].offsets[0] = 0;
    Py_ssize_t i = 0;
    while (p < end) {
        if (i >= rows || k == 0 || *p == '\n' || *p == '\r') return 0; /* pyarrow skips an empty line */
        for (Py_ssize_t c = 0; c < k; c++) {
            CsvColumn *col = &cols[c];
            const char *cell = p;
            if (col->kind == C_NUMBER) {
                int negative = p < end && *p == '-';
                p += negative;
                const char *digits = p;
                uint64_t v = 0; /* unsigned: more than 18 digits wrap, then are refused */
                while (p < end && (unsigned)(*p - '0') < 10) v = v * 10 + (uint64_t)(*p++ - '0');
                Py_ssize_t n = p - digits, decimals = 0;
                if (n > 0 && p < end && *p == '.') { /* a decimal: 1234.56 */
                    const char *fraction = ++p;
                    while (p < end && (unsigned)(*p - '0') < 10) v = v * 10 + (uint64_t)(*p++ - '0');
                    decimals = p - fraction;
                    /* digits on both sides, at most 15 in all: v and 10**decimals are doubles
                     * exactly, so their quotient is the correctly rounded value of the decimal,
                     * as pyarrow's parser gives it */
                    if (decimals == 0 || n + decimals > 15) return 0;
                }
                if (n == 0) {
                    if (negative) return 0; /* "-" alone */
                    col->nulls++;
                    col->values[i] = 0;
                } else {
                    if (n > 18) return 0;
                    double x = (double)(int64_t)v;
                    if (decimals) x /= (double)(int64_t)POW10[decimals];
                    col->values[i] = negative ? -x : x; /* "-0" reads as -0.0, as a float does */
                    col->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
                }
            } else {
                while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
                    if (*p == '"') return 0; /* a quote: pyarrow follows quotes */
                    p++;
                }
                if (!csv_cell(col, cell, p - cell, i, words)) return 0;
            }
            /* what ends the cell: a comma between cells, a line end (LF or CRLF) or the end of
             * the data after the last */
            if (c < k - 1) {
                if (p >= end || *p != ',') return 0;
                p++;
            } else {
                if (p < end && *p == '\r') p++;
                if (p < end) {
                    if (*p != '\n') return 0;
                    p++;
                }
            }
        }
        i++;
    }
    return i == rows;
}

/* csv_rows(data) → how many rows a slice holds (line ends, and an unended last row) */
static PyObject *vm_csv_rows(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    Py_ssize_t rows;
    Py_BEGIN_ALLOW_THREADS
    rows = csv_rows((const char *)data.buf, data.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(rows);
}

/* tiny(data) → whether a slice of CSV may hold a number a double does not hold, which a typed
 * parse reads as another number: one smaller than the least double (about 5e-324) read as 0 — a
 * digit or a point, 'e' or 'E', '-', a digit (any negative exponent: rare in a roster), or 300
 * zeros in a row — or one of 16 or more digits, rounded. At memory speed. */
static int may_be_tiny(const unsigned char *p, Py_ssize_t len) {
    /* a run of 300 zeros holds a multiple of 150: look there, then measure the run */
    for (Py_ssize_t i = 0; i < len; i += 150) {
        if (p[i] != '0') continue;
        Py_ssize_t a = i, b = i;
        while (a > 0 && p[a - 1] == '0') a--;
        while (b + 1 < len && p[b + 1] == '0') b++;
        if (b - a + 1 >= 300) return 1;
    }
    /* a number of 16 or more digits (a point among them): more than a double holds, maybe; a
     * run of 16 holds a multiple of 8, so look there and measure the run, then skip past it */
    for (Py_ssize_t i = 0; i < len;) {
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.')) {
            i += 8;
            continue;
        }
        Py_ssize_t a = i, b = i, digits = 0;
        while (a > 0 && ((p[a - 1] >= '0' && p[a - 1] <= '9') || p[a - 1] == '.')) a--;
        while (b + 1 < len && ((p[b + 1] >= '0' && p[b + 1] <= '9') || p[b + 1] == '.')) b++;
        for (Py_ssize_t j = a; j <= b; j++) digits += p[j] != '.';
        if (digits >= 16) return 1;
        i = b + 8;
    }
    const unsigned char *q = p, *end = p + len;
    while ((q = memchr(q, '-', (size_t)(end - q))) != NULL) {
        if (q - p >= 2 && q + 1 < end && (q[-1] == 'e' || q[-1] == 'E') &&
            ((q[-2] >= '0' && q[-2] <= '9') || q[-2] == '.') && q[1] >= '0' && q[1] <= '9')
            return 1;
        q++;
    }
    return 0;
}

static PyObject *vm_tiny(PyObject *self, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    int found;
    Py_BEGIN_ALLOW_THREADS
    found = may_be_tiny((const unsigned char *)data.buf, data.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyBool_FromLong(found);
}

/* csv(data, rows, kinds, yes, no, buffers) → per column (nulls, bytes of text used, distinct
 * words as bytes or None), or None when the slice is not the plain shape. kinds: one letter per
 * column (f number, b yes/no, s text, d text as a dictionary); buffers: per column, writable
 * (values, validity) for f, (bits, validity) for b, (offsets, chars, validity) for s,
 * (indices, chars, validity) for d — bitmaps zeroed, sized for `rows`. */
static PyObject *vm_csv(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t rows;
    const char *kinds;
    Py_ssize_t k;
    PyObject *yes, *no, *buffers_o;
    if (!PyArg_ParseTuple(args, "y*ns#O!O!O", &data, &rows, &kinds, &k, &PyTuple_Type, &yes,
                          &PyTuple_Type, &no, &buffers_o))
        return NULL;
    Words words = {0};
    words.yes = (int)PyTuple_GET_SIZE(yes);
    words.count = words.yes + (int)PyTuple_GET_SIZE(no);
    for (int j = 0; j < words.count; j++) {
        PyObject *w = j < words.yes ? PyTuple_GET_ITEM(yes, j) : PyTuple_GET_ITEM(no, j - words.yes);
        if (words.count > 32 || !PyBytes_Check(w) || PyBytes_GET_SIZE(w) == 0) {
            PyBuffer_Release(&data);
            PyErr_SetString(PyExc_TypeError, "the yes/no words are at most 32 non-empty bytes");
            return NULL;
        }
        words.word[j] = PyBytes_AS_STRING(w);
        words.len[j] = PyBytes_GET_SIZE(w);
    }
    Views views = {0};
    PyObject *result = NULL, *buffers = NULL;
    CsvColumn *cols = calloc((size_t)(k ? k : 1), sizeof(CsvColumn));
    if (!cols) {
        PyErr_NoMemory();
        goto done;
    }
    buffers = PySequence_Fast(buffers_o, "buffers must be a sequence");
    if (!buffers) goto done;
    if (PySequence_Fast_GET_SIZE(buffers) != k) {
        PyErr_SetString(PyExc_ValueError, "one set of buffers per column");
        goto done;
    }
    for (Py_ssize_t c = 0; c < k; c++) {
        PyObject *set = PySequence_Fast_GET_ITEM(buffers, c);
        if (!PyTuple_Check(set)) {
            PyErr_SetString(PyExc_TypeError, "a column's buffers are a tuple");
            goto done;
        }
        Py_ssize_t want = (kinds[c] == C_TEXT || kinds[c] == C_DICT) ? 3 : 2, got[3] = {0, 0, 0};
        if (PyTuple_GET_SIZE(set) != want) {
            PyErr_SetString(PyExc_ValueError, "a column has the wrong number of buffers");
            goto done;
        }
        void *b[3] = {NULL, NULL, NULL};
        for (Py_ssize_t j = 0; j < want; j++)
            if (!(b[j] = (void *)view(&views, PyTuple_GET_ITEM(set, j), 1, &got[j]))) goto done;
        CsvColumn *col = &cols[c];
        col->kind = kinds[c];
        Py_ssize_t bitmap = (rows + 7) / 8;
        int ok;
        switch (col->kind) {
        case C_NUMBER:
            col->values = b[0], col->valid = b[1];
            ok = got[0] >= rows * 8 && got[1] >= bitmap;
            break;
        case C_FLAG:
            col->bits = b[0], col->valid = b[1];
            ok = got[0] >= bitmap && got[1] >= bitmap;
            break;
        case C_TEXT:
            col->offsets = b[0], col->chars = b[1], col->valid = b[2];
            ok = got[0] >= (rows + 1) * 4 && got[1] >= data.len && got[2] >= bitmap;
            break;
        case C_DICT:
            col->offsets = b[0], col->chars = b[1], col->valid = b[2];
            ok = got[0] >= rows * 4 && got[1] >= data.len && got[2] >= bitmap;
            break;
        default:
            PyErr_SetString(PyExc_ValueError, "a column kind is f, b, s or d");
            goto done;
        }
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "a column's buffers are too small");
            goto done;
        }
    }
    int plain;
    Py_BEGIN_ALLOW_THREADS
    plain = csv_parse((const char *)data.buf, data.len, cols, k, rows, &words);
    Py_END_ALLOW_THREADS
    if (!plain) {
        result = Py_None;
        Py_INCREF(result);
        goto done;
    }
    result = PyList_New(k);
    for (Py_ssize_t c = 0; result && c < k; c++) {
        CsvColumn *col = &cols[c];
        PyObject *words = Py_None;
        Py_INCREF(words);
        if (col->kind == C_DICT) {
            Py_DECREF(words);
            words = PyTuple_New(col->words);
            for (int32_t w = 0; words && w < col->words; w++) {
                PyObject *word = PyBytes_FromStringAndSize((const char *)col->chars + col->word_at[w], col->word_len[w]);
                if (!word) {
                    Py_CLEAR(words);
                    break;
                }
                PyTuple_SET_ITEM(words, w, word);
            }
        }
        PyObject *item = words ? Py_BuildValue("(nnN)", col->nulls, col->used, words) : NULL;
        if (!item) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, c, item);
    }
done:
    free(cols);
    Py_XDECREF(buffers);
    release(&views);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"csv_rows", vm_csv_rows, METH_VARARGS, "How many rows a slice of CSV holds."},
    {"csv", vm_csv, METH_VARARGS, "Parse a slice of CSV of the plain shape (None: another shape)."},
    {"tiny", vm_tiny, METH_VARARGS, "Whether a slice of CSV may hold a number too small for a double."},
    {"counts", vm_counts, METH_VARARGS, "How many rows of each int8 array hold -1, 0, 1 and 2."},
    {"fen_total", vm_fen_total, METH_VARARGS, "Amounts rounded to the fen, summed where a mask is set."},
    {"run", vm_run, METH_VARARGS, "Run a compiled program over the rows of a batch."},
    {"check", vm_check, METH_VARARGS, "Mark the rows whose numbers are out of their bounds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_vm", "The column back-end's machine (see program.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__vm(void) {
    POW10[0] = 1;
    for (int i = 1; i < 39; i++) POW10[i] = POW10[i - 1] * 10;
    for (int b = 0; b < 256; b++)
        for (int j = 0; j < 8; j++) SPREAD[b][j] = (uint8_t)((b >> j) & 1);
    PyObject *m = PyModule_Create(&module);
    static const struct { const char *name; int code; } codes[] = {
        {"FILL_D", OP_FILL_D}, {"FILL_B", OP_FILL_B}, {"LOAD_D", OP_LOAD_D}, {"LOAD_K", OP_LOAD_K},
        {"LOAD_B", OP_LOAD_B}, {"ADD", OP_ADD}, {"SUB", OP_SUB}, {"MUL", OP_MUL}, {"MUL0", OP_MUL0},
        {"NEG", OP_NEG}, {"ABS", OP_ABS}, {"MAX", OP_MAX}, {"MIN", OP_MIN}, {"SEL", OP_SEL},
        {"LT", OP_LT}, {"LE", OP_LE}, {"GT", OP_GT}, {"GE", OP_GE}, {"EQ", OP_EQ}, {"NE", OP_NE},
        {"AND", OP_AND}, {"OR", OP_OR}, {"ANDNOT", OP_ANDNOT}, {"NOT", OP_NOT},
        {"ZERO_B", OP_ZERO_B}, {"TIERS", OP_TIERS}, {"RATIO", OP_RATIO}, {"STATUS", OP_STATUS},
        {"QUALIFIES", OP_QUALIFIES}, {"ROUTE", OP_ROUTE}, {"STORE_I16", OP_STORE_I16},
        {"STORE_B", OP_STORE_B}, {"AMOUNT", OP_AMOUNT}, {"STORE_D", OP_STORE_D}, {"X_LOAD", OX_LOAD}, {"X_CONST", OX_CONST},
        {"X_SCALE", OX_SCALE}, {"X_ADD", OX_ADD}, {"X_SUB", OX_SUB}, {"X_MUL", OX_MUL},
        {"X_NEG", OX_NEG}, {"X_MAX", OX_MAX}, {"X_MIN", OX_MIN},
    };
    PyObject *ops = m ? PyDict_New() : NULL;
    for (size_t i = 0; ops && i < sizeof codes / sizeof codes[0]; i++) {
        PyObject *code = PyLong_FromLong(codes[i].code);
        if (!code || PyDict_SetItemString(ops, codes[i].name, code) < 0) {
            Py_XDECREF(code);
            Py_CLEAR(ops);
            break;
        }
        Py_DECREF(code);
    }
    if (m && (!ops || PyModule_AddObject(m, "OPS", ops) < 0)) {
        Py_XDECREF(ops);
        Py_DECREF(m);
        return NULL;
    }
    if (m) {
        PyModule_AddIntConstant(m, "CHUNK", CHUNK);
        PyModule_AddIntConstant(m, "WIDTH", WIDTH);
        PyModule_AddIntConstant(m, "XREGS", XREGS);
    }
    return m;
}
