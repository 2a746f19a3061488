/* grid_outlines(): the outlines of fast / tradeoff grid masks, traced on the cells and placed
 * between them, in one call for a frame's instances.
 *
 * The numpy path does this in two steps: cv2.findContours per crop (edge/tasks/subcell.py:
 * trace_cells), then subcell_outlines over every vertex at once. On a crowd of small grid crops
 * both are set-up, not work: ~15 microseconds a crop for the trace and a hundred array passes
 * over a few thousand vertices for the placement (issue 18). Here each crop is traced and its
 * vertices placed while they are in cache.
 *
 * The trace is _contours.c's (OpenCV's, CHAIN_APPROX_NONE: the same points). The placement is
 * subcell_outlines', operation for operation: float32 where numpy computes in float32, double
 * where it promotes (an int64 plus a float32 is a double), built with -ffp-contract=off, hence
 * the same vertices. tests/tasks/test_outlines_native.py holds the two paths to that.
 */
#include "_native.h"

#include <math.h>

/* One instance's field (subcell.py's _Sampler, for one instance). */
typedef struct {
    const float *v;
    int64_t x0, y0, w, h, wmax, hmax;
} Field;

static float cell(const Field *f, int64_t x, int64_t y) {
    const int64_t lx = x - f->x0, ly = y - f->y0;
    if (lx < 0 || lx >= f->w || ly < 0 || ly >= f->h) {
        return INFINITY;
    }
    return f->v[ly * f->w + lx];
}

/* The bilinear interpolant and its gradient at field coordinates (x, y), as _Sampler.at. */
/* floorf for |v| < 2^23 (a field's coordinates), without a libm call. */
static inline int64_t floor_index(float v) {
    const int64_t i = (int64_t)v;
    return (float)i > v ? i - 1 : i;
}

static void sample(const Field *f, float x, float y, float *value, float *gx, float *gy) {
    int64_t ix = floor_index(x), iy = floor_index(y);
    ix = ix < 0 ? 0 : ix;
    ix = ix < f->wmax ? ix : f->wmax;
    iy = iy < 0 ? 0 : iy;
    iy = iy < f->hmax ? iy : f->hmax;
    const int64_t dx = (ix + 1 < f->w - 1 ? ix + 1 : f->w - 1) - ix;
    const int64_t row0 = iy * f->w + ix;
    const int64_t row1 = row0 + ((iy + 1 < f->h - 1 ? iy + 1 : f->h - 1) - iy) * f->w;
    const float fx = x - (float)ix, fy = y - (float)iy;
    const float v00 = f->v[row0], v10 = f->v[row0 + dx], v01 = f->v[row1], v11 = f->v[row1 + dx];
    const float top = v00 + (v10 - v00) * fx;
    const float bottom = v01 + (v11 - v01) * fx;
    *gx = (v10 - v00) + ((v11 - v01) - (v10 - v00)) * fy;
    *value = top + (bottom - top) * fy;
    *gy = bottom - top;
}

