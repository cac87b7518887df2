/* Stands in for test_mpi where libfronta_mpi was not built: skips (77). */
#include <stdio.h>

int main(void)
{
    puts("libfronta_mpi was not built (no MPI found at configure time, or FRONTA_MPI=OFF): "
         "skipped");
    return 77;
}
