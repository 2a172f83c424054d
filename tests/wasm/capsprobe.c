/* Test plugin: performs the file/env operation named in its request, so tests can prove each capability.
   Request args: [{"String": op}, {"String": arg}] with no escapes in either. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

static char out[8192];

__attribute__((export_name("alloc"))) void *plugin_alloc(int n) { return malloc(n); }
__attribute__((export_name("dealloc"))) void plugin_dealloc(void *p, int n) { (void)n; free(p); }

static int nth_string(const char *req, int n, char *dst, size_t cap) {
    const char *p = req;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, "\"String\":\"");
        if (!p) return 0;
        p += 10;
    }
    size_t k = 0;
    while (*p && *p != '"' && k + 1 < cap) dst[k++] = *p++;
    dst[k] = 0;
    return 1;
}

static long long answer(const char *tag, const char *text) {
    snprintf(out, sizeof out, "{\"%s\":\"%s\"}", tag, text);
    return ((long long)(unsigned)(size_t)out << 32) | (unsigned)strlen(out);
}

__attribute__((export_name("library_call"))) long long library_call(char *req, int len) {
    char buf[4096], op[64], arg[1024];
    req[len - 1] = 0; /* the closing brace is not needed by the scanner */
    if (!nth_string(req, 0, op, sizeof op) || !nth_string(req, 1, arg, sizeof arg))
        return answer("Error", "bad request");
    if (!strcmp(op, "read")) {
        FILE *f = fopen(arg, "r");
        if (!f) return answer("Error", strerror(errno));
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        char *nl = strchr(buf, '\n');
        if (nl) *nl = 0;
        return answer("String", buf);
    }
    if (!strcmp(op, "write")) {
        FILE *f = fopen(arg, "w");
        if (!f) return answer("Error", strerror(errno));
        fputs("written by plugin\n", f);
        if (fclose(f) != 0) return answer("Error", strerror(errno));
        return answer("String", "ok");
    }
    if (!strcmp(op, "list")) {
        DIR *d = opendir(arg);
        if (!d) return answer("Error", strerror(errno));
        closedir(d);
        return answer("String", "ok");
    }
    if (!strcmp(op, "env")) {
        const char *v = getenv(arg);
        return v ? answer("String", v) : answer("Error", "unset");
    }
    if (!strcmp(op, "print")) {
        printf("out:%s\n", arg);
        fprintf(stderr, "err:%s\n", arg);
        fflush(stdout);
        return answer("String", "printed");
    }
    return answer("Error", "unknown op");
}
