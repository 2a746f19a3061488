/* What edge/tasks/_native.c, _rle.c, _contours.c, _outlines.c and _boxes.c share: the buffer helpers, and the kernels
 * of the other files that the module's method table names. */
#ifndef EDGE_NATIVE_H
#define EDGE_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    int held;
} Buf;

/* Releases the held ones of n buffers. */
void native_release(Buf *bufs, int n);
/* A C-contiguous buffer of `itemsize`-byte items whose format is one of `formats`; -1 with a
 * Python error set otherwise (the buffer may be held: release it either way). */
int native_take(PyObject *obj, Buf *buf, Py_ssize_t itemsize, const char *formats, int writable, const char *what);

/* A growable list of integer points. */
typedef struct {
    int64_t *x, *y;
    Py_ssize_t len, cap;
} Ring;

int ring_grow(Ring *r, Py_ssize_t need);
/* The longest outer contour of an h x w one-byte mask into `best` (mask coordinates), as
 * cv2.findContours and max(key=len) give it; `binary` when the bytes are 0 or 1; `img`
 * (h + 2) * (w + 2) bytes of scratch. */
int trace_longest(const uint8_t *crop, Py_ssize_t h, Py_ssize_t w, int binary, int direct, int8_t *img, Ring *tmp,
                  Ring *best);
/* Whether a buffer holds bools (0 or 1 bytes). */
int crop_is_bool(const Py_buffer *v);
/* n crops of a list, each of its window's shape; their largest padded size into *largest. */
int take_crops(PyObject *list, const int64_t *win, Py_ssize_t n, Buf *cb, Py_ssize_t *largest, const char *what);

extern const char longest_contours_doc[];
PyObject *longest_contours(PyObject *self, PyObject *args);
extern const char crop_rle_doc[];
PyObject *crop_rle(PyObject *self, PyObject *args);
extern const char grid_rle_doc[];
PyObject *grid_rle(PyObject *self, PyObject *args);
extern const char field_rle_doc[];
PyObject *field_rle(PyObject *self, PyObject *args);
extern const char grid_outlines_doc[];
PyObject *grid_outlines(PyObject *self, PyObject *args);
extern const char nms_ranked_doc[];
PyObject *nms_ranked(PyObject *self, PyObject *args);

#endif
