/* log.h - capture of llama.cpp / libmtmd log output (see log.c). */
#ifndef UMPIRE_ENGINE_LOG_H
#define UMPIRE_ENGINE_LOG_H

#include "umpire.h"

void umpire_log_clear(void);
const char *umpire_log_last_error(void);

#endif
