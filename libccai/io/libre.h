/* libre's loop under a context (io/libre.c): ccai_ctx_new_libre() makes a
 * context whose two loop hooks are libre's fd_listen() and tmr_start(), for
 * a host that runs re_main() (a baresip module, a libre SIP server,
 * ccai-server with a SIP listener). libre's loop is its own: re_main() is
 * the only way to run it (libre 1.1.0 has no "poll once"), so the context
 * goes on it rather than the other way round.
 *
 * Including this header includes libre's (when libccai is built with it:
 * CCAI_HAVE_SIP), with the two macros Debian's headers need and pkg-config
 * does not give. */
#ifndef CCAI_IO_LIBRE_H
#define CCAI_IO_LIBRE_H

#include "core/common.h"

#ifdef CCAI_HAVE_SIP
#ifndef HAVE_INTTYPES_H
#define HAVE_INTTYPES_H 1
#endif
#ifndef HAVE_STDBOOL_H
#define HAVE_STDBOOL_H 1
#endif
/* Debian builds libre with IPv6 (struct sa's union is padded to the same
 * size either way). */
#ifndef HAVE_INET6
#define HAVE_INET6 1
#endif
/* What libccai uses of libre, not <re.h>: its re_json.h clashes with
 * jansson's names. */
/* libre's headers need this order. */
/* clang-format off */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_msg.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_dns.h>
#include <re_httpauth.h>
#include <re_main.h>
#include <re_md5.h>
#include <re_mem.h>
#include <re_net.h>
#include <re_sdp.h>
#include <re_uri.h>
#include <re_sip.h>
#include <re_sipevent.h>
#include <re_sipreg.h>
#include <re_sipsess.h>
#include <re_telev.h>
#include <re_tmr.h>
#include <re_srtp.h>
#include <re_tls.h>
/* clang-format on */
#endif

/* Whether ctx runs on libre's loop (made by ccai_ctx_new_libre()): what
 * needs libre's own sockets and timers (the SIP channel) works only then. */
CCAI_MUST_CHECK bool Ccai_libre_drives(const ccai_ctx *ctx);

#endif
