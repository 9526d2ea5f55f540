#include "model/hf_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

// A required positive integer of config.json, or the first of two names (n_positions, else n_ctx).
static Status get_int(const cJSON *root, const char *key, const char *alt, const char *path, int *v) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!j && alt) j = cJSON_GetObjectItemCaseSensitive(root, alt);
    if (!cJSON_IsNumber(j) || j->valuedouble < 1 || j->valuedouble > 1 << 30 || j->valuedouble != floor(j->valuedouble))
        return fail(STATUS_INPUT, "config.json '%s' has no positive integer \"%s\": not a GPT-2 config", path, key);
    *v = (int)j->valuedouble;
    return STATUS_OK;
}

// 1 when key is absent or holds the boolean want.
static int bool_is(const cJSON *root, const char *key, int want) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
    return !j || (cJSON_IsBool(j) && cJSON_IsTrue(j) == want);
}

// The options of transformers' GPT2Config whose other values change the network gpt2cl computes.
static Status check_options(const cJSON *root, const char *path, int n_embd) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "gpt2") != 0)
        return fail(STATUS_INPUT, "config.json '%s' describes model_type '%.40s', not gpt2", path,
                    cJSON_IsString(type) ? type->valuestring : "(none)");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu_new") != 0))
        return fail(STATUS_INPUT, "config.json '%s' has activation_function '%.40s'; gpt2cl computes gelu_new only",
                    path, cJSON_IsString(act) ? act->valuestring : "?");
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "n_inner");
    if (inner && !cJSON_IsNull(inner) && !(cJSON_IsNumber(inner) && inner->valuedouble == 4.0 * n_embd))
        return fail(STATUS_INPUT, "config.json '%s' has n_inner %g; gpt2cl's MLP is 4 x n_embd = %d wide", path,
                    cJSON_IsNumber(inner) ? inner->valuedouble : NAN, 4 * n_embd);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    if (eps && !(cJSON_IsNumber(eps) && fabs(eps->valuedouble - 1e-5) <= 1e-12))
        return fail(STATUS_INPUT, "config.json '%s' has layer_norm_epsilon %g; gpt2cl's layer norm uses 1e-5", path,
                    cJSON_IsNumber(eps) ? eps->valuedouble : NAN);
    // reorder_and_upcast_attn only changes the precision of a bf16/f16 attention; gpt2cl's is fp32 throughout.
    static const struct {
        const char *key;
        int want;
        const char *why;
    } flags[] = {
        {"scale_attn_weights", 1, "gpt2cl always scales attention by 1/sqrt(head size)"},
        {"scale_attn_by_inverse_layer_idx", 0, "gpt2cl does not scale attention by layer"},
        {"tie_word_embeddings", 1, "gpt2cl's output layer is the token embedding (tied)"},
        {"add_cross_attention", 0, "gpt2cl has no cross-attention"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!bool_is(root, flags[i].key, flags[i].want))
            return fail(STATUS_INPUT, "config.json '%s' sets %s to %s; %s", path, flags[i].key,
                        flags[i].want ? "false" : "true", flags[i].why);
    return STATUS_OK;
}

Status hf_config_parse(const char *text, size_t len, const char *path, GPT2Config *c) {
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(STATUS_INPUT, "config.json '%s' is not a JSON object", path);
    }
    *c = (GPT2Config){0};
    Status s = get_int(root, "n_layer", NULL, path, &c->num_layers);
    if (!s) s = get_int(root, "n_head", NULL, path, &c->num_heads);
    if (!s) s = get_int(root, "n_embd", NULL, path, &c->channels);
    if (!s) s = get_int(root, "n_positions", "n_ctx", path, &c->max_seq_len);
    if (!s) s = get_int(root, "vocab_size", NULL, path, &c->vocab_size);
    if (!s) s = check_options(root, path, c->channels);
    cJSON_Delete(root);
    return s;
}

Status hf_config_read(const char *path, GPT2Config *c) {
    char *text;
    size_t len;
    TRY(read_user_file(path, "config.json", &text, &len));
    Status s = hf_config_parse(text, len, path, c);
    free(text);
    return s;
}

char *hf_config_json(const GPT2Config *c, const char *dtype) {
    cJSON *root = cJSON_CreateObject(), *arch = cJSON_CreateStringArray((const char *[]){"GPT2LMHeadModel"}, 1);
    if (!root || !arch) out_of_memory("for config.json");
    cJSON_AddStringToObject(root, "activation_function", "gelu_new");
    cJSON_AddFalseToObject(root, "add_cross_attention");
    cJSON_AddItemToObject(root, "architectures", arch);
    cJSON_AddNumberToObject(root, "attn_pdrop", 0.1);
    cJSON_AddNumberToObject(root, "bos_token_id", c->vocab_size - 1);  // <|endoftext|>: the last token
    cJSON_AddStringToObject(root, "dtype", dtype);
    cJSON_AddNumberToObject(root, "embd_pdrop", 0.1);
    cJSON_AddNumberToObject(root, "eos_token_id", c->vocab_size - 1);
    cJSON_AddNumberToObject(root, "initializer_range", 0.02);
    cJSON_AddNumberToObject(root, "layer_norm_epsilon", 1e-5);
    cJSON_AddStringToObject(root, "model_type", "gpt2");
    cJSON_AddNumberToObject(root, "n_ctx", c->max_seq_len);
    cJSON_AddNumberToObject(root, "n_embd", c->channels);
    cJSON_AddNumberToObject(root, "n_head", c->num_heads);
    cJSON_AddNullToObject(root, "n_inner");
    cJSON_AddNumberToObject(root, "n_layer", c->num_layers);
    cJSON_AddNumberToObject(root, "n_positions", c->max_seq_len);
    cJSON_AddFalseToObject(root, "reorder_and_upcast_attn");
    cJSON_AddNumberToObject(root, "resid_pdrop", 0.1);
    cJSON_AddFalseToObject(root, "scale_attn_by_inverse_layer_idx");
    cJSON_AddTrueToObject(root, "scale_attn_weights");
    cJSON_AddTrueToObject(root, "tie_word_embeddings");
    cJSON_AddTrueToObject(root, "use_cache");
    cJSON_AddNumberToObject(root, "vocab_size", c->vocab_size);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) out_of_memory("for config.json");
    return text;
}
