/* The same checks, compiled as C++. */
#include "ccai_h.c"
