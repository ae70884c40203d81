/* One fused pass over a finite float32/float64 vector, for modelscope/stats.py.

   scan(x, shift, lo, scale, counts) -> (sum_y, sum_yy, abs_sum, zeros)

   x       contiguous 1-D buffer of float32 ("f") or float64 ("d"), all values finite, >= lo
   shift   the sums are of y = x - shift, taken in double
   counts  contiguous int64 buffer of `bins` counters, or None for no histogram; the value v
           adds 1 to counts[min(floor((v - lo) * scale), bins - 1)], computed in double.
           stats.py turns these codes into np.histogram's exact bins (see _BinCounter).

   Sums run over blocks of BLOCK elements in four lanes each, then into the totals (rounding
   error grows with BLOCK + n / BLOCK, not with n). The GIL is released: two threads can scan
   two halves of one variable. An accelerator only: without it stats.py computes the same
   figures with NumPy. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 1024
#define LANES 8 /* histograms counted side by side: one counter bumped back to back stalls */

typedef struct {
    double sum_y, sum_yy, abs_sum;
    Py_ssize_t zeros;
} Sums;

#define SCAN(T)                                                                                   \
    static void scan_##T(const T *restrict x, Py_ssize_t n, double shift, double lo, double scale, \
                         Py_ssize_t bins, int64_t *restrict lanes, Sums *out) {                    \
        double sum_y = 0, sum_yy = 0, abs_sum = 0;                                                \
        Py_ssize_t zeros = 0;                                                                     \
        uint32_t code[BLOCK];                                                                     \
        for (Py_ssize_t start = 0; start < n; start += BLOCK) {                                   \
            const Py_ssize_t m = start + BLOCK < n ? BLOCK : n - start;                           \
            const T *restrict b = x + start;                                                      \
            double s[4] = {0, 0, 0, 0}, q[4] = {0, 0, 0, 0}, a[4] = {0, 0, 0, 0};                 \
            Py_ssize_t i = 0;                                                                     \
            for (; i + 4 <= m; i += 4)                                                            \
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
            if (!lanes) continue;                                                                 \
            for (i = 0; i < m; i++) { /* codes first (vectorised), then counting */              \
                const double c = ((double)b[i] - lo) * scale;                                     \
                code[i] = c < (double)(bins - 1) ? (uint32_t)c : (uint32_t)(bins - 1);            \
            }                                                                                     \
            for (i = 0; i + LANES <= m; i += LANES)                                               \
                for (int k = 0; k < LANES; k++) lanes[k * bins + code[i + k]]++;                  \
            for (; i < m; i++) lanes[code[i]]++;                                                  \
        }                                                                                         \
        out->sum_y = sum_y, out->sum_yy = sum_yy, out->abs_sum = abs_sum, out->zeros = zeros;     \
    }

SCAN(float)
SCAN(double)

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *x_obj, *counts_obj;
    double shift, lo, scale;
    if (!PyArg_ParseTuple(args, "OdddO", &x_obj, &shift, &lo, &scale, &counts_obj)) return NULL;
    Py_buffer x, counts = {0};
    if (PyObject_GetBuffer(x_obj, &x, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    PyObject *result = NULL;
    int64_t *lanes = NULL;
    const int is_float = strcmp(x.format, "f") == 0, is_double = strcmp(x.format, "d") == 0;
    if (!is_float && !is_double) {
        PyErr_SetString(PyExc_TypeError, "scan: x must be a contiguous float32 or float64 buffer");
        goto done;
    }
    Py_ssize_t bins = 0;
    if (counts_obj != Py_None) {
        if (PyObject_GetBuffer(counts_obj, &counts, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) goto done;
        bins = counts.len / 8;
        if (counts.itemsize != 8 || strchr("lq", counts.format[0]) == NULL || bins < 1 || !(scale >= 0)) {
            PyErr_SetString(PyExc_TypeError, "scan: counts must be int64 with at least one bin, scale >= 0");
            goto done;
        }
        if (!(lanes = calloc(LANES * (size_t)bins, sizeof(int64_t)))) {
            PyErr_NoMemory();
            goto done;
        }
    }
    Sums sums = {0, 0, 0, 0};
    const Py_ssize_t n = x.len / x.itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (is_float) scan_float((const float *)x.buf, n, shift, lo, scale, bins, lanes, &sums);
    else scan_double((const double *)x.buf, n, shift, lo, scale, bins, lanes, &sums);
    Py_END_ALLOW_THREADS
    if (lanes) {
        int64_t *c = (int64_t *)counts.buf;
        for (Py_ssize_t j = 0; j < bins; j++)
            for (int k = 0; k < LANES; k++) c[j] += lanes[k * bins + j];
    }
    result = Py_BuildValue("dddn", sums.sum_y, sums.sum_yy, sums.abs_sum, sums.zeros);
done:
    free(lanes);
    PyBuffer_Release(&x);
    if (counts.obj) PyBuffer_Release(&counts);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "scan(x, shift, lo, scale, counts) -> (sum_y, sum_yy, abs_sum, zeros)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", "Fused statistics pass (see stats.py).", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
