/* Tests of the error codes: FRONTA_ERRNO_MAP, fronta_strerror, fronta_err_name. */
#include "test_util.h"

typedef struct code_row {
    int value;
    const char *name;     /* "FRONTA_" + name, built by the X-macro */
    const char *message;  /* the map's text */
} code_row_t;

#define ROW(name, val, msg) {FRONTA_##name, "FRONTA_" #name, msg},
static const code_row_t rows[] = {FRONTA_ERRNO_MAP(ROW)};
#undef ROW
#define NROWS (sizeof rows / sizeof rows[0])

static void codes_are_negative_and_distinct(void **state)
{
    (void)state;
    assert_true(NROWS > 0);
    for (size_t i = 0; i < NROWS; i++) {
        assert_true(rows[i].value < 0);
        for (size_t j = i + 1; j < NROWS; j++)
            assert_int_not_equal(rows[i].value, rows[j].value);
    }
}

static void strerror_distinct_and_non_empty(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        const char *s = fronta_strerror(rows[i].value);
        assert_non_null(s);
        assert_true(s[0] != '\0');
        /* The map's text is the documented message. */
        assert_string_equal(s, rows[i].message);
        for (size_t j = i + 1; j < NROWS; j++)
            assert_string_not_equal(s, fronta_strerror(rows[j].value));
    }
}

static void names_match_the_map(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        const char *n = fronta_err_name(rows[i].value);
        assert_non_null(n);
        assert_string_equal(n, rows[i].name);
        for (size_t j = i + 1; j < NROWS; j++)
            assert_string_not_equal(n, fronta_err_name(rows[j].value));
    }
}

static void zero_is_ok(void **state)
{
    (void)state;
    assert_int_equal(FRONTA_OK, 0);
    assert_string_equal(fronta_err_name(0), "FRONTA_OK");
    const char *s = fronta_strerror(0);
    assert_non_null(s);
    assert_true(s[0] != '\0');
    /* Success must not read as any of the errors. */
    for (size_t i = 0; i < NROWS; i++)
        assert_string_not_equal(s, rows[i].message);
}

static void unknown_codes_are_handled(void **state)
{
    (void)state;
    const int unknown[] = {-1000, -99, 1, 42, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = fronta_strerror(unknown[i]);
        const char *n = fronta_err_name(unknown[i]);
        assert_non_null(s);
        assert_non_null(n);
        assert_string_equal(s, "unknown error");
        assert_true(n[0] != '\0');
        for (size_t j = 0; j < NROWS; j++) {
            assert_string_not_equal(s, rows[j].message);
            assert_string_not_equal(n, rows[j].name);
        }
        assert_string_not_equal(n, "FRONTA_OK");
    }
}

static void version_is_set(void **state)
{
    (void)state;
    const char *v = fronta_version();
    assert_non_null(v);
    assert_true(v[0] >= '0' && v[0] <= '9');
}

int main(void)
{
    ft_filter();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codes_are_negative_and_distinct),
        cmocka_unit_test(strerror_distinct_and_non_empty),
        cmocka_unit_test(names_match_the_map),
        cmocka_unit_test(zero_is_ok),
        cmocka_unit_test(unknown_codes_are_handled),
        cmocka_unit_test(version_is_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
