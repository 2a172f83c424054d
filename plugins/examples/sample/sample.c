/* The upstream sample plugin's four functions, as a WebAssembly plugin written with the C SDK.
 * tests/plugins_py/sample_plugin.py is its external-process twin: both must give the same verdicts and
 * messages for the same inputs. Needs fs = "read" (simple_selector lists the workspace). */
#include "hielements.h"

static void simple_selector(hie_ctx *c) {
    const char *path;
    if (!hie_arg_string(c, 0, &path)) {
        hie_error(c, "simple_selector requires a string path argument");
        return;
    }
    char *dir = hie_path_join(c->workspace, path);
    hie_strlist files = {0};
    /* A missing folder is an empty scope, not an error, as with files.folder_selector. */
    if (dir) hie_walk_files(dir, &files);
    hie_return_scope(c, "Folder", path, &files);
}

static void file_count_check(hie_ctx *c) {
    hie_scope scope;
    long long want;
    if (!hie_arg_scope(c, 0, &scope)) {
        hie_error(c, "file_count_check requires a scope as first argument");
        return;
    }
    if (!hie_arg_int(c, 1, &want)) {
        hie_error(c, "file_count_check requires a number as second argument");
        return;
    }
    if ((long long)scope.npaths >= want) hie_pass(c);
    else hie_fail(c, "Expected at least %lld files, found %zu", want, scope.npaths);
}

static void always_pass(hie_ctx *c) { hie_pass(c); }

static void always_fail(hie_ctx *c) { hie_fail(c, "This check always fails"); }

static const hie_function SELECTORS[] = {
    {"simple_selector", simple_selector, "Selects every regular file below a folder, recursively",
     HIE_PARAMS({"path", "String", "Folder relative to the workspace"}), "Scope",
     "scope src = sample.simple_selector('src')"},
    {0},
};

static const hie_function CHECKS[] = {
    {"file_count_check", file_count_check, "Passes when the scope holds at least n files",
     HIE_PARAMS({"scope", "Scope", "Files to count"}, {"n", "Int", "Minimum number of files"}), "CheckResult",
     "check sample.file_count_check(src, 3)"},
    {"always_pass", always_pass, "Always passes", HIE_NO_PARAMS, "CheckResult", "check sample.always_pass()"},
    {"always_fail", always_fail, "Always fails", HIE_NO_PARAMS, "CheckResult", "check sample.always_fail()"},
    {0},
};

HIE_PLUGIN(.name = "sample", .version = "0.1.0",
           .description = "The upstream sample plugin as WebAssembly: a folder selector and three checks",
           .selectors = SELECTORS, .checks = CHECKS)
