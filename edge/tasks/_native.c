/* edge.tasks._native: the hot loops of instance segmentation's post-processing, in C.
 *
 * above():       an instance's mask window, upsampled (bilinear) and thresholded in one pass.
 *                The numpy path (edge/tasks/resample.py: interpolate_above) forms the same
 *                values in five array passes, the cv2.resize path (edge/tasks/window_resize.py)
 *                in three plus a check of the pixels close to the threshold. The arithmetic is
 *                the numpy path's, operation for operation, in float32: each product and sum
 *                rounded (setup.py builds with -ffp-contract=off, so no fused multiply-add
 *                merges a product into a sum), hence the same bits.
 * points_json(): an outline on whole pixels as the JSON orjson writes for its dicts.
 * crop_rle():    a crop's COCO RLE string, as edge/tasks/rle.py and pycocotools write it (_rle.c).
 * grid_rle():    the COCO RLE strings of grid masks, straight from their cells (_rle.c).
 * field_rle():   fast / tradeoff masks' strings from their field, column by column (_rle.c).
 * longest_contours(): each crop's longest outer contour, as cv2.findContours (_contours.c).
 * grid_outlines(): fast / tradeoff outlines, traced and placed between cells (_outlines.c).
 * nms_ranked():  greedy NMS of ranked boxes, IoUs only against the boxes still standing (_boxes.c).
 *
 * above() and crop_rle() release the GIL for their loops; each checks every argument before
 * reading. No NumPy C API: the arrays come in through the buffer protocol, so the module does
 * not depend on the NumPy version it was built against (JetPack needs NumPy 1.x).
 */
#include "_native.h"

void native_release(Buf *bufs, int n) {
    for (int i = 0; i < n; i++) {
        if (bufs[i].held) {
            PyBuffer_Release(&bufs[i].view);
            bufs[i].held = 0;
        }
    }
}

/* A C-contiguous buffer of `itemsize`-byte items whose format is one of `formats`. */
int native_take(PyObject *obj, Buf *buf, Py_ssize_t itemsize, const char *formats, int writable, const char *what) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &buf->view, flags) != 0) {
        return -1;
    }
    buf->held = 1;
    const char *fmt = buf->view.format ? buf->view.format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') {
        fmt++;
    }
    if (buf->view.itemsize != itemsize || fmt[0] == '\0' || fmt[1] != '\0' || strchr(formats, fmt[0]) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s: expected %zd-byte items of format %s, got format %s", what, itemsize,
                     formats, buf->view.format ? buf->view.format : "B");
        return -1;
    }
    return 0;
}

static int in_range(const int64_t *idx, Py_ssize_t n, int64_t offset, int64_t limit) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (idx[i] - offset < 0 || idx[i] - offset >= limit) {
            return 0;
        }
    }
    return 1;
}

/* One axis's taps, the whole map's: output pixel i reads source lo[i] and hi[i]. */
typedef struct {
    const int64_t *lo, *hi;
    const float *w0, *w1;
    Py_ssize_t n;
} Taps;

static int axis(PyObject *lo, PyObject *hi, PyObject *w0, PyObject *w1, Buf *b, Taps *t, const char *what) {
    if (native_take(lo, &b[0], 8, "qlL", 0, what) || native_take(hi, &b[1], 8, "qlL", 0, what) || native_take(w0, &b[2], 4, "f", 0, what) ||
        native_take(w1, &b[3], 4, "f", 0, what)) {
        return -1;
    }
    t->n = b[0].view.len / 8;
    if (b[1].view.len != t->n * 8 || b[2].view.len != t->n * 4 || b[3].view.len != t->n * 4) {
        PyErr_Format(PyExc_ValueError, "above: the %s taps' four arrays differ in length", what);
        return -1;
    }
    t->lo = b[0].view.buf;
    t->hi = b[1].view.buf;
    t->w0 = b[2].view.buf;
    t->w1 = b[3].view.buf;
    return 0;
}

