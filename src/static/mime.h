/* mime: the Content-Type of a static file, by its extension. */
#ifndef NU_MIME_H
#define NU_MIME_H

#include <stdint.h>

#include "nu.h"

/* The media type for path (len bytes), application/octet-stream when its
 * extension is unknown. Text types name their charset, utf-8. */
const char *nu_mime_type(const char *path, uint32_t len);

/* nu_mime_entry(), in nu.h, reads the table out for the addon. */

#endif
