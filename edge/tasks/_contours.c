/* trace_longest(): a mask's longest outer contour, as cv2.findContours(mask, RETR_EXTERNAL,
 * CHAIN_APPROX_NONE or CHAIN_APPROX_SIMPLE) finds it and max(contours, key=len) picks it; and
 * longest_contours(), that for a frame's crops in one call.
 *
 * OpenCV's tracer (modules/imgproc/src/contours_new.cpp), Suzuki and Abe's border following
 * over the mask padded by a background pixel: the same raster scan and start pixels, the same
 * turns and marks (2 for a border pixel, 0x82 for one with background on its right), so the
 * same points in the same order. Of equally long contours OpenCV lists the last met first and
 * max() keeps the first, so here the last met wins. What costs OpenCV most on a small crop is
 * its set-up (a padded copy, a threshold pass, vectors per contour, numpy arrays back): ~15
 * microseconds a call, most of fast's trace on a crowd (issue 18); on a large one, the scan,
 * done here 8 pixels at a time. tests/tasks/test_contours_native.py holds it to cv2's points.
 */
#include "_native.h"

static const int DX[8] = {1, 1, 0, -1, -1, -1, 0, 1};
static const int DY[8] = {0, -1, -1, -1, 0, 1, 1, 1};
static const int8_t RIGHT = (int8_t)0x82; /* OpenCV's "new | right" mark for a simple mode */
static const int8_t NEW = 2;

int ring_grow(Ring *r, Py_ssize_t need) {
    if (need <= r->cap) {
        return 0;
    }
    Py_ssize_t cap = r->cap ? r->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    int64_t *x = realloc(r->x, (size_t)cap * sizeof(int64_t));
    if (x == NULL) {
        return -1;
    }
    r->x = x;
    int64_t *y = realloc(r->y, (size_t)cap * sizeof(int64_t));
    if (y == NULL) {
        return -1;
    }
    r->y = y;
    r->cap = cap;
    return 0;
}

/* Follows the outer border that starts at padded pixel (x, y) into `out` (padded coordinates),
 * marking it as OpenCV does: every pixel (`direct`, CHAIN_APPROX_NONE) or only those where the
 * direction changes (CHAIN_APPROX_SIMPLE). */
static int follow(int8_t *img, Py_ssize_t step, Py_ssize_t x, Py_ssize_t y, int direct, Ring *out) {
    const Py_ssize_t i0 = y * step + x;
    Py_ssize_t i1 = i0, i3, i4 = i0;
    int s = 4;
    out->len = 0;
    do {
        s = (s - 1) & 7;
        i1 = i0 + DX[s] + DY[s] * step;
    } while (img[i1] == 0 && s != 4);
    if (s == 4) { /* a lone pixel */
        img[i0] = RIGHT;
        if (ring_grow(out, 1)) {
            return -1;
        }
        out->x[0] = x;
        out->y[0] = y;
        out->len = 1;
        return 0;
    }
    i3 = i0;
    int prev_s = s ^ 4;
    for (;;) {
        const int s_end = s;
        while (s < 15) {
            ++s;
            i4 = i3 + DX[s & 7] + DY[s & 7] * step;
            if (img[i4] != 0) {
                break;
            }
        }
        s &= 7;
        if ((unsigned)(s - 1) < (unsigned)s_end) {
            img[i3] = RIGHT;
        } else if (img[i3] == 1) {
            img[i3] = NEW;
        }
        if (s != prev_s || direct) {
            if (ring_grow(out, out->len + 1)) {
                return -1;
            }
            out->x[out->len] = x;
            out->y[out->len] = y;
            out->len++;
        }
        prev_s = s;
        x += DX[s];
        y += DY[s];
        if (i4 == i0 && i3 == i1) {
            break;
        }
        i3 = i4;
        s = (s + 4) & 7;
    }
    return 0;
}

/* The first column from x on (before `end`) whose value is not `prev`: 8 pixels at a time,
 * since a frame-size mask is mostly long runs. */