PyDoc_STRVAR(above_doc,
             "above(values, row0, col0, rows, cols, window, threshold, out)\n\n"
             "out = interpolate(map, rows, cols)[y0:y1, x0:x1] > threshold, where rows and cols are the\n"
             "whole map's taps (lo, hi: int64; w0, w1: float32), window = (y0, y1, x0, x1), values a\n"
             "C-contiguous float32 array holding the map's cells from (row0, col0) on (every cell the\n"
             "window reads), and out a C-contiguous one-byte (y1 - y0, x1 - x0) array, written 0 or 1.\n"
             "Each product and sum is rounded to float32, horizontal pass first, as the numpy path.");

static PyObject *above(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *values_obj, *out_obj, *r[4], *c[4];
    Py_ssize_t row0, col0, y0, y1, x0, x1;
    float threshold;
    if (!PyArg_ParseTuple(args, "Onn(OOOO)(OOOO)(nnnn)fO:above", &values_obj, &row0, &col0, &r[0], &r[1], &r[2], &r[3],
                          &c[0], &c[1], &c[2], &c[3], &y0, &y1, &x0, &x1, &threshold, &out_obj)) {
        return NULL;
    }
    Buf b[10];
    memset(b, 0, sizeof b);
    Taps rows, cols;
    if (native_take(values_obj, &b[0], 4, "f", 0, "values") || axis(r[0], r[1], r[2], r[3], &b[1], &rows, "row") ||
        axis(c[0], c[1], c[2], c[3], &b[5], &cols, "column") || native_take(out_obj, &b[9], 1, "?bB", 1, "out")) {
        native_release(b, 10);
        return NULL;
    }
    Py_buffer *vv = &b[0].view;
    if (vv->ndim != 2 || y0 < 0 || y1 < y0 || y1 > rows.n || x0 < 0 || x1 < x0 || x1 > cols.n ||
        b[9].view.len != (y1 - y0) * (x1 - x0)) {
        native_release(b, 10);
        PyErr_SetString(PyExc_ValueError, "above: values must be 2-D and the window inside the taps, out its size");
        return NULL;
    }
    const Py_ssize_t R = vv->shape[0], C = vv->shape[1], H = y1 - y0, W = x1 - x0;
    const int64_t *rlo = rows.lo + y0, *rhi = rows.hi + y0, *clo = cols.lo + x0, *chi = cols.hi + x0;
    const float *rw0 = rows.w0 + y0, *rw1 = rows.w1 + y0, *cw0 = cols.w0 + x0, *cw1 = cols.w1 + x0;
    if (!in_range(rlo, H, row0, R) || !in_range(rhi, H, row0, R) || !in_range(clo, W, col0, C) ||
        !in_range(chi, W, col0, C)) {
        native_release(b, 10);
        PyErr_SetString(PyExc_IndexError, "above: the window reads cells outside values");
        return NULL;
    }
    if (H == 0 || W == 0) {
        native_release(b, 10);
        Py_RETURN_NONE;
    }
    /* Only the source rows the window reads (taps are not assumed sorted). */
    int64_t first = R, last = -1;
    for (Py_ssize_t y = 0; y < H; y++) {
        int64_t lo = (rlo[y] < rhi[y] ? rlo[y] : rhi[y]) - row0, hi = (rlo[y] < rhi[y] ? rhi[y] : rlo[y]) - row0;
        first = lo < first ? lo : first;
        last = hi > last ? hi : last;
    }
    const Py_ssize_t used = (Py_ssize_t)(last - first + 1);
    float *horiz = malloc((size_t)used * (size_t)W * sizeof(float));
    int64_t *cl = malloc((size_t)W * 2 * sizeof(int64_t));
    if (horiz == NULL || cl == NULL) {
        free(horiz);
        free(cl);
        native_release(b, 10);
        return PyErr_NoMemory();
    }
    const float *v = vv->buf;
    unsigned char *out = b[9].view.buf;
    Py_BEGIN_ALLOW_THREADS;
    int64_t *ch = cl + W;
    for (Py_ssize_t x = 0; x < W; x++) {
        cl[x] = clo[x] - col0;
        ch[x] = chi[x] - col0;
    }
    for (Py_ssize_t k = 0; k < used; k++) {
        const float *row = v + (first + k) * C;
        float *h = horiz + k * W;
        for (Py_ssize_t x = 0; x < W; x++) {
            float p = row[cl[x]] * cw0[x];
            float q = row[ch[x]] * cw1[x];
            h[x] = p + q;
        }
    }
    for (Py_ssize_t y = 0; y < H; y++) {
        const float *a = horiz + (rlo[y] - row0 - first) * W, *d = horiz + (rhi[y] - row0 - first) * W;
        const float w0 = rw0[y], w1 = rw1[y];
        unsigned char *o = out + y * W;
        for (Py_ssize_t x = 0; x < W; x++) {
            float p = a[x] * w0;
            float q = d[x] * w1;
            float s = p + q;
            o[x] = s > threshold;
        }
    }
    Py_END_ALLOW_THREADS;
    free(horiz);
    free(cl);
    native_release(b, 10);
    Py_RETURN_NONE;
}

