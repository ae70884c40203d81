/* Fused passes over a float32/float64 vector, for modelscope/analysis/stats.py.

   summary(x, shift) -> (lo, hi, sum_y, sum_yy, abs_sum, zeros, nonfinite)
       one pass: extremes, the sums of y = x - shift (in double), |x|, zeros, and how many values
       are NaN or infinite (when any are, the other figures are meaningless: stats.py then takes
       its general path).
   at_least(x, limits, counts)
       counts[e] += how many x >= limits[e], compared in x's own dtype (limits has it too): exact
       histogram counts for a few bins (stats.py chooses limits that compare as np.histogram's
       float64 edges do).
   binned(x, limits, counts, lo, scale)
       the same counts for many bins: counts[j] += how many x have exactly j limits <= x (a bin
       estimated from lo and scale, the edges being evenly spaced, then checked against the
       limits), counts one longer than limits.

   x is a contiguous 1-D buffer; summary's sums need all values finite, the counts need no NaN.
   Sums run over blocks of BLOCK elements in four lanes each, then into the totals (rounding
   error grows with BLOCK + n / BLOCK, not with n). The GIL is released: two threads can scan
   two halves of one variable. Where GCC supports it, each loop is also compiled for AVX2 and the
   CPU picks at load time. An accelerator only: without it stats.py computes the same figures with
   NumPy. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

#define BLOCK 1024
#define LANES 8 /* histograms counted side by side: one counter bumped back to back stalls */

typedef struct {
    double sum_y, sum_yy, abs_sum;
    Py_ssize_t zeros;
} Sums;

/* Extremes, sums (the vector float32 version below adds in the same order) and non-finite values. */
#define SUMMARY(T)                                                                                \
    CLONES static void summary_##T(const T *restrict x, Py_ssize_t n, double shift, Sums *out,    \
                                   double *lo_out, double *hi_out, Py_ssize_t *bad_out) {         \
        double sum_y = 0, sum_yy = 0, abs_sum = 0;                                                \
        Py_ssize_t zeros = 0, bad = 0;                                                            \
        T lo = n ? x[0] : 0, hi = lo;                                                             \
        for (Py_ssize_t start = 0; start < n; start += BLOCK) {                                   \
            const Py_ssize_t m = start + BLOCK < n ? BLOCK : n - start;                           \
            const T *restrict b = x + start;                                                      \
            double s[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0}, a[4] = {0, 0, 0, 0};                 \
            Py_ssize_t i = 0;                                                                     \
            for (; i + 4 <= m; i += 4) /* four lanes, then into the totals */                     \
                for (int k = 0; k < 4; k++) {                                                     \
                    const double v = b[i + k], y = v - shift;                                     \
                    s[k] += y, q[k] += y * y, a[k] += fabs(v), zeros += (v == 0.0);               \
                }                                                                                 \
            for (; i < m; i++) {                                                                  \
                const double v = b[i], y = v - shift;                                             \
                s[0] += y, q[0] += y * y, a[0] += fabs(v), zeros += (v == 0.0);                   \
            }                                                                                     \
            sum_y += (s[0] + s[1]) + (s[2] + s[3]);                                               \
            sum_yy += (q[0] + q[1]) + (q[2] + q[3]);                                              \
            abs_sum += (a[0] + a[1]) + (a[2] + a[3]);                                             \
            T l = b[0], h = b[0];                                                                 \
            int32_t nonfinite = 0;                                                                \
            for (i = 0; i < m; i++) {                                                             \
                const T v = b[i];                                                                 \
                l = v < l ? v : l, h = v > h ? v : h;                                             \
                nonfinite += !(v - v == 0); /* NaN or +-Inf */                                    \
            }                                                                                     \
            lo = l < lo ? l : lo, hi = h > hi ? h : hi, bad += nonfinite;                         \
        }                                                                                         \
        out->sum_y = sum_y, out->sum_yy = sum_yy, out->abs_sum = abs_sum, out->zeros = zeros;     \
        *lo_out = lo, *hi_out = hi, *bad_out = bad;                                               \
    }

/* counts[e] += #(x >= limits[e]), block by block: each block stays in L1 for every limit. */
#define AT_LEAST(T)                                                                               \
    CLONES static void at_least_##T(const T *restrict x, Py_ssize_t n, const T *restrict limits,  \
                                    Py_ssize_t edges, int64_t *restrict counts) {                 \
        for (Py_ssize_t start = 0; start < n; start += BLOCK) {                                   \
            const Py_ssize_t m = start + BLOCK < n ? BLOCK : n - start;                           \
            const T *restrict b = x + start;                                                      \
            for (Py_ssize_t e = 0; e < edges; e++) {                                              \
                const T t = limits[e];                                                            \
                int32_t c = 0;                                                                    \
                for (Py_ssize_t i = 0; i < m; i++) c += (b[i] >= t);                              \
                counts[e] += c;                                                                   \
            }                                                                                     \
        }                                                                                         \
    }

SUMMARY(double)
AT_LEAST(float)
AT_LEAST(double)

