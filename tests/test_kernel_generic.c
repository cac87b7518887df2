/* test_kernel_generic.c — placeholder while it is written. */
int main(void)
{
    return 77;
}
