/* The same checks, compiled as C++. */
#include "libevent_h.c"
