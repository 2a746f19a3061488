/* What edge/tasks/_native.c, _outlines.c and _boxes.c share: the buffer helpers, and the kernels
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

extern const char grid_outlines_doc[];
PyObject *grid_outlines(PyObject *self, PyObject *args);
extern const char nms_ranked_doc[];
PyObject *nms_ranked(PyObject *self, PyObject *args);

#endif
