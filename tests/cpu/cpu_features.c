/* cpu_features: prints the instruction sets that the CPU backend this program runs was built
 * for (llama.cpp's system info; with cmake/cpu_variants.cmake, the variant chosen at start-up),
 * after a small matrix product computed by that backend, checked against the exact answer. */
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>
#include <llama.h>
#include <stdio.h>

int main(void)
{
    llama_backend_init();
    /* (2 x 3) . (3 x 2)^T with small integers: every variant's kernels give it exactly */
    struct ggml_init_params p = {16 * 1024 * 1024, NULL, false};
    struct ggml_context *ctx = ggml_init(p);
    struct ggml_tensor *a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 3, 2);
    struct ggml_tensor *b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 3, 2);
    const float av[] = {1, 2, 3, 4, 5, 6}, bv[] = {1, 0, -1, 2, 1, 0};
    for (int i = 0; i < 6; i++) {
        ((float *)a->data)[i] = av[i];
        ((float *)b->data)[i] = bv[i];
    }
    struct ggml_tensor *c = ggml_mul_mat(ctx, a, b); /* c[j][i] = a_i . b_j */
    struct ggml_cgraph *g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, c);
    if (ggml_graph_compute_with_ctx(ctx, g, 1) != GGML_STATUS_SUCCESS) {
        fprintf(stderr, "cpu_features: ggml_graph_compute failed\n");
        return 1;
    }
    const float want[] = {1 - 3, 4 - 6, 2 + 2, 8 + 5}; /* a0.b0, a1.b0, a0.b1, a1.b1 */
    for (int i = 0; i < 4; i++) {
        if (((float *)c->data)[i] != want[i]) {
            fprintf(stderr, "cpu_features: product element %d is %g, not %g\n", i, ((float *)c->data)[i], want[i]);
            return 1;
        }
    }
    printf("product ok\n%s\n", llama_print_system_info());
    ggml_free(ctx);
    llama_backend_free();
    return 0;
}
