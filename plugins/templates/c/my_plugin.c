/* A hie-tasks WebAssembly plugin in C. Build: hie-tasks plugins build . */
#include "hielements.h"

/* files(path): every regular file below <workspace>/<path>, sorted (needs fs = "read"). */
static void files(hie_ctx *c) {
    const char *path;
    if (!hie_arg_string(c, 0, &path)) {
        hie_error(c, "files requires a string path argument");
        return;
    }
    hie_strlist found = {0};
    hie_walk_files(hie_path_join(c->workspace, path), &found);
    hie_return_scope(c, "Folder", path, &found);
}

/* min_files(scope, n): Pass when the scope has at least n files. */
static void min_files(hie_ctx *c) {
    hie_scope scope;
    long long n;
    if (!hie_arg_scope(c, 0, &scope)) { hie_error(c, "min_files requires a scope as first argument"); return; }
    if (!hie_arg_int(c, 1, &n)) { hie_error(c, "min_files requires a number as second argument"); return; }
    if ((long long)scope.npaths >= n) hie_pass(c);
    else hie_fail(c, "Expected at least %lld files, found %zu", n, scope.npaths);
}

static const hie_function SELECTORS[] = {
    {"files", files, "Regular files below a folder", HIE_PARAMS({"path", "String", "Folder"}), "Scope",
     "scope src = my_plugin.files('src')"},
    {0},
};

static const hie_function CHECKS[] = {
    {"min_files", min_files, "At least n files",
     HIE_PARAMS({"scope", "Scope", "Files"}, {"n", "Int", "Minimum"}), "CheckResult",
     "check my_plugin.min_files(src, 1)"},
    {0},
};

HIE_PLUGIN(.name = "my_plugin", .version = "0.1.0", .description = "A hie-tasks plugin written in C",
           .selectors = SELECTORS, .checks = CHECKS)