/* lanes[(i % LANES) * (edges + 1) + j] += 1 where j = #(limits <= x[i]), exactly: j is first
   estimated as floor((x - lo) * scale) (the edges are evenly spaced from lo), then moved while a
   limit says it is off (an ulp or so near an edge; any distance in a pathological range, still
   exact). Each of LANES values side by side has its own counters (one bumped back to back stalls). */
#define BINNED(T)                                                                                 \
    CLONES static void binned_##T(const T *restrict x, Py_ssize_t n, const T *restrict limits,    \
                                  Py_ssize_t edges, double lo, double scale,                      \
                                  int64_t *restrict lanes) {                                      \
        const Py_ssize_t bins = edges + 1;                                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                                      \
            const T v = x[i];                                                                     \
            const double c = ((double)v - lo) * scale;                                            \
            Py_ssize_t j = !(c > 0) ? 0 : c >= (double)edges ? edges : (Py_ssize_t)c;             \
            while (j > 0 && v < limits[j - 1]) j--;                                               \
            while (j < edges && v >= limits[j]) j++;                                              \
            lanes[(i % LANES) * bins + j]++;                                                      \
        }                                                                                         \
    }

BINNED(float)
BINNED(double)

/* summary for float32 in explicit 4-wide vectors (GCC/Clang vector extensions): the same sums in
   the same order as the scalar loop (lane k adds elements i + k), so the figures are identical. */
#if defined(__GNUC__)
typedef float vf4 __attribute__((vector_size(16)));
typedef int32_t vi4 __attribute__((vector_size(16)));
typedef double vd4 __attribute__((vector_size(32)));
typedef int64_t vl4 __attribute__((vector_size(32)));
#define HAVE_VECTORS 1

CLONES static void summary_float_vec(const float *restrict x, Py_ssize_t n, double shift, Sums *out,
                                     double *lo_out, double *hi_out, Py_ssize_t *bad_out) {
    double sum_y = 0, sum_yy = 0, abs_sum = 0;
    Py_ssize_t zeros = 0, bad = 0;
    float lo = n ? x[0] : 0, hi = lo;
    const vd4 k = {shift, shift, shift, shift};
    const vl4 magnitude = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    for (Py_ssize_t start = 0; start < n; start += BLOCK) {
        const Py_ssize_t m = start + BLOCK < n ? BLOCK : n - start;
        const float *restrict b = x + start;
        vd4 s = {0, 0, 0, 0}, q = {0, 0, 0, 0}, a = {0, 0, 0, 0};
        vf4 l = {b[0], b[0], b[0], b[0]}, h = l;
        vi4 z = {0, 0, 0, 0}, finite = {0, 0, 0, 0};
        Py_ssize_t i = 0;
        for (; i + 4 <= m; i += 4) {
            vf4 v;
            memcpy(&v, b + i, sizeof v);
            const vd4 d = __builtin_convertvector(v, vd4), y = d - k;
            s += y, q += y * y, a += (vd4)((vl4)d & magnitude);
            z -= (vi4)(v == 0.0f), finite -= (vi4)(v - v == 0.0f);
            const vi4 below = (vi4)(v < l), above = (vi4)(v > h);
            l = (vf4)(((vi4)v & below) | ((vi4)l & ~below));
            h = (vf4)(((vi4)v & above) | ((vi4)h & ~above));
        }
        Py_ssize_t tail_zeros = 0, tail_bad = 0;
        for (; i < m; i++) { /* the scalar loop's lane 0 */
            const double v = b[i], y = v - shift;
            s[0] += y, q[0] += y * y, a[0] += fabs(v), tail_zeros += (v == 0.0);
            tail_bad += !(b[i] - b[i] == 0.0f);
            l[0] = b[i] < l[0] ? b[i] : l[0], h[0] = b[i] > h[0] ? b[i] : h[0];
        }
        sum_y += (s[0] + s[1]) + (s[2] + s[3]);
        sum_yy += (q[0] + q[1]) + (q[2] + q[3]);
        abs_sum += (a[0] + a[1]) + (a[2] + a[3]);
        zeros += tail_zeros + z[0] + z[1] + z[2] + z[3];
        bad += tail_bad + (i / 4) * 4 - (finite[0] + finite[1] + finite[2] + finite[3]);
        for (int j = 0; j < 4; j++) lo = l[j] < lo ? l[j] : lo, hi = h[j] > hi ? h[j] : hi;
    }
    out->sum_y = sum_y, out->sum_yy = sum_yy, out->abs_sum = abs_sum, out->zeros = zeros;
    *lo_out = lo, *hi_out = hi, *bad_out = bad;
}
#else
SUMMARY(float)
#endif

/* x as a contiguous float32/float64 buffer: 1 for float, 2 for double, 0 with an error set. */
static int float_buffer(PyObject *obj, Py_buffer *view, const char *fn) {
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return 0;
    if (strcmp(view->format, "f") == 0) return 1;
    if (strcmp(view->format, "d") == 0) return 2;
    PyErr_Format(PyExc_TypeError, "%s: x must be a contiguous float32 or float64 buffer", fn);
    PyBuffer_Release(view);
    return 0;
}

