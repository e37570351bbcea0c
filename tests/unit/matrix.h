/* matrix.h — the chunked runner the table-driven matrices share.
 *
 * MATRIX_CHUNKED_ROWS(suite, table, num_rows, run_row, min_rows) defines a parameterised test
 * `suite::rows` that runs the rows in chunks of 24 (one process per chunk keeps a matrix fast under
 * ASan; Criterion re-executes the binary per instance, so the parameters are chunk numbers, never
 * rows with their function pointers), and `suite::row_count_and_unique_names`. */
#ifndef CBA_TEST_MATRIX_H
#define CBA_TEST_MATRIX_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#define MATRIX_CHUNK 24

#define MATRIX_CHUNKED_ROWS(suite, table, num_rows, run_row, min_rows)                            \
    ParameterizedTestParameters(suite, rows)                                                     \
    {                                                                                            \
        static size_t chunks[((num_rows) + MATRIX_CHUNK - 1) / MATRIX_CHUNK];                     \
        for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) { chunks[i] = i; }          \
        return cr_make_param_array(size_t, chunks, sizeof chunks / sizeof chunks[0]);             \
    }                                                                                            \
    ParameterizedTest(size_t *chunk, suite, rows)                                                \
    {                                                                                            \
        cr_assert_lt(*chunk, ((num_rows) + MATRIX_CHUNK - 1) / MATRIX_CHUNK);                     \
        for (size_t i = *chunk * MATRIX_CHUNK; i < (*chunk + 1) * MATRIX_CHUNK && i < (num_rows); \
             i++) {                                                                              \
            run_row(&(table)[i]);                                                                 \
        }                                                                                        \
    }                                                                                            \
    Test(suite, row_count_and_unique_names)                                                      \
    {                                                                                            \
        cr_log_info(#suite ": %zu rows", (size_t)(num_rows));                                    \
        cr_assert_geq((num_rows), (min_rows), "the matrix shrank to %zu rows", (size_t)(num_rows)); \
        for (size_t i = 0; i < (num_rows); i++) {                                                \
            for (size_t k = i + 1; k < (num_rows); k++) {                                        \
                cr_assert_str_neq((table)[i].name, (table)[k].name, "duplicate row name");         \
            }                                                                                    \
        }                                                                                        \
    }

#endif
