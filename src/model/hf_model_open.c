// Finding a Hugging Face GPT-2's files: a folder (config.json + model.safetensors,
// or model.safetensors.index.json and its shards) or one .safetensors file.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/hf_config.h"
#include "model/hf_gpt2.h"
#include "util/util.h"

static int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = mallocCheck(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int hf_is_model_folder(const char *path) {
    if (!is_folder(path)) return 0;
    char *cfg = join(path, "config.json"), *one = join(path, "model.safetensors"),
         *index = join(path, "model.safetensors.index.json");
    int yes = file_exists(cfg) && (file_exists(one) || file_exists(index));
    free(cfg);
    free(one);
    free(index);
    return yes;
}

// Opens one more shard at path into hm.
static Status add_shard(HfModel *hm, const char *path) {
    hm->shards = realloc(hm->shards, (size_t)(hm->num_shards + 1) * sizeof *hm->shards);
    if (!hm->shards) out_of_memory("for the shards of '%s'", hm->path);
    TRY(safetensors_open(path, &hm->shards[hm->num_shards]));
    hm->num_shards++;
    return STATUS_OK;
}

// A shard's file name as the index gives it: a plain name in the index's folder.
static int plain_name(const char *s) { return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

// Opens each shard named in the index's weight_map once, and checks that each holds the tensors mapped to it.
static Status open_shards(HfModel *hm, const char *dir, const cJSON *map, const char *index) {
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !plain_name(e->valuestring))
            return fail(STATUS_INPUT, "index '%s' maps '%s' to something that is not a file name in its folder",
                        index, e->string);
        const cJSON *first = map->child;
        while (first != e && !(cJSON_IsString(first) && !strcmp(first->valuestring, e->valuestring)))
            first = first->next;
        if (first == e) {  // a shard not seen before
            char *p = join(dir, e->valuestring);
            Status s = add_shard(hm, p);
            free(p);
            TRY(s);
        }
    }
    for (const cJSON *e = map->child; e; e = e->next) {
        int found = 0;
        for (int s = 0; s < hm->num_shards && !found; s++)
            found = safetensors_find(&hm->shards[s], e->string) &&
                    !strcmp(base_name(hm->shards[s].path), e->valuestring);
        if (!found)
            return fail(STATUS_INPUT, "index '%s' puts tensor '%s' in '%s', which does not hold it", index, e->string,
                        e->valuestring);
    }
    return STATUS_OK;
}

static Status open_index(HfModel *hm, const char *dir) {
    char *index = join(dir, "model.safetensors.index.json"), *text = NULL;
    size_t len;
    Status s = read_user_file(index, "safetensors index", &text, &len);
    cJSON *root = s ? NULL : cJSON_ParseWithLength(text, len);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!s && !cJSON_IsObject(map))
        s = fail(STATUS_INPUT, "index '%s' is not JSON with a \"weight_map\" object", index);
    if (!s) s = open_shards(hm, dir, map, index);
    cJSON_Delete(root);
    free(text);
    free(index);
    return s;
}

// The files of a folder: config.json, then the weights.
static Status open_folder(HfModel *hm, const char *dir) {
    char *cfg = join(dir, "config.json"), *one = join(dir, "model.safetensors");
    Status s = hf_config_read(cfg, &hm->config);
    if (!s) s = file_exists(one) ? add_shard(hm, one) : open_index(hm, dir);
    free(cfg);
    free(one);
    return s;
}

// One .safetensors file, shaped by the config.json beside it or by its tensors.
static Status open_file(HfModel *hm, const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup_check(".");
    if (!dir) out_of_memory("for a path");
    char *cfg = join(dir, "config.json");
    Status s = add_shard(hm, path);
    if (!s) s = file_exists(cfg) ? hf_config_read(cfg, &hm->config) : hf_infer_config(hm, &hm->config);
    free(cfg);
    free(dir);
    return s;
}

Status hf_model_open(const char *path, HfModel *hm) {
    memset(hm, 0, sizeof *hm);
    hm->path = strdup_check(path);
    Status s = is_folder(path) ? open_folder(hm, path) : open_file(hm, path);
    if (!s) s = gpt2_config_check(&hm->config);
    if (!s) s = hf_check_names(hm);
    if (s) hf_model_close(hm);
    return s;
}

void hf_model_close(HfModel *hm) {
    for (int s = 0; s < hm->num_shards; s++) safetensors_close(&hm->shards[s]);
    free(hm->shards);
    free(hm->path);
    memset(hm, 0, sizeof *hm);
}