static PyObject *summary(PyObject *self, PyObject *args) {
    PyObject *x_obj;
    double shift, lo = 0, hi = 0;
    if (!PyArg_ParseTuple(args, "Od", &x_obj, &shift)) return NULL;
    Py_buffer x;
    const int kind = float_buffer(x_obj, &x, "summary");
    if (!kind) return NULL;
    Sums sums = {0, 0, 0, 0};
    Py_ssize_t bad = 0;
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_VECTORS
    if (kind == 1) summary_float_vec((const float *)x.buf, x.len / 4, shift, &sums, &lo, &hi, &bad);
#else /* the same figures, one value at a time */
    if (kind == 1) summary_float((const float *)x.buf, x.len / 4, shift, &sums, &lo, &hi, &bad);
#endif
    else summary_double((const double *)x.buf, x.len / 8, shift, &sums, &lo, &hi, &bad);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    return Py_BuildValue("dddddnn", lo, hi, sums.sum_y, sums.sum_yy, sums.abs_sum, sums.zeros, bad);
}

static PyObject *at_least(PyObject *self, PyObject *args) {
    PyObject *x_obj, *limits_obj, *counts_obj;
    if (!PyArg_ParseTuple(args, "OOO", &x_obj, &limits_obj, &counts_obj)) return NULL;
    Py_buffer x, limits = {0}, counts = {0};
    const int kind = float_buffer(x_obj, &x, "at_least");
    if (!kind) return NULL;
    PyObject *result = NULL;
    if (PyObject_GetBuffer(limits_obj, &limits, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) goto done;
    if (PyObject_GetBuffer(counts_obj, &counts, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto done;
    if (strcmp(limits.format, x.format) != 0 || counts.itemsize != 8 || strchr("lq", counts.format[0]) == NULL ||
        counts.len / 8 != limits.len / limits.itemsize) {
        PyErr_SetString(PyExc_TypeError, "at_least: limits must have x's dtype, counts be int64 of the same length");
        goto done;
    }
    const Py_ssize_t edges = counts.len / 8;
    Py_BEGIN_ALLOW_THREADS
    if (kind == 1) at_least_float((const float *)x.buf, x.len / 4, (const float *)limits.buf, edges, counts.buf);
    else at_least_double((const double *)x.buf, x.len / 8, (const double *)limits.buf, edges, counts.buf);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&x);
    if (limits.obj) PyBuffer_Release(&limits);
    if (counts.obj) PyBuffer_Release(&counts);
    return result;
}

static PyObject *binned(PyObject *self, PyObject *args) {
    PyObject *x_obj, *limits_obj, *counts_obj;
    double lo, scale;
    if (!PyArg_ParseTuple(args, "OOOdd", &x_obj, &limits_obj, &counts_obj, &lo, &scale)) return NULL;
    Py_buffer x, limits = {0}, counts = {0};
    const int kind = float_buffer(x_obj, &x, "binned");
    if (!kind) return NULL;
    PyObject *result = NULL;
    int64_t *lanes = NULL;
    if (PyObject_GetBuffer(limits_obj, &limits, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) goto done;
    if (PyObject_GetBuffer(counts_obj, &counts, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto done;
    const Py_ssize_t edges = limits.len / (limits.itemsize ? limits.itemsize : 1), bins = edges + 1;
    if (strcmp(limits.format, x.format) != 0 || counts.itemsize != 8 || strchr("lq", counts.format[0]) == NULL ||
        counts.len / 8 != bins) {
        PyErr_SetString(PyExc_TypeError, "binned: limits must have x's dtype, counts be int64 and one longer");
        goto done;
    }
    if (!(lanes = calloc(LANES * (size_t)bins, sizeof(int64_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (kind == 1) binned_float((const float *)x.buf, x.len / 4, (const float *)limits.buf, edges, lo, scale, lanes);
    else binned_double((const double *)x.buf, x.len / 8, (const double *)limits.buf, edges, lo, scale, lanes);
    Py_END_ALLOW_THREADS
    int64_t *c = (int64_t *)counts.buf;
    for (Py_ssize_t j = 0; j < bins; j++)
        for (int k = 0; k < LANES; k++) c[j] += lanes[k * bins + j];
    result = Py_None;
    Py_INCREF(result);
done:
    free(lanes);
    PyBuffer_Release(&x);
    if (limits.obj) PyBuffer_Release(&limits);
    if (counts.obj) PyBuffer_Release(&counts);
    return result;
}

static PyMethodDef methods[] = {
    {"summary", summary, METH_VARARGS, "summary(x, shift) -> (lo, hi, sum_y, sum_yy, abs_sum, zeros, nonfinite)"},
    {"at_least", at_least, METH_VARARGS, "at_least(x, limits, counts): counts[e] += #(x >= limits[e])"},
    {"binned", binned, METH_VARARGS, "binned(x, limits, counts, lo, scale): counts[#(limits <= v)] += 1 for each v"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", "Fused statistics passes (see stats.py).", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
