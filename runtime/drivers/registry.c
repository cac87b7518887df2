/* The table of compiled-in drivers. */
#include "drivers/driver.h"

#include <stddef.h>

const fronta__driver *const fronta__drivers[] = {
    &fronta__driver_cpu,
    NULL,
};