static float clampf(float v, float lo, float hi) { /* np.clip: NaN stays NaN */
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

typedef struct {
    double sx, sy;
    Py_ssize_t stride;
    int steps;
    float reach;
    const float *normal_x, *normal_y;
    /* Per normal: its step in frame pixels (normal times the cell's size) and the fraction of
     * it that is half a pixel, as subcell_outlines forms them per vertex (the same hypotf). */
    float ox[34], oy[34], back[34];
} Placement;

typedef struct {
    double *xy;
    Py_ssize_t len, cap;
} Out;

/* subcell_outlines for one instance: contour (px, py) of k cells, cell window `win`, pixel box
 * `box`; appends its vertices to `out`. `work` holds 5 * k doubles. */
static int place(const Placement *pl, const Field *f, const int64_t *px_all, const int64_t *py_all, Py_ssize_t k,
                 const int64_t *win, const int64_t *box, double *work, Out *out) {
    double *rx = work, *ry = rx + k; /* the chosen vertices, doubles first: all aligned */
    int64_t *px = (int64_t *)(ry + k), *py = px + k;
    uint8_t *codes = (uint8_t *)(py + k);
    Py_ssize_t m = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        const Py_ssize_t n = j + 1 < k ? j + 1 : 0, p = j > 0 ? j - 1 : k - 1;
        const int64_t tx = px_all[n] - px_all[p], ty = py_all[n] - py_all[p];
        const int64_t ix = px_all[j] - px_all[p], iy = py_all[j] - py_all[p];
        if (tx < -2 || tx > 2 || ty < -2 || ty > 2 || ix < -1 || ix > 1 || iy < -1 || iy > 1) {
            return -2; /* not an 8-connected contour: cannot happen for a traced one */
        }
        const int64_t code = (tx == 0 && ty == 0) ? 25 + (ix + 1) * 3 + (iy + 1) : (tx + 2) * 5 + (ty + 2);
        if (pl->stride > 1) {
            const int turn = (px_all[n] - px_all[j] != px_all[j] - px_all[p]) ||
                             (py_all[n] - py_all[j] != py_all[j] - py_all[p]);
            if (!turn && j % pl->stride != 0) {
                continue;
            }
        }
        px[m] = px_all[j];
        py[m] = py_all[j];
        codes[m] = (uint8_t)code;
        m++;
    }
    const int64_t bx0 = box[0], by0 = box[1];
    const int64_t bx1 = box[2] - 1 > box[0] ? box[2] - 1 : box[0], by1 = box[3] - 1 > box[1] ? box[3] - 1 : box[1];
    const int64_t wx0 = win[0], wy0 = win[1], wx1 = win[2] - 1, wy1 = win[3] - 1;
    for (Py_ssize_t j = 0; j < m; j++) {
        const int c = codes[j];
        const float nx = pl->normal_x[c], ny = pl->normal_y[c];
        const float qx = (float)(px[j] - f->x0), qy = (float)(py[j] - f->y0);
        float tj = 0.5f;
        for (int s = 0; s < pl->steps; s++) {
            float value, gx, gy;
            sample(f, qx + nx * tj, qy + ny * tj, &value, &gx, &gy);
            const float a = gx * nx, b = gy * ny;
            const float slope = a + b;
            const float step = slope < -1e-6f ? -value / slope : 0.0f;
            tj = clampf(tj + clampf(step, -0.75f, 0.75f), 0.0f, pl->reach);
        }
        const double fx = ((double)px[j] + (double)(nx * tj) + 0.5) * pl->sx - 0.5 - (double)(pl->ox[c] * pl->back[c]);
        const double fy = ((double)py[j] + (double)(ny * tj) + 0.5) * pl->sy - 0.5 - (double)(pl->oy[c] * pl->back[c]);
        double cx = fx < (double)bx0 ? (double)bx0 : fx;
        cx = cx > (double)bx1 ? (double)bx1 : cx;
        double cy = fy < (double)by0 ? (double)by0 : fy;
        cy = cy > (double)by1 ? (double)by1 : cy;
        /* On the window's edge with the field still > 0 past it: the box's cut. */
        if (px[j] == wx0 && cell(f, px[j] - 1, py[j]) > 0) {
            cx = (double)bx0;
        }
        if (px[j] == wx1 && cell(f, px[j] + 1, py[j]) > 0) {
            cx = (double)bx1;
        }
        if (py[j] == wy0 && cell(f, px[j], py[j] - 1) > 0) {
            cy = (double)by0;
        }
        if (py[j] == wy1 && cell(f, px[j], py[j] + 1) > 0) {
            cy = (double)by1;
        }
        rx[j] = rint(cx) + 0.0;
        ry[j] = rint(cy) + 0.0;
    }
    if (out->len + 2 * m > out->cap) {
        Py_ssize_t cap = out->cap ? out->cap : 4096;
        while (cap < out->len + 2 * m) {
            cap *= 2;
        }
        double *xy = realloc(out->xy, (size_t)cap * sizeof(double));
        if (xy == NULL) {
            return -1;
        }
        out->xy = xy;
        out->cap = cap;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        const Py_ssize_t n = j + 1 < m ? j + 1 : 0, p = j > 0 ? j - 1 : m - 1;
        const double dxi = rx[j] - rx[p], dyi = ry[j] - ry[p], dxo = rx[n] - rx[j], dyo = ry[n] - ry[j];
        const int moved = dxi != 0 || dyi != 0;
        const int straight = (dxi * dyo == dyi * dxo) && (dxi * dxo + dyi * dyo > 0);
        if ((moved && !straight) || m == 1) {
            out->xy[out->len++] = rx[j];
            out->xy[out->len++] = ry[j];
        }
    }
    return 0;
}