static inline Py_ssize_t next_change(const int8_t *row, Py_ssize_t x, Py_ssize_t end, int prev) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t same = 0x0101010101010101ULL * (uint8_t)prev;
    for (; x + 8 <= end; x += 8) {
        uint64_t v;
        memcpy(&v, row + x, 8);
        if (v != same) {
            return x + (__builtin_ctzll(v ^ same) >> 3);
        }
    }
#endif
    while (x < end && row[x] == prev) {
        x++;
    }
    return x;
}

/* The crop's longest outer contour into `best` (crop coordinates); `img` scratch of
 * (h + 2) * (w + 2) bytes, `tmp` a second ring. OpenCV's raster scan for RETR_EXTERNAL: an
 * outer border starts where a 0 is followed by an unmarked 1, unless the last border met on
 * the row is one whose inside the scan is in. */
int trace_longest(const uint8_t *crop, Py_ssize_t h, Py_ssize_t w, int binary, int direct, int8_t *img, Ring *tmp,
                  Ring *best) {
    const Py_ssize_t step = w + 2;
    memset(img, 0, (size_t)step);
    memset(img + (h + 1) * step, 0, (size_t)step);
    for (Py_ssize_t y = 0; y < h; y++) {
        int8_t *row = img + (y + 1) * step;
        const uint8_t *src = crop + y * w;
        row[0] = row[w + 1] = 0;
        if (binary) { /* bool: already 0 or 1 */
            memcpy(row + 1, src, (size_t)w);
        } else {
            for (Py_ssize_t x = 0; x < w; x++) {
                row[x + 1] = src[x] != 0;
            }
        }
    }
    best->len = 0;
    for (Py_ssize_t y = 1; y <= h; y++) {
        int prev = 0;
        Py_ssize_t last = 0; /* the column of the last border met on this row */
        const int8_t *row = img + y * step;
        for (Py_ssize_t x = 1; x <= w; x++) {
            x = next_change(row, x, w + 1, prev);
            if (x > w) {
                break;
            }
            const int p = row[x];
            if (prev == 0 && p == 1 && !(row[last] > 0)) {
                last = x;
                if (follow(img, step, x, y, direct, tmp)) {
                    return -1;
                }
                if (tmp->len >= best->len) {
                    if (ring_grow(best, tmp->len)) {
                        return -1;
                    }
                    for (Py_ssize_t j = 0; j < tmp->len; j++) {
                        best->x[j] = tmp->x[j] - 1;
                        best->y[j] = tmp->y[j] - 1;
                    }
                    best->len = tmp->len;
                }
                prev = row[x];
                continue;
            }
            if (!(prev == 0 && p == 1) && p == 0 && prev >= 1 && (prev & -2)) {
                last = x - 1; /* a hole's border: not traced in this mode, but met */
            }
            prev = p;
            if (p & -2) {
                last = x;
            }
        }
    }
    return 0;
}


int crop_is_bool(const Py_buffer *v) {
    const char *fmt = v->format ? v->format : "B";
    return fmt[0] == '?' || (fmt[0] != '\0' && fmt[1] == '?');
}

/* Takes n crops of a list, each a C-contiguous one-byte 2-D array of its window's shape
 * (windows: (n, 4) int64 x0, y0, x1, y1); the largest padded size into *largest. */
int take_crops(PyObject *list, const int64_t *win, Py_ssize_t n, Buf *cb, Py_ssize_t *largest, const char *what) {
    *largest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t *w = win + 4 * i;
        if (w[2] < w[0] || w[3] < w[1] || w[0] < 0 || w[1] < 0) {
            PyErr_Format(PyExc_ValueError, "%s: window %zd is inverted or negative", what, i);
            return -1;
        }
        if (native_take(PyList_GET_ITEM(list, i), &cb[i], 1, "?bB", 0, "crop")) {
            return -1;
        }
        const Py_buffer *v = &cb[i].view;
        if (v->ndim != 2 || v->shape[0] != w[3] - w[1] || v->shape[1] != w[2] - w[0]) {
            PyErr_Format(PyExc_ValueError, "%s: crop %zd must be 2-D of its window's shape", what, i);
            return -1;
        }
        const Py_ssize_t padded = (v->shape[0] + 2) * (v->shape[1] + 2);
        *largest = padded > *largest ? padded : *largest;
    }
    return 0;
}

