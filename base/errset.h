/* errset.h — the one setter of the driver ABI's error (crabbox_err, crabbox/driver.h): the
 * host, the drivers and the test driver all set it through this. */
#ifndef CRABBOX_BASE_ERRSET_H
#define CRABBOX_BASE_ERRSET_H

#include <stdarg.h>

#include "crabbox/driver.h"

/* crabbox_err_set sets err's code and formats its message (bounded, NUL-terminated; cut at the
 * end) and returns code. NULL-safe. Unlike cba_fail it overwrites, and the arguments may point
 * into err->message itself (a caller adding context to the previous message): the message is
 * formatted into a separate buffer first. */
__attribute__((format(printf, 3, 4))) int crabbox_err_set(crabbox_err *err, int code,
                                                          const char *fmt, ...);
/* crabbox_err_vset is crabbox_err_set with a va_list. */
__attribute__((format(printf, 3, 0))) int crabbox_err_vset(crabbox_err *err, int code,
                                                           const char *fmt, va_list ap);

#endif
