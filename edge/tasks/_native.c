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
 * crop_rle():    a crop's COCO RLE string, as edge/tasks/rle.py and pycocotools write it.
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

/* The runs written as pycocotools' rleToString does: from the fourth count on, the difference
 * to the count two before, in 5-bit groups least significant first, 0x20 "more follows",
 * each + 48. */
typedef struct {
    char *text; /* room for 13 characters (a 64-bit count) per count */
    Py_ssize_t len;
    int64_t before[2]; /* the two counts before this one */
    Py_ssize_t n;      /* counts written */
    int64_t run_start;
    int64_t pending; /* the last flip, not yet counted (cur: whether there is one) */
    int cur;
} Runs;

static void count(Runs *r, int64_t c) {
    int64_t x = r->n > 2 ? c - r->before[r->n % 2] : c;
    r->before[r->n % 2] = c;
    r->n++;
    int more = 1;
    while (more) {
        int64_t g = x & 0x1f;
        x >>= 5; /* arithmetic on negative x, as in pycocotools (gcc and clang shift signed so) */
        more = (g & 0x10) ? x != -1 : x != 0;
        if (more) {
            g |= 0x20;
        }
        r->text[r->len++] = (char)(g + 48);
    }
}

/* The value flips at frame position `pos`; a run of 0 length (a run down to a column's foot
 * and the next from the following column's top) cancels with its neighbour, as the two
 * positions are equal and adjacent. */
static inline void bound(Runs *r, int64_t pos) {
    if (r->cur && pos == r->pending) {
        r->cur = 0; /* cancels the pending one */
        return;
    }
    if (r->cur) {
        count(r, r->pending - r->run_start);
        r->run_start = r->pending;
    }
    r->pending = pos;
    r->cur = 1;
}

/* For each column of rows a (above) and b (below), w bytes each: call f(column) where the
 * two differ (0 and not 0), 8 columns at a time where they agree. */
#define CHANGES(a, b, w, BODY)                                                      \
    do {                                                                            \
        Py_ssize_t x_ = 0;                                                          \
        for (; x_ + 8 <= (w); x_ += 8) {                                            \
            uint64_t p_, q_;                                                        \
            memcpy(&p_, (a) + x_, 8);                                               \
            memcpy(&q_, (b) + x_, 8);                                               \
            if (p_ == q_) {                                                         \
                continue;                                                           \
            }                                                                       \
            for (Py_ssize_t k_ = x_; k_ < x_ + 8; k_++) {                           \
                if (((a)[k_] != 0) != ((b)[k_] != 0)) {                             \
                    const Py_ssize_t col = k_;                                      \
                    BODY;                                                           \
                }                                                                   \
            }                                                                       \
        }                                                                           \
        for (; x_ < (w); x_++) {                                                    \
            if (((a)[x_] != 0) != ((b)[x_] != 0)) {                                 \
                const Py_ssize_t col = x_;                                          \
                BODY;                                                               \
            }                                                                       \
        }                                                                           \
    } while (0)

PyDoc_STRVAR(crop_rle_doc,
             "crop_rle(crop, x0, y0, width, height) -> str\n\n"
             "The compressed COCO RLE counts (pycocotools' rleToString) of a width x height frame that\n"
             "is the C-contiguous one-byte (h, w) crop (0 or not) at (x0, y0) and 0 elsewhere, the frame\n"
             "read column-major. The crop must lie inside the frame.");

static PyObject *crop_rle(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *crop_obj;
    Py_ssize_t x0, y0, W, H;
    if (!PyArg_ParseTuple(args, "Onnnn:crop_rle", &crop_obj, &x0, &y0, &W, &H)) {
        return NULL;
    }
    Buf b = {0};
    if (native_take(crop_obj, &b, 1, "?bB", 0, "crop")) {
        native_release(&b, 1);
        return NULL;
    }
    Py_ssize_t h = b.view.ndim == 2 ? b.view.shape[0] : -1, w = b.view.ndim == 2 ? b.view.shape[1] : -1;
    if (h < 0 || W <= 0 || H <= 0 || x0 < 0 || y0 < 0 || x0 + w > W || y0 + h > H) {
        native_release(&b, 1);
        PyErr_SetString(PyExc_ValueError, "crop_rle: the crop must be 2-D and lie inside a non-empty frame");
        return NULL;
    }
    const unsigned char *px = b.view.buf;
    Runs r = {NULL, 0, {0, 0}, 0, 0, 0, 0};
    /* Where each column changes between rows r - 1 and r (rows -1 and h are 0), found row by
     * row 8 columns at a time, then put in column order (counted, then placed; row order is
     * kept within a column): the frame's flips in column-major order. */
    int64_t *start = calloc((size_t)w + 1, sizeof(int64_t));
    unsigned char *zero = calloc((size_t)w + 1, 1);
    if (start == NULL || zero == NULL) {
        free(start);
        free(zero);
        native_release(&b, 1);
        return PyErr_NoMemory();
    }
    int64_t total = 0;
    int32_t *rows = NULL;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t y = 0; y <= h && h > 0; y++) {
        const unsigned char *above = y ? px + (y - 1) * w : zero, *below = y < h ? px + y * w : zero;
        CHANGES(above, below, w, start[col + 1]++);
    }
    for (Py_ssize_t c = 0; c < w; c++) {
        start[c + 1] += start[c];
    }
    total = start[w];
    rows = malloc((size_t)(total > 0 ? total : 1) * sizeof(int32_t));
    r.text = malloc((size_t)(total + 2) * 13); /* at most a count per flip, and two */
    if (rows != NULL && r.text != NULL) {
        for (Py_ssize_t y = 0; y <= h && h > 0; y++) {
            const unsigned char *above = y ? px + (y - 1) * w : zero, *below = y < h ? px + y * w : zero;
            CHANGES(above, below, w, rows[start[col]++] = (int32_t)y);
        }
        /* start[c] is now the end of column c's flips, start[c - 1] (0 for c = 0) their beginning */
        for (Py_ssize_t c = 0; c < w; c++) {
            const int64_t top = (int64_t)(x0 + c) * H + y0;
            for (int64_t k = c ? start[c - 1] : 0; k < start[c]; k++) {
                bound(&r, top + rows[k]);
            }
        }
        if (r.cur) {
            count(&r, r.pending - r.run_start);
            r.run_start = r.pending;
        }
        if ((int64_t)W * H > r.run_start) {
            count(&r, (int64_t)W * H - r.run_start); /* the zeros to the frame's end */
        }
    }
    Py_END_ALLOW_THREADS;
    free(start);
    free(zero);
    native_release(&b, 1);
    if (rows == NULL || r.text == NULL) {
        free(rows);
        free(r.text);
        return PyErr_NoMemory();
    }
    free(rows);
    PyObject *out = PyUnicode_DecodeASCII(r.text, r.len, "strict");
    free(r.text);
    return out;
}

static PyMethodDef methods[] = {
    {"above", above, METH_VARARGS, above_doc},
    {"crop_rle", crop_rle, METH_VARARGS, crop_rle_doc},
    {"grid_outlines", grid_outlines, METH_VARARGS, grid_outlines_doc},
    {"longest_contours", longest_contours, METH_VARARGS, longest_contours_doc},
    {"nms_ranked", nms_ranked, METH_VARARGS, nms_ranked_doc},
    {"points_json", points_json, METH_O, points_json_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Compiled kernels for edge.tasks (see edge/tasks/native.py).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