/* Writes the decimal digits of 0 <= n < 2^31; returns the end. */
static char *digits(char *at, uint32_t n) {
    char tmp[10];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (k) {
        *at++ = tmp[--k];
    }
    return at;
}

PyDoc_STRVAR(points_json_doc,
             "points_json(xy) -> bytes | None\n\n"
             "The JSON of [{\"x\": x, \"y\": y}, ...] for a C-contiguous float64 (k, 2) array, byte for byte\n"
             "what orjson writes for those dicts, when every coordinate is a whole number in\n"
             "[0, 2**31) (an accurate outline's); None otherwise, for the caller's general path.");

static PyObject *points_json(PyObject *self, PyObject *arg) {
    (void)self;
    Buf b = {0};
    if (native_take(arg, &b, 8, "d", 0, "xy")) {
        native_release(&b, 1);
        return NULL;
    }
    const Py_ssize_t n = b.view.len / 8;
    if (n % 2) {
        native_release(&b, 1);
        PyErr_SetString(PyExc_ValueError, "points_json: xy must hold (x, y) pairs");
        return NULL;
    }
    const double *xy = b.view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = xy[i];
        /* v == v rejects NaN; signbit rejects -0.0, which orjson spells "-0.0". */
        if (!(v >= 0.0 && v < 2147483648.0) || v != (double)(uint32_t)v || (v == 0.0 && 1.0 / v < 0)) {
            native_release(&b, 1);
            Py_RETURN_NONE;
        }
    }
    /* {"x":2147483647.0,"y":2147483647.0}, is 37 bytes; brackets 2. */
    PyObject *out = PyBytes_FromStringAndSize(NULL, 2 + 37 * (n / 2));
    if (out == NULL) {
        native_release(&b, 1);
        return NULL;
    }
    char *start = PyBytes_AS_STRING(out), *at = start;
    *at++ = '[';
    for (Py_ssize_t i = 0; i < n; i += 2) {
        memcpy(at, "{\"x\":", 5);
        at = digits(at + 5, (uint32_t)xy[i]);
        memcpy(at, ".0,\"y\":", 7);
        at = digits(at + 7, (uint32_t)xy[i + 1]);
        memcpy(at, ".0},", 4);
        at += 4;
    }
    if (n) {
        at--; /* the last vertex's comma */
    }
    *at++ = ']';
    native_release(&b, 1);
    if (_PyBytes_Resize(&out, at - start) != 0) {
        return NULL;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"above", above, METH_VARARGS, above_doc},
    {"crop_rle", crop_rle, METH_VARARGS, crop_rle_doc},
    {"grid_outlines", grid_outlines, METH_VARARGS, grid_outlines_doc},
    {"field_rle", field_rle, METH_VARARGS, field_rle_doc},
    {"grid_rle", grid_rle, METH_VARARGS, grid_rle_doc},
    {"longest_contours", longest_contours, METH_VARARGS, longest_contours_doc},
    {"nms_ranked", nms_ranked, METH_VARARGS, nms_ranked_doc},
    {"points_json", points_json, METH_O, points_json_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Compiled kernels for edge.tasks (see edge/tasks/native.py).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
