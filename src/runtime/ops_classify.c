// Launchers of the classification head's row selection (cl/classify.cl).
#include "runtime/ops_launch.h"

void op_gather_rows(Ops *o, cl_mem out, cl_mem inp, cl_mem last, int B, int T, int C) {
    set_args(o, K_gather_rows, ARG(out), ARG(inp), ARG(last), ARG(B), ARG(T), ARG(C));
    launch_1d(o, K_gather_rows, (size_t)B * C);
}

void op_scatter_rows(Ops *o, cl_mem dinp, cl_mem drow, cl_mem last, int B, int T, int C) {
    set_args(o, K_scatter_rows, ARG(dinp), ARG(drow), ARG(last), ARG(B), ARG(T), ARG(C));
    launch_1d(o, K_scatter_rows, (size_t)B * T * C);
}
