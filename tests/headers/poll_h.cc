/* The same checks, compiled as C++. */
#include "poll_h.c"
