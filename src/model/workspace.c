#include "model/workspace.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

// A buffer's elements are B*T * mult * unit + extra.
typedef enum { U_ONE, U_C, U_NHT, U_VP } Unit;

typedef enum { ONE, PER_LAYER } Span;       // a cl_mem, or a cl_mem * of L handles
typedef enum { ANY_USE, TRAIN_ONLY } Need;  // TRAIN_ONLY: absent from a WS_FORWARD workspace

typedef struct {
    size_t field;      // offsetof(Workspace, ...)
    const char *what;  // named in an allocation failure
    Span span;
    Need need;
    size_t elem;  // bytes per element
    int mult;
    Unit unit;
    int extra;
} BufferSpec;

#define F(field) offsetof(Workspace, field)
#define F32 sizeof(float)
#define I32 sizeof(int)
// Every buffer of a workspace, with its shape: allocation, release and the memory estimate read this table.
static const BufferSpec buffers[] = {
    {F(acts.encoded), "activations", ONE, ANY_USE, F32, 1, U_C, 0},               // (B,T,C)
    {F(acts.ln1), "activations", PER_LAYER, ANY_USE, F32, 1, U_C, 0},             // (B,T,C)
    {F(acts.ln1_mean), "activations", PER_LAYER, ANY_USE, F32, 1, U_ONE, 0},      // (B,T)
    {F(acts.ln1_rstd), "activations", PER_LAYER, ANY_USE, F32, 1, U_ONE, 0},      // (B,T)
    {F(acts.qkv), "activations", PER_LAYER, ANY_USE, F32, 3, U_C, 0},             // (B,T,3C)
    {F(acts.atty), "activations", PER_LAYER, ANY_USE, F32, 1, U_C, 0},            // (B,T,C)
    {F(acts.att), "attention matrices", PER_LAYER, ANY_USE, F32, 1, U_NHT, 0},    // (B,NH,T,T)
    {F(acts.residual2), "activations", PER_LAYER, ANY_USE, F32, 1, U_C, 0},       // (B,T,C)
    {F(acts.ln2), "activations", PER_LAYER, ANY_USE, F32, 1, U_C, 0},             // (B,T,C)
    {F(acts.ln2_mean), "activations", PER_LAYER, ANY_USE, F32, 1, U_ONE, 0},      // (B,T)
    {F(acts.ln2_rstd), "activations", PER_LAYER, ANY_USE, F32, 1, U_ONE, 0},      // (B,T)
    {F(acts.fch), "activations", PER_LAYER, ANY_USE, F32, 4, U_C, 0},             // (B,T,4C)
    {F(acts.fch_gelu), "activations", PER_LAYER, ANY_USE, F32, 4, U_C, 0},        // (B,T,4C)
    {F(acts.residual3), "activations", PER_LAYER, ANY_USE, F32, 1, U_C, 0},       // (B,T,C)
    {F(acts.lnf), "activations", ONE, ANY_USE, F32, 1, U_C, 0},                   // (B,T,C)
    {F(acts.lnf_mean), "activations", ONE, ANY_USE, F32, 1, U_ONE, 0},            // (B,T)
    {F(acts.lnf_rstd), "activations", ONE, ANY_USE, F32, 1, U_ONE, 0},            // (B,T)
    {F(acts.logits), "logits", ONE, ANY_USE, F32, 1, U_VP, 0},                    // (B,T,Vp)
    {F(acts.losses), "losses", ONE, ANY_USE, F32, 1, U_ONE, 0},                   // (B,T)
    {F(acts.proj_out), "activations", ONE, ANY_USE, F32, 1, U_C, 0},              // (B,T,C)
    {F(acts.q), "attention scratch", ONE, ANY_USE, F32, 1, U_C, 0},               // (B,NH,T,hs)
    {F(acts.k), "attention scratch", ONE, ANY_USE, F32, 1, U_C, 0},               // (B,NH,T,hs)
    {F(acts.v), "attention scratch", ONE, ANY_USE, F32, 1, U_C, 0},               // (B,NH,T,hs)
    {F(acts.y), "attention scratch", ONE, ANY_USE, F32, 1, U_C, 0},               // (B,NH,T,hs)
    {F(scratch.dresidual), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},  // (B,T,C)
    {F(scratch.dbuf), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},       // (B,T,C)
    {F(scratch.dqkv), "backward scratch", ONE, TRAIN_ONLY, F32, 3, U_C, 0},       // (B,T,3C)
    {F(scratch.dfch), "backward scratch", ONE, TRAIN_ONLY, F32, 4, U_C, 0},       // (B,T,4C)
    {F(scratch.datt), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_NHT, 0},     // (B,NH,T,T)
    {F(scratch.dq), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},         // (B,NH,T,hs)
    {F(scratch.dk), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},         // (B,NH,T,hs)
    {F(scratch.dv), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},         // (B,NH,T,hs)
    {F(scratch.dy), "backward scratch", ONE, TRAIN_ONLY, F32, 1, U_C, 0},         // (B,NH,T,hs)
    {F(inputs), "inputs", ONE, ANY_USE, I32, 1, U_ONE, 0},                        // (B,T)
    {F(targets), "targets", ONE, ANY_USE, I32, 1, U_ONE, 0},                      // (B,T)
    {F(bucket_tokens), "encoder buckets", ONE, TRAIN_ONLY, I32, 1, U_ONE, 0},     // (B*T)
    {F(bucket_start), "encoder buckets", ONE, TRAIN_ONLY, I32, 1, U_ONE, 1},      // (B*T+1)
    {F(bucket_pos), "encoder buckets", ONE, TRAIN_ONLY, I32, 1, U_ONE, 0},        // (B*T)
};
#undef F
#undef F32
#undef I32
enum { NUM_BUFFERS = sizeof buffers / sizeof buffers[0] };

