/* COCO RLE strings (response_mask_format: rle), as edge/tasks/rle.py and pycocotools write them.
 *
 * crop_rle(): an accurate crop's string: each row's changes found 8 columns at a time, put in
 *             column order, written as pycocotools' rleToString does.
 * grid_rle(): fast / tradeoff masks' strings straight from their cells, the string of the
 *             frame-size mask in which each pixel takes the cell its centre lies in
 *             (GridMasks.to_frame): a cell column's changes repeat in every frame column it
 *             covers, at the frame rows where its cell rows begin, so no frame-size pixels
 *             are made (what GridMasks.rle_counts does in numpy).
 * field_rle(): fast / tradeoff masks' strings from their field resized bilinearly to the frame,
 *             from the sign changes down each frame column (edge/tasks/field_masks.py).
 */
#include "_native.h"

#include <math.h>

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

/* Counts the last flip and the zeros from it to the end of a frame of `size` pixels. */
static void finish(Runs *r, int64_t size) {
    if (r->cur) {
        count(r, r->pending - r->run_start);
        r->run_start = r->pending;
    }
    if (size > r->run_start) {
        count(r, size - r->run_start);
    }
}

/* Item i of the list `out` becomes r's text (freed); -1 with a Python error otherwise. */
static int put_text(PyObject *out, Py_ssize_t i, Runs *r) {
    PyObject *text = PyUnicode_DecodeASCII(r->text, r->len, "strict");
    free(r->text);
    r->text = NULL;
    if (text == NULL) {
        return -1;
    }
    PyList_SET_ITEM(out, i, text);
    return 0;
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

const char crop_rle_doc[] =
    "crop_rle(crop, x0, y0, width, height) -> str\n\n"
    "The compressed COCO RLE counts (pycocotools' rleToString) of a width x height frame that\n"
    "is the C-contiguous one-byte (h, w) crop (0 or not) at (x0, y0) and 0 elsewhere, the frame\n"
    "read column-major. The crop must lie inside the frame.";

PyObject *crop_rle(PyObject *self, PyObject *args) {
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
        finish(&r, (int64_t)W * H);
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


const char grid_rle_doc[] =
    "grid_rle(crops, windows, col_cell, row_cell) -> list[str]\n\n"
    "The COCO RLE string of each grid mask at frame resolution: crops[i] the C-contiguous one-byte\n"
    "cells of windows[i] (x0, y0, x1, y1 in cells; int64 (n, 4)); col_cell and row_cell (int64, one\n"
    "per frame column and row, non-decreasing) the cell each frame pixel's centre lies in.";

/* The first index of the sorted `map` (n long) whose value is >= v. */
static Py_ssize_t first_at(const int64_t *map, Py_ssize_t n, int64_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (map[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* One grid mask's string into r (its text room already made): flips of each cell column at the
 * frame rows its cell rows begin, repeated for each frame column on that cell column. */
static void grid_runs(Py_ssize_t w, const int64_t *win, const int64_t *col_cell, Py_ssize_t W, const int64_t *row_start,
                      Py_ssize_t H, const int64_t *start, const int32_t *rows, Runs *r) {
    const Py_ssize_t fx0 = first_at(col_cell, W, win[0]), fx1 = first_at(col_cell, W, win[0] + w);
    for (Py_ssize_t x = fx0; x < fx1; x++) {
        const int64_t c = col_cell[x] - win[0], top = (int64_t)x * H;
        for (int64_t k = c ? start[c - 1] : 0; k < start[c]; k++) {
            bound(r, top + row_start[rows[k]]);
        }
    }
    finish(r, (int64_t)W * H);
}

PyObject *grid_rle(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *crops_obj, *win_obj, *col_obj, *row_obj;
    if (!PyArg_ParseTuple(args, "O!OOO:grid_rle", &PyList_Type, &crops_obj, &win_obj, &col_obj, &row_obj)) {
        return NULL;
    }
    const Py_ssize_t n = PyList_GET_SIZE(crops_obj);
    Buf b[3];
    memset(b, 0, sizeof b);
    Buf *cb = calloc((size_t)(n ? n : 1), sizeof(Buf));
    PyObject *out = NULL;
    if (cb == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t largest = 0;
    if (native_take(win_obj, &b[0], 8, "qlL", 0, "windows") || native_take(col_obj, &b[1], 8, "qlL", 0, "col_cell") ||
        native_take(row_obj, &b[2], 8, "qlL", 0, "row_cell")) {
        goto done;
    }
    const Py_ssize_t W = b[1].view.len / 8, H = b[2].view.len / 8;
    const int64_t *win = b[0].view.buf, *col_cell = b[1].view.buf, *row_cell = b[2].view.buf;
    if (b[0].view.len != n * 32 || W <= 0 || H <= 0) {
        PyErr_SetString(PyExc_ValueError, "grid_rle: windows must be (n, 4) for n crops, the maps not empty");
        goto done;
    }
    for (Py_ssize_t i = 1; i < W || i < H; i++) {
        if ((i < W && col_cell[i] < col_cell[i - 1]) || (i < H && row_cell[i] < row_cell[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "grid_rle: col_cell and row_cell must not decrease");
            goto done;
        }
    }
    if (take_crops(crops_obj, win, n, cb, &largest, "grid_rle")) {
        goto done;
    }
    out = PyList_New(n);
    if (out == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const Py_buffer *v = &cb[i].view;
        const Py_ssize_t h = v->shape[0], w = v->shape[1];
        const unsigned char *px = v->buf;
        /* Per cell column, its flips (cell rows 0..h, where the value differs from the row
         * above; rows -1 and h are 0), counted then placed, in row order. */
        int64_t *start = calloc((size_t)w + 1, sizeof(int64_t));
        int64_t *row_start = malloc(((size_t)h + 1) * sizeof(int64_t));
        unsigned char *zero = calloc((size_t)w + 1, 1);
        int32_t *rows = NULL;
        Runs r = {NULL, 0, {0, 0}, 0, 0, 0, 0};
        int ok = start != NULL && row_start != NULL && zero != NULL;
        if (ok) {
            Py_BEGIN_ALLOW_THREADS;
            for (Py_ssize_t y = 0; y <= h; y++) {
                row_start[y] = first_at(row_cell, H, win[4 * i + 1] + y);
            }
            for (Py_ssize_t y = 0; y <= h && h > 0; y++) {
                const unsigned char *above = y ? px + (y - 1) * w : zero, *below = y < h ? px + y * w : zero;
                CHANGES(above, below, w, start[col + 1]++);
            }
            for (Py_ssize_t c = 0; c < w; c++) {
                start[c + 1] += start[c];
            }
            const int64_t flips = start[w];
            const Py_ssize_t fx0 = first_at(col_cell, W, win[4 * i]), fx1 = first_at(col_cell, W, win[4 * i] + w);
            rows = malloc((size_t)(flips > 0 ? flips : 1) * sizeof(int32_t));
            /* at most every flip in every frame column, and two */
            r.text = malloc((size_t)(flips * (fx1 > fx0 ? fx1 - fx0 : 0) + 2) * 13);
            ok = rows != NULL && r.text != NULL;
            if (ok) {
                for (Py_ssize_t y = 0; y <= h && h > 0; y++) {
                    const unsigned char *above = y ? px + (y - 1) * w : zero, *below = y < h ? px + y * w : zero;
                    CHANGES(above, below, w, rows[start[col]++] = (int32_t)y);
                }
                grid_runs(w, win + 4 * i, col_cell, W, row_start, H, start, rows, &r);
            }
            Py_END_ALLOW_THREADS;
        }
        free(start);
        free(row_start);
        free(zero);
        free(rows);
        if (!ok) {
            free(r.text);
            Py_CLEAR(out);
            PyErr_NoMemory();
            goto done;
        }
        if (put_text(out, i, &r)) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    native_release(b, 3);
    native_release(cb, (int)n);
    free(cb);
    return out;
}

const char field_rle_doc[] =
    "field_rle(flat, windows, pixel_boxes, grid_w, grid_h, width, height) -> list[str]\n\n"
    "The COCO RLE string of each fast / tradeoff mask where its field, resized bilinearly to the\n"
    "width x height frame, is above zero, cut to its box (edge/tasks/field_masks.py, the same\n"
    "float64 operations): flat (float32) every instance's field over its window of cells,\n"
    "row-major, one after another; windows (int64 (n, 4) x0, y0, x1, y1 in cells, inside the\n"
    "grid_w x grid_h grid) and pixel_boxes (int64 (n, 4), frame pixels, inside the frame).";

/* One instance's string into r (its text room made): per frame column of its box, the field
 * interpolated in x at the window's cell rows into v, then a flip at each sign change. `cols`
 * (fw * fh doubles) takes the field column by column, so each interpolation reads two
 * contiguous columns (15-25 % less time than strided reads on smooth fields). */
static void field_runs(const float *f, const int64_t *win, const int64_t *box, double sx, double ry, Py_ssize_t H,
                       double *v, double *cols, Runs *r) {
    const int64_t ex0 = win[0], ey0 = win[1], ex1 = win[2], ey1 = win[3];
    const int64_t fw = ex1 - ex0, fh = ey1 - ey0, py0 = box[1], py1 = box[3];
    for (int64_t k = 0; k < fh; k++) {
        for (int64_t c = 0; c < fw; c++) {
            cols[c * fh + k] = (double)f[k * fw + c];
        }
    }
    for (int64_t x = box[0]; x < box[2] && py0 < py1; x++) {
        double u = ((double)x + 0.5) * sx - 0.5;
        u = u < (double)ex0 ? (double)ex0 : u;
        u = u > (double)(ex1 - 1) ? (double)(ex1 - 1) : u;
        const double c0 = floor(u), a = u - c0;
        const int64_t i0 = (int64_t)c0 - ex0, i1 = i0 + 1 < fw ? i0 + 1 : fw - 1;
        const double *p = cols + i0 * fh, *q = cols + i1 * fh, b = 1.0 - a;
        for (int64_t k = 0; k < fh; k++) {
            v[k] = p[k] * b + q[k] * a;
        }
        const int64_t top = x * (int64_t)H;
        if (v[0] > 0.0) {
            bound(r, top + py0);
        }
        for (int64_t k = 0; k + 1 < fh; k++) {
            if ((v[k] > 0.0) == (v[k + 1] > 0.0)) {
                continue;
            }
            const double t = (double)(ey0 + k) + v[k] / (v[k] - v[k + 1]);
            const double y = (t + 0.5) * ry - 0.5;
            double row = v[k] > 0.0 ? ceil(y) : floor(y) + 1.0;
            row = row < (double)py0 ? (double)py0 : row;
            row = row > (double)py1 ? (double)py1 : row;
            bound(r, top + (int64_t)row);
        }
        if (v[fh - 1] > 0.0) {
            bound(r, top + py1);
        }
    }
}

PyObject *field_rle(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *flat_obj, *win_obj, *box_obj;
    Py_ssize_t gw, gh, W, H;
    if (!PyArg_ParseTuple(args, "OOOnnnn:field_rle", &flat_obj, &win_obj, &box_obj, &gw, &gh, &W, &H)) {
        return NULL;
    }
    Buf b[3];
    memset(b, 0, sizeof b);
    PyObject *out = NULL;
    double *v = NULL, *cols = NULL;
    if (native_take(flat_obj, &b[0], 4, "f", 0, "flat") || native_take(win_obj, &b[1], 8, "qlL", 0, "windows") ||
        native_take(box_obj, &b[2], 8, "qlL", 0, "pixel_boxes")) {
        goto done;
    }
    const Py_ssize_t n = b[1].view.len / 32;
    const int64_t *win = b[1].view.buf, *box = b[2].view.buf;
    if (gw <= 0 || gh <= 0 || W <= 0 || H <= 0 || b[1].view.len % 32 || b[2].view.len != b[1].view.len) {
        PyErr_SetString(PyExc_ValueError, "field_rle: windows and pixel_boxes must be (n, 4) alike, the sizes positive");
        goto done;
    }
    Py_ssize_t cells = 0, tallest = 1, largest = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *w = win + 4 * i, *p = box + 4 * i;
        if (w[0] < 0 || w[1] < 0 || w[2] > gw || w[3] > gh || w[2] <= w[0] || w[3] <= w[1] || p[0] < 0 || p[1] < 0 ||
            p[2] > W || p[3] > H || p[2] < p[0] || p[3] < p[1]) {
            PyErr_Format(PyExc_ValueError, "field_rle: window or box %zd is empty, inverted or outside its grid", i);
            goto done;
        }
        const Py_ssize_t size = (Py_ssize_t)((w[2] - w[0]) * (w[3] - w[1]));
        cells += size;
        largest = size > largest ? size : largest;
        tallest = w[3] - w[1] > tallest ? (Py_ssize_t)(w[3] - w[1]) : tallest;
    }
    if (b[0].view.len != cells * 4) {
        PyErr_Format(PyExc_ValueError, "field_rle: flat must hold the %zd cells of the windows", cells);
        goto done;
    }
    v = malloc((size_t)tallest * sizeof(double));
    cols = malloc((size_t)largest * sizeof(double));
    out = v == NULL || cols == NULL ? PyErr_NoMemory() : PyList_New(n);
    if (out == NULL) {
        goto done;
    }
    const float *f = b[0].view.buf;
    const double sx = (double)gw / (double)W, ry = (double)H / (double)gh;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *w = win + 4 * i, *p = box + 4 * i;
        const int64_t fh = w[3] - w[1];
        Runs r = {NULL, 0, {0, 0}, 0, 0, 0, 0};
        /* at most fh + 1 flips in each of the box's columns, and two */
        r.text = malloc((size_t)((p[2] - p[0]) * (fh + 1) + 2) * 13);
        if (r.text == NULL) {
            Py_CLEAR(out);
            PyErr_NoMemory();
            goto done;
        }
        Py_BEGIN_ALLOW_THREADS;
        field_runs(f, w, p, sx, ry, H, v, cols, &r);
        finish(&r, (int64_t)W * H);
        Py_END_ALLOW_THREADS;
        if (put_text(out, i, &r)) {
            Py_CLEAR(out);
            goto done;
        }
        f += (w[2] - w[0]) * fh;
    }
done:
    free(v);
    free(cols);
    native_release(b, 3);
    return out;
}
