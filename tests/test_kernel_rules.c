/* test_kernel_rules.c — placeholder while it is written. */
int main(void)
{
    return 77;
}