const char grid_outlines_doc[] =
    "grid_outlines(crops, windows, field, field_windows, pixel_boxes, sx, sy, stride, steps, reach,\n"
    "              normal_x, normal_y) -> (points, counts, traced)\n\n"
    "Each crop's longest outer contour (cv2.findContours, RETR_EXTERNAL, CHAIN_APPROX_NONE), placed\n"
    "between the cells as edge.tasks.subcell.subcell_outlines places it. crops: n C-contiguous\n"
    "one-byte 2-D arrays, crop i the cells of windows[i] (x0, y0, x1, y1; int64 (n, 4)); field:\n"
    "float32, every instance's field one after another, instance i over field_windows[i];\n"
    "pixel_boxes: int64 (n, 4). Returns the vertices (float64 x, y pairs, bytes), how many each\n"
    "instance has (int64, bytes) and each trace's length (int64, bytes). An instance whose trace\n"
    "has 1 or 2 cells gets no vertices here (the caller squares those).";

static int check_windows(const Buf *b, Py_ssize_t n, const char *what) {
    if (b->view.len != n * 4 * 8) {
        PyErr_Format(PyExc_ValueError, "grid_outlines: %s must be (n, 4) for n = %zd crops", what, n);
        return -1;
    }
    return 0;
}

PyObject *grid_outlines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *crops_obj, *win_obj, *flat_obj, *fwin_obj, *box_obj, *nx_obj, *ny_obj;
    Placement pl;
    if (!PyArg_ParseTuple(args, "O!OOOOddnifOO:grid_outlines", &PyList_Type, &crops_obj, &win_obj, &flat_obj, &fwin_obj,
                          &box_obj, &pl.sx, &pl.sy, &pl.stride, &pl.steps, &pl.reach, &nx_obj, &ny_obj)) {
        return NULL;
    }
    const Py_ssize_t n = PyList_GET_SIZE(crops_obj);
    Buf b[6];
    memset(b, 0, sizeof b);
    Buf *cb = calloc((size_t)(n ? n : 1), sizeof(Buf));
    if (cb == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    int64_t *counts = NULL, *traced = NULL;
    Ring tmp = {0}, best = {0};
    Out out = {0};
    int8_t *img = NULL;
    double *work = NULL;
    if (native_take(win_obj, &b[0], 8, "qlL", 0, "windows") || native_take(flat_obj, &b[1], 4, "f", 0, "field") ||
        native_take(fwin_obj, &b[2], 8, "qlL", 0, "field_windows") ||
        native_take(box_obj, &b[3], 8, "qlL", 0, "pixel_boxes") || native_take(nx_obj, &b[4], 4, "f", 0, "normal_x") ||
        native_take(ny_obj, &b[5], 4, "f", 0, "normal_y") || check_windows(&b[0], n, "windows") ||
        check_windows(&b[2], n, "field_windows") || check_windows(&b[3], n, "pixel_boxes")) {
        goto done;
    }
    if (b[4].view.len != 34 * 4 || b[5].view.len != 34 * 4 || pl.stride < 1 || pl.steps < 0 || !(pl.sx > 0) ||
        !(pl.sy > 0)) {
        PyErr_SetString(PyExc_ValueError, "grid_outlines: 34 normals each, stride >= 1, steps >= 0, sx and sy > 0");
        goto done;
    }
    const int64_t *win = b[0].view.buf, *fwin = b[2].view.buf, *box = b[3].view.buf;
    pl.normal_x = b[4].view.buf;
    pl.normal_y = b[5].view.buf;
    for (int c = 0; c < 34; c++) {
        pl.ox[c] = pl.normal_x[c] * (float)pl.sx;
        pl.oy[c] = pl.normal_y[c] * (float)pl.sy;
        pl.back[c] = 0.5f / hypotf(pl.ox[c], pl.oy[c]);
    }
    const Py_ssize_t total = b[1].view.len / 4;
    Py_ssize_t at = 0, largest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *fw = fwin + 4 * i;
        if (fw[2] <= fw[0] || fw[3] <= fw[1]) {
            PyErr_Format(PyExc_ValueError, "grid_outlines: field window %zd is empty or inverted", i);
            goto done;
        }
        at += (Py_ssize_t)((fw[2] - fw[0]) * (fw[3] - fw[1]));
    }
    if (take_crops(crops_obj, win, n, cb, &largest, "grid_outlines")) {
        goto done;
    }
    if (at != total) {
        PyErr_Format(PyExc_ValueError, "grid_outlines: the field windows cover %zd cells, the field has %zd", at, total);
        goto done;
    }
    counts = calloc((size_t)(n ? n : 1), sizeof(int64_t));
    traced = calloc((size_t)(n ? n : 1), sizeof(int64_t));
    img = malloc((size_t)(largest ? largest : 1));
    if (counts == NULL || traced == NULL || img == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS;
    const float *flat = b[1].view.buf;
    Py_ssize_t base = 0, work_cap = 0;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        const int64_t *w = win + 4 * i, *fw = fwin + 4 * i;
        const Py_buffer *v = &cb[i].view;
        const Field f = {flat + base, fw[0], fw[1], fw[2] - fw[0], fw[3] - fw[1],
                         fw[2] - fw[0] - 2 > 0 ? fw[2] - fw[0] - 2 : 0, fw[3] - fw[1] - 2 > 0 ? fw[3] - fw[1] - 2 : 0};
        base += (Py_ssize_t)(f.w * f.h);
        if (v->shape[0] == 0 || v->shape[1] == 0) {
            continue;
        }
        if (trace_longest(v->buf, v->shape[0], v->shape[1], crop_is_bool(v), 1, img, &tmp, &best)) {
            failed = -1;
            break;
        }
        traced[i] = best.len;
        if (best.len <= 2) {
            continue;
        }
        for (Py_ssize_t j = 0; j < best.len; j++) {
            best.x[j] += w[0];
            best.y[j] += w[1];
        }
        if (best.len > work_cap) {
            free(work);
            work_cap = best.len * 2;
            work = malloc((size_t)work_cap * 5 * sizeof(double));
            if (work == NULL) {
                failed = -1;
                break;
            }
        }
        const Py_ssize_t before = out.len;
        failed = place(&pl, &f, best.x, best.y, best.len, w, box + 4 * i, work, &out);
        counts[i] = (out.len - before) / 2;
    }
    Py_END_ALLOW_THREADS;
    if (failed == -1) {
        PyErr_NoMemory();
        goto done;
    }
    if (failed == -2) {
        PyErr_SetString(PyExc_RuntimeError, "grid_outlines: a traced contour is not 8-connected");
        goto done;
    }
    result = Py_BuildValue("(y#y#y#)", out.xy ? (const char *)out.xy : "", out.len * (Py_ssize_t)sizeof(double), (const char *)counts,
                           n * (Py_ssize_t)sizeof(int64_t), (const char *)traced, n * (Py_ssize_t)sizeof(int64_t));
done:
    native_release(b, 6);
    native_release(cb, (int)n);
    free(cb);
    free(counts);
    free(traced);
    free(img);
    free(work);
    free(tmp.x);
    free(tmp.y);
    free(best.x);
    free(best.y);
    free(out.xy);
    return result;
}
