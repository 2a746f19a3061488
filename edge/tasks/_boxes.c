/* nms_ranked(): greedy non-maximum suppression over boxes already ranked best first.
 *
 * edge/tasks/boxes.py computes every pair's IoU at once (a k x k matrix) and then walks the
 * ranking; on a crowded frame that is most of what selecting the detections costs. Here a box's
 * IoUs are computed only against the boxes still standing after it, the same float64 operations
 * as box_iou (intersection's sides clipped at 0, union = area + area - intersection, 0 where the
 * union is not positive), so the same boxes are kept.
 */
#include "_native.h"

static double area(const double *b) {
    double w = b[2] - b[0], h = b[3] - b[1];
    w = w < 0 ? 0 : w;
    h = h < 0 ? 0 : h;
    return w * h;
}

const char nms_ranked_doc[] =
    "nms_ranked(boxes, iou, max_keep) -> bytes\n\n"
    "Greedy NMS of C-contiguous float64 (k, 4) xyxy boxes ranked best first: the ranks kept\n"
    "(int64, bytes), a box kept unless its IoU with a kept better one is > iou, at most max_keep.";

PyObject *nms_ranked(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *boxes_obj;
    double iou;
    Py_ssize_t max_keep;
    if (!PyArg_ParseTuple(args, "Odn:nms_ranked", &boxes_obj, &iou, &max_keep)) {
        return NULL;
    }
    Buf b = {0};
    if (native_take(boxes_obj, &b, 8, "d", 0, "boxes")) {
        native_release(&b, 1);
        return NULL;
    }
    if (b.view.len % 32 != 0 || max_keep < 0) {
        native_release(&b, 1);
        PyErr_SetString(PyExc_ValueError, "nms_ranked: boxes must be (k, 4) and max_keep >= 0");
        return NULL;
    }
    const Py_ssize_t k = b.view.len / 32;
    const double *box = b.view.buf;
    double *areas = malloc((size_t)(k ? k : 1) * sizeof(double));
    unsigned char *gone = calloc((size_t)(k ? k : 1), 1);
    int64_t *kept = malloc((size_t)(k ? k : 1) * sizeof(int64_t));
    if (areas == NULL || gone == NULL || kept == NULL) {
        free(areas);
        free(gone);
        free(kept);
        native_release(&b, 1);
        return PyErr_NoMemory();
    }
    Py_ssize_t n = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < k; i++) {
        areas[i] = area(box + 4 * i);
    }
    for (Py_ssize_t i = 0; i < k && n < max_keep; i++) {
        if (gone[i]) {
            continue;
        }
        kept[n++] = i;
        const double *a = box + 4 * i;
        for (Py_ssize_t j = i + 1; j < k; j++) {
            if (gone[j]) {
                continue;
            }
            const double *c = box + 4 * j;
            double w = (a[2] < c[2] ? a[2] : c[2]) - (a[0] > c[0] ? a[0] : c[0]);
            double h = (a[3] < c[3] ? a[3] : c[3]) - (a[1] > c[1] ? a[1] : c[1]);
            w = w < 0 ? 0 : w;
            h = h < 0 ? 0 : h;
            const double inter = w * h;
            const double uni = areas[i] + areas[j] - inter;
            const double v = uni > 0 ? inter / uni : 0.0;
            if (v > iou) {
                gone[j] = 1;
            }
        }
    }
    Py_END_ALLOW_THREADS;
    PyObject *out = PyBytes_FromStringAndSize((const char *)kept, n * (Py_ssize_t)sizeof(int64_t));
    free(areas);
    free(gone);
    free(kept);
    native_release(&b, 1);
    return out;
}