const char longest_contours_doc[] =
    "longest_contours(crops, windows, direct) -> (points, counts)\n\n"
    "Each crop's longest outer contour as cv2.findContours (RETR_EXTERNAL; CHAIN_APPROX_NONE when\n"
    "direct, else CHAIN_APPROX_SIMPLE) and max(key=len) give it, moved to its window's corner.\n"
    "crops: n C-contiguous one-byte 2-D arrays, crop i the shape of windows[i] (x0, y0, x1, y1;\n"
    "int64 (n, 4)). Returns the vertices (float64 x, y pairs, bytes) and how many each crop has\n"
    "(int64, bytes); none for an empty crop or one with nothing set.";

PyObject *longest_contours(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *crops_obj, *win_obj;
    int direct;
    if (!PyArg_ParseTuple(args, "O!Op:longest_contours", &PyList_Type, &crops_obj, &win_obj, &direct)) {
        return NULL;
    }
    const Py_ssize_t n = PyList_GET_SIZE(crops_obj);
    Buf wb = {0};
    Buf *cb = calloc((size_t)(n ? n : 1), sizeof(Buf));
    int64_t *counts = calloc((size_t)(n ? n : 1), sizeof(int64_t));
    PyObject *result = NULL;
    Ring tmp = {0}, best = {0};
    double *xy = NULL;
    int8_t *img = NULL;
    Py_ssize_t largest = 0, len = 0, cap = 0;
    if (cb == NULL || counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (native_take(win_obj, &wb, 8, "qlL", 0, "windows")) {
        goto done;
    }
    if (wb.view.len != n * 32) {
        PyErr_Format(PyExc_ValueError, "longest_contours: windows must be (n, 4) for n = %zd crops", n);
        goto done;
    }
    const int64_t *win = wb.view.buf;
    if (take_crops(crops_obj, win, n, cb, &largest, "longest_contours")) {
        goto done;
    }
    img = malloc((size_t)(largest ? largest : 1));
    if (img == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < n && !failed; i++) {
        const Py_buffer *v = &cb[i].view;
        if (v->shape[0] == 0 || v->shape[1] == 0) {
            continue;
        }
        if (trace_longest(v->buf, v->shape[0], v->shape[1], crop_is_bool(v), direct, img, &tmp, &best)) {
            failed = 1;
            break;
        }
        if (len + 2 * best.len > cap) {
            Py_ssize_t want = cap ? cap : 4096;
            while (want < len + 2 * best.len) {
                want *= 2;
            }
            double *more = realloc(xy, (size_t)want * sizeof(double));
            if (more == NULL) {
                failed = 1;
                break;
            }
            xy = more;
            cap = want;
        }
        for (Py_ssize_t j = 0; j < best.len; j++) {
            xy[len++] = (double)(best.x[j] + win[4 * i]);
            xy[len++] = (double)(best.y[j] + win[4 * i + 1]);
        }
        counts[i] = best.len;
    }
    Py_END_ALLOW_THREADS;
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_BuildValue("(y#y#)", xy ? (const char *)xy : "", len * (Py_ssize_t)sizeof(double), (const char *)counts,
                           n * (Py_ssize_t)sizeof(int64_t));
done:
    native_release(&wb, 1);
    if (cb != NULL) {
        native_release(cb, (int)n);
    }
    free(cb);
    free(counts);
    free(xy);
    free(img);
    free(tmp.x);
    free(tmp.y);
    free(best.x);
    free(best.y);
    return result;
}