static size_t buffer_bytes(const BufferSpec *b, const GPT2Config *c, int B, int T) {
    const size_t units[] = {[U_ONE] = 1, [U_C] = (size_t)c->channels, [U_NHT] = (size_t)c->num_heads * (size_t)T,
                            [U_VP] = (size_t)c->padded_vocab_size};
    return ((size_t)B * (size_t)T * (size_t)b->mult * units[b->unit] + (size_t)b->extra) * b->elem;
}

// Whether a workspace for use has the buffer, and how many separate allocations it takes.
static int buffer_copies(const BufferSpec *b, WorkspaceUse use, int L) {
    if (b->need == TRAIN_ONLY && use != WS_TRAIN) return 0;
    return b->span == PER_LAYER && use == WS_TRAIN ? L : 1;
}

double workspace_bytes(const GPT2Config *c, WorkspaceShape s) {
    double bytes = 0;
    for (int i = 0; i < NUM_BUFFERS; i++)
        bytes += (double)buffer_copies(&buffers[i], s.use, c->num_layers) *
                 (double)buffer_bytes(&buffers[i], c, s.B, s.T);
    return bytes;
}

double gpt2_memory_needed(const GPT2Config *c, double opt_copies, const WorkspaceShape *ws, int num_ws,
                          const Device *dev) {
    double params = (double)gpt2_param_count(c);
    // alignment gaps: at most one alignment unit per slice
    params += (double)(4 + 12 * c->num_layers) * dev->base_align_bytes / sizeof(float);
    double bytes = 4.0 * params * (2 + opt_copies);
    for (int i = 0; i < num_ws; i++) bytes += workspace_bytes(c, ws[i]);
    return bytes;
}

// Where the table's buffer lives in w: a cl_mem, or a cl_mem * (PER_LAYER).
static void *slot(Workspace *w, const BufferSpec *b) { return (char *)w + b->field; }

// The buffers of the table into w; stops at the first that fails.
static Status workspace_buffers(Workspace *w, const GPT2 *m, int B, int T, WorkspaceUse use) {
    memset(w, 0, sizeof *w);
    w->dev = m->dev;
    w->B = B;
    w->T = T;
    w->L = m->config.num_layers;
    w->use = use;
    for (int i = 0; i < NUM_BUFFERS; i++) {
        const BufferSpec *b = &buffers[i];
        int copies = buffer_copies(b, use, w->L);
        if (!copies) continue;
        size_t bytes = buffer_bytes(b, &m->config, B, T);
        if (b->span == ONE) {
            TRY(device_alloc(w->dev, bytes, b->what, (cl_mem *)slot(w, b)));
            continue;
        }
        cl_mem *layers = callocCheck((size_t)w->L, sizeof(cl_mem));
        *(cl_mem **)slot(w, b) = layers;
        for (int l = 0; l < w->L; l++) {
            if (l < copies) {
                TRY(device_alloc(w->dev, bytes, b->what, &layers[l]));
            } else {  // forward only: the layers share one buffer, each handle holding a reference
                layers[l] = layers[0];
                CL_CHECK(clRetainMemObject(layers[0]));
            }
        }
    }
    return device_status(w->dev);
}

Status workspace_create(Workspace *w, const GPT2 *m, int B, int T, WorkspaceUse use) {
    Status s = workspace_buffers(w, m, B, T, use);
    if (s) workspace_free(w);
    return s;
}

void workspace_free(Workspace *w) {
    if (!w->dev) return;
    for (int i = 0; i < NUM_BUFFERS; i++) {
        const BufferSpec *b = &buffers[i];
        if (!buffer_copies(b, w->use, w->L)) continue;
        if (b->span == ONE) {
            if (*(cl_mem *)slot(w, b)) CL_CHECK(clReleaseMemObject(*(cl_mem *)slot(w, b)));
            continue;
        }
        cl_mem *layers = *(cl_mem **)slot(w, b);  // NULL entries: a workspace_create that failed part way
        for (int l = 0; layers && l < w->L; l++)
            if (layers[l]) CL_CHECK(clReleaseMemObject(layers[l]));
        free(layers);
    }
    memset(w, 0, sizeof *w);
}
