/* What channels share (see the header). */
#include "channels/common/channel.h"

json_t *Ccai_channel_check(const char *id, const char *status, const char *detail)
{
    return detail ? json_pack("{s:s, s:s, s:s}", "id", id, "status", status, "detail", detail)
                  : json_pack("{s:s, s:s}", "id", id, "status", status);
}
