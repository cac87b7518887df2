/* The table of compiled-in drivers: adding a backend is one line here. */
#include "drivers/driver.h"

#include <stddef.h>

const fronta__driver *const fronta__drivers[] = {
    &fronta__driver_cpu,
#ifdef FRONTA_HAVE_OPENCL
    &fronta__driver_opencl,
#endif
    NULL,
};
